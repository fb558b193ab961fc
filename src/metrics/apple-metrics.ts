import type { Counter, Registry } from 'prom-client';
import type { ExchangeOutcome } from '../identity/apple/exchange.js';
import type { RevocationOutcome } from '../identity/apple/revoker.js';
import type { Backlog } from './webhook-metrics.js';
import { MetricDeclarations } from './declare.js';

/** How a `POST /notifications/apple` ended: acted on, about nobody we know or of a type we ignore, refused (bad token or body). */
export type NotificationOutcome = 'applied' | 'ignored' | 'rejected';

/**
 * Sign in with Apple's server side (src/identity/apple/): code exchanges, token revocations and
 * their queue, and Apple's notifications, on the gateway's registry.
 */
export class AppleMetrics {
  readonly #exchanges: Counter<'outcome'>;
  readonly #revocations: Counter<'outcome'>;
  readonly #notifications: Counter<'type' | 'outcome'>;

  constructor(registry: Registry, backlog: (() => Promise<Backlog>) | null) {
    const m = new MetricDeclarations(registry);
    this.#exchanges = m.counter('apple_code_exchanges_total', 'authorization codes exchanged at Apple, by outcome: stored (refresh token kept, sealed), failed (Apple refused or was unreachable; the sign-in went on), identity_gone (the identity went meanwhile; the token was revoked at once), store_failed', ['outcome']);
    this.#revocations = m.counter('apple_revocations_total', 'Apple refresh-token revocations, by outcome: revoked, token_dead (Apple said invalid_grant: already unusable; dropped), undecryptable (sealed under another APPLE_TOKEN_ENCRYPTION_KEY; dropped), retry (failed, will be retried), claimed (taken over from an instance that died)', ['outcome']);
    this.#notifications = m.counter('apple_notifications_total', 'POST /notifications/apple, by event type (unknown for a refused token) and outcome: applied, ignored (unknown sub or type, or older than the identity), rejected (400)', ['type', 'outcome']);
    if (backlog) {
      m.gauge('apple_revocation_backlog', 'the Apple revocation queue (the account event stream as its consumer group sees it), by state: unread (events not yet looked at), in_flight, retrying (a revocation waiting for its next attempt). Read from Redis on each scrape', ['state'], async function () {
        this.reset();
        const b = await backlog().catch(() => null);
        if (!b) return;
        this.set({ state: 'unread' }, b.unread);
        this.set({ state: 'in_flight' }, b.inFlight);
        this.set({ state: 'retrying' }, b.retrying);
      });
    }
  }

  readonly exchange = (outcome: ExchangeOutcome): void => {
    this.#exchanges.inc({ outcome });
  };

  readonly revocation = (outcome: RevocationOutcome, n = 1): void => {
    this.#revocations.inc({ outcome }, n);
  };

  readonly notification = (type: string, outcome: NotificationOutcome): void => {
    this.#notifications.inc({ type, outcome });
  };
}
