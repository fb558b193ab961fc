import { createHash } from 'node:crypto';
import { ServiceUnavailableError, UnavailableReason } from '../errors.js';
import { randomId } from '../sessions/ids.js';
import type { IdentityStore, SecurityEventStore } from '../store/types.js';
import { planEvents, type EventPlan } from './events.js';
import { EVENT_DONE_KEEP_MS, EVENT_LEASE_MS } from './policy.js';
import { SetRejection, type SetErrorCode, type SetVerifier } from './set-verifier.js';

/**
 * Google Cross-Account Protection's receiver, without HTTP (src/http/google-risc.ts is the
 * route): verify the Security Event Token, act on each of its events once, say how it went.
 *
 * Once per `jti`: claim-then-act (src/risc/policy.ts decideClaim). The claim is a lease of
 * EVENT_LEASE_MS on the event's record; the actions run; only then is the record marked done
 * (kept 30 days). So:
 * - a duplicate delivery after the action finds `done`: 202, nothing acts;
 * - a concurrent delivery (another instance holds the lease) waits for it to be done, then
 *   answers 202 without acting; if the holder gives up (its store call failed) the waiter
 *   claims and acts; if it is still busy after BUSY_WAIT_MS, 503 (Google retries later);
 * - an instance that dies between claim and done leaves a lease that runs out: Google's retry
 *   acts. A store failure while acting releases the lease and answers 503: Google retries.
 * Every action is safe to repeat (a state change is ordered by the event's `iat`, the
 * account's lock marker converges, ending sessions that are gone ends nothing), so an event
 * acted on partly before a crash is completed, not doubled, by the retry.
 */

/** How long a delivery waits for another instance acting on the same event. */
export const BUSY_WAIT_MS = 5_000;
const BUSY_POLL_MS = 50;

export type ReceiveResult = { status: 202; outcome: 'accepted' | 'duplicate' } | { status: 400; err: SetErrorCode; description: string };

export type EventOutcome = 'applied' | 'no_account' | 'duplicate' | 'ignored' | 'logged';

export interface RiscReceiverDeps {
  verifier: SetVerifier;
  stores: { identities: Pick<IdentityStore, 'get'>; securityEvents: SecurityEventStore };
  /** Counts each event by type and outcome, and each rejection (`authgw_risc_events_total`). */
  count: (type: string, outcome: string) => void;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  now: () => number;
  /** Waits `ms` (tests may shorten). */
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class RiscReceiver {
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(private readonly d: RiscReceiverDeps) {
    this.#sleep = d.sleep ?? realSleep;
  }

  /**
   * @throws ServiceUnavailableError when the store, or the discovery document and keys (with
   * nothing usable cached), cannot be reached: answered 503 so that Google retries.
   */
  async receive(token: string): Promise<ReceiveResult> {
    let set;
    try {
      set = await this.d.verifier.verify(token);
    } catch (err) {
      if (err instanceof SetRejection) return this.#reject(err.err, err.description);
      throw err;
    }
    const planned = planEvents(set.events, set.iat);
    if ('malformed' in planned) return this.#reject('invalid_request', planned.malformed);

    // The record's name: a hash of issuer and jti (bounded, whatever Google's jti looks like).
    const eventKey = createHash('sha256').update(`${set.iss.replace(/\/+$/, '')}\n${set.jti}`).digest('base64url');
    const lease = randomId();
    const deadline = this.d.now() + BUSY_WAIT_MS;
    for (;;) {
      const claim = await this.#store(this.d.stores.securityEvents.claim(eventKey, lease, EVENT_LEASE_MS));
      if (claim === 'done') {
        for (const p of planned.plans) this.d.count(p.type, 'duplicate');
        this.d.log.info({ risc: { jti: set.jti, duplicate: true } }, 'Google security event already acted on');
        return { status: 202, outcome: 'duplicate' };
      }
      if (claim === 'claimed') break;
      if (this.d.now() >= deadline) {
        this.d.log.warn({ risc: { jti: set.jti } }, 'Google security event still being acted on by another instance; asking Google to retry');
        throw new ServiceUnavailableError(UnavailableReason.STORE_UNAVAILABLE);
      }
      await this.#sleep(BUSY_POLL_MS);
    }

    const outcomes: EventOutcome[] = [];
    try {
      for (const plan of planned.plans) outcomes.push(await this.#act(plan, set.iat));
    } catch (err) {
      // Nothing is marked done: Google's retry acts again (every action is safe to repeat).
      await this.d.stores.securityEvents.settle(eventKey, lease, 'release', 0).catch(() => undefined);
      throw err instanceof ServiceUnavailableError ? err : new ServiceUnavailableError(UnavailableReason.STORE_UNAVAILABLE);
    }
    // A failure to mark it done leaves the lease to run out: a retry then acts again, harmlessly.
    await this.d.stores.securityEvents.settle(eventKey, lease, 'done', EVENT_DONE_KEEP_MS).catch((err: unknown) => this.d.log.warn({ err }, 'could not mark a Google security event done'));
    planned.plans.forEach((p, i) => this.d.count(p.type, outcomes[i]!));
    this.d.log.info(
      { risc: { jti: set.jti, iat: set.iat, events: planned.plans.map((p, i) => ({ type: p.type, outcome: outcomes[i], ...describe(p) })) } },
      'Google security event received',
    );
    return { status: 202, outcome: 'accepted' };
  }

  async #act(plan: EventPlan, at: number): Promise<EventOutcome> {
    if (plan.kind === 'verification') return 'logged';
    if (plan.kind === 'ignored') return 'ignored';
    const { securityEvents, identities } = this.d.stores;
    // 1. The identity's own state first (its link's slot): it holds for an identity with no
    // account yet, and before any account is looked up, so a sign-in racing this event either
    // took its link before (and its account is found below) or is refused.
    const applied = plan.change ? await this.#store(securityEvents.apply('google', plan.sub, plan.change)) : null;
    // 2. The account holding the identity, if any.
    const userId = await this.#store(identities.get('google', plan.sub));
    if (userId === null) return 'no_account';
    const { found } = await this.#store(
      securityEvents.recordOnAccount(userId, {
        provider: 'google',
        subject: plan.sub,
        endSessions: plan.endSessions,
        lock: plan.change?.kind === 'lock' || plan.change?.kind === 'unlock' ? (applied?.state.locked ?? 'none') : null,
        entry: { type: plan.type, reason: plan.reason, action: plan.action, issuedAt: at, receivedAt: this.d.now() },
        now: this.d.now(),
      }),
    );
    return found ? 'applied' : 'no_account';
  }

  async #store<T>(op: Promise<T>): Promise<T> {
    try {
      return await op;
    } catch (err) {
      this.d.log.warn({ err }, 'store call failed while receiving a Google security event');
      throw new ServiceUnavailableError(UnavailableReason.STORE_UNAVAILABLE);
    }
  }

  #reject(err: SetErrorCode, description: string): ReceiveResult {
    this.d.count('none', err);
    return { status: 400, err, description };
  }
}

/** Log fields of a plan: never the token; the `sub` is Google's opaque id (as the link keys hold it). */
function describe(p: EventPlan): Record<string, unknown> {
  if (p.kind === 'verification') return { state: p.state };
  if (p.kind === 'ignored') return { why: p.why };
  return { sub: p.sub, reason: p.reason, action: p.action };
}
