import { hostname } from 'node:os';
import type { AccountEvent } from '../../events/event.js';
import { AttemptAborted, StreamWorker, type AttemptResult, type WorkerOutcome } from '../../events/stream-worker.js';
import { randomId } from '../../sessions/ids.js';
import type { DeliveryStore, TokenRevocationStore } from '../../store/types.js';
import { APPLE_CALL_TIMEOUT_MS, type AppleTokenApi } from './api.js';
import { openToken } from './token-box.js';

/** The revoker's consumer id on the event stream (its group, its retry keys): not a webhook endpoint id (12 hex digits). */
export const REVOKER_ID = 'apple-revocation';
/** The first retry after Apple failed; then doubling, at most 4 h apart (src/events/retry-policy.ts), until it succeeds. */
export const REVOKE_RETRY_INITIAL_MS = 60_000;
/** How often each instance looks for work. */
const POLL_MS = 1_000;
const MAX_IN_FLIGHT = 8;
const CLOSE_GRACE_MS = 2_000;

/** How a revocation attempt ended (the `apple_revocations_total` metric). */
export type RevocationOutcome = 'revoked' | 'token_dead' | 'undecryptable' | 'retry' | 'claimed' | 'failed';

export interface AppleRevokerOptions {
  api: AppleTokenApi;
  deliveries: DeliveryStore;
  revocations: TokenRevocationStore;
  encryptionKey: Buffer;
  now: () => number;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  count?: (outcome: RevocationOutcome, n?: number) => void;
  /** Poll period (default 1 s); 0: no timer, only `flush`. */
  pollMs?: number;
}

/**
 * Revokes Apple's refresh tokens of deleted accounts and unlinked Apple identities, durably.
 *
 * The queue is the account event stream itself: the step that deletes the account or unlinks
 * the identity appends its event (`user.deleted`, `identity.unlinked`) and, in the same atomic
 * step and slot, hands the sealed token over to `revoke:{uid}` under that event's id
 * (src/store/types.ts TokenRevocationStore). So the deletion completes at once whatever Apple
 * does, and the revocation can neither be lost (no event without its record, no record without
 * its event; on Cluster the event reaches the stream through the user's outbox and relay) nor
 * invented.
 *
 * This follows those events as the webhook deliverer does (src/events/stream-worker.ts, shared:
 * its own consumer group, so one instance takes each event; stale events of a dead instance
 * claimed; failures retried with exponential backoff under a lease by any instance, surviving
 * restarts), and acts only on the two event types. It retries until Apple answers: a 400
 * `invalid_grant` (the token is already dead: the person revoked it, or it was revoked before)
 * ends it with a log line and a count; so does a token that no longer opens (the encryption key
 * was changed).
 */
export class AppleRevoker {
  readonly worker: StreamWorker;
  private readonly shutdown = new AbortController();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: AppleRevokerOptions) {
    this.worker = new StreamWorker(
      {
        id: REVOKER_ID,
        store: o.deliveries,
        consumer: `${hostname()}:${process.pid}:${randomId().slice(0, 8)}`,
        timeoutMs: APPLE_CALL_TIMEOUT_MS,
        retry: { initialMs: REVOKE_RETRY_INITIAL_MS, retryForMs: Infinity },
        now: o.now,
        maxInFlight: MAX_IN_FLIGHT,
        relevant: (e) => e.type === 'user.deleted' || (e.type === 'identity.unlinked' && e.data.provider === 'apple'),
        attempt: (e, shutdown) => this.attempt(e, shutdown),
        count: (outcome: WorkerOutcome, n?: number) => {
          // Revoked / dead / undecryptable are counted by the attempt itself.
          if (outcome === 'retry' || outcome === 'claimed' || outcome === 'failed') o.count?.(outcome, n);
        },
        warn: (obj, msg) => o.log.warn({ provider: 'apple', ...obj }, msg),
        error: (obj, msg) => o.log.warn({ provider: 'apple', ...obj }, msg),
        describe: (event, record) => ({ eventId: event.id, eventType: event.type, userId: event.userId, attempts: record.attempts, error: record.lastError }),
        noun: 'Apple token revocation',
      },
      this.shutdown.signal,
    );
  }

  async start(): Promise<void> {
    await this.o.deliveries.ensureGroup(REVOKER_ID);
    const every = this.o.pollMs ?? POLL_MS;
    if (every > 0) {
      this.timer = setInterval(() => this.worker.poll(), every);
      this.timer.unref();
    }
    this.worker.poll();
  }

  /** One poll now and every attempt it starts, awaited (tests). */
  flush(): Promise<void> {
    return this.worker.flush();
  }

  settled(): Promise<void> {
    return this.worker.settled();
  }

  /** Revocations not yet done: events unread by the group, read and in flight, waiting for a retry, given up. */
  backlog(): ReturnType<DeliveryStore['backlog']> {
    return this.o.deliveries.backlog(REVOKER_ID);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.worker.closed = true;
    const grace = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
    await Promise.race([this.worker.settled(), grace]);
    this.shutdown.abort();
    await this.worker.settled();
  }

  private async attempt(event: AccountEvent, shutdown: AbortSignal): Promise<AttemptResult> {
    const { revocations } = this.o;
    const handed = await revocations.get(event.userId, event.id, 'apple');
    // Most deleted accounts had no Apple token: nothing to do.
    if (!handed) return { ok: true };
    const opened = openToken(this.o.encryptionKey, handed.sealed, { userId: event.userId, provider: handed.provider, subject: handed.subject });
    if (!opened) {
      await revocations.remove(event.userId, event.id, 'apple');
      this.o.count?.('undecryptable');
      return { ok: false, drop: true, error: 'the sealed token does not open (APPLE_TOKEN_ENCRYPTION_KEY changed?)' };
    }
    let result;
    try {
      result = await this.o.api.revoke(opened.clientId, opened.token, shutdown);
    } catch (err) {
      if (shutdown.aborted) throw new AttemptAborted('shutdown');
      throw err;
    }
    if (result.ok) {
      await revocations.remove(event.userId, event.id, 'apple');
      this.o.count?.('revoked');
      this.o.log.info({ provider: 'apple', eventId: event.id, userId: event.userId }, 'Apple refresh token revoked');
      return { ok: true };
    }
    if (result.dead) {
      await revocations.remove(event.userId, event.id, 'apple');
      this.o.count?.('token_dead');
      return { ok: false, drop: true, error: `${result.error}: the token was already unusable` };
    }
    return { ok: false, error: result.error };
  }
}
