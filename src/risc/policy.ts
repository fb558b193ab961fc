import type { IdentityLockReason } from '../events/event.js';

/**
 * The stateful rules of Google Cross-Account Protection, as pure functions (no I/O, no clock),
 * in the shape of src/store/gcra.ts: the embedded store calls them, the Lua scripts mirror them
 * (src/store/redis/scripts/: identity-security.lua, link-identity.lua, event-claim.lua,
 * event-settle.lua), and test/risc/policy.test.ts holds both to one table of cases.
 *
 * Two records:
 *
 * - An identity's security state, beside its link (`{<prefix>idn:<provider>:<sub>}:sec`, the
 *   link's Cluster slot): whether the provider has it locked, since when, and the time before
 *   which its ID tokens are no longer accepted. It lives with the identity, not the account,
 *   because Google may report a `sub` that has no account yet: the state must hold when that
 *   identity first signs in (a locked identity creates no account), and the sign-in reads it
 *   in the very command that takes the link, at no extra round trip.
 * - An event's delivery record (`risc:jti:<hash>`), which makes each event act once.
 *
 * Times here are the events' and tokens' `iat`, seconds, as Google stamps them: comparing
 * Google's times with Google's times needs no trust in our clock.
 */

/** An identity's security state (absent: never reported). */
export interface IdentitySecurity {
  /** Locked by the provider (sign-in refused), and why; null: not locked. */
  locked: IdentityLockReason | null;
  /** `iat` of the lock or unlock that set `locked` (orders late deliveries); 0 when none. */
  changedAt: number;
  /** ID tokens issued before this (`iat`, seconds) are refused; 0 when none. */
  notBefore: number;
}

/** What an event does to an identity's state. */
export type SecurityChange =
  /** sessions-revoked, tokens-revoked: tokens issued before `at` no longer sign in. */
  | { kind: 'revoke'; at: number }
  /** account-disabled: refused until an unlock; `hijacking` also revokes as above. */
  | { kind: 'lock'; reason: IdentityLockReason; at: number }
  /** account-enabled. */
  | { kind: 'unlock'; at: number };

/**
 * How long an unlocked state is kept after its last change: longer than the longest-lived ID
 * token we accept (1 day, src/identity/verifier.ts MAX_LIFETIME_S), and as long as an event's
 * delivery record, so a late retry of an older event is still ordered against the newer one.
 * A locked state is durable (until the provider enables the identity again).
 */
export const UNLOCKED_STATE_KEEP_MS = 30 * 24 * 3_600_000;

export interface SecurityChangeResult {
  state: IdentitySecurity;
  /** The account event this change is: `locked` (was not locked), `unlocked` (was), or null. */
  changed: 'locked' | 'unlocked' | null;
  /** The record's TTL from now: null keeps it for good (locked). */
  keepMs: number | null;
}

/**
 * Applies one event. Lock and unlock are ordered by their `iat`: an event older than the last
 * lock/unlock applied changes nothing (Google retries, so an old `account-disabled` may arrive
 * after the `account-enabled` that followed it). Revocations only ever move `notBefore` later,
 * so they commute. Same `iat`: the later delivery wins.
 */
export function applySecurityChange(stored: IdentitySecurity | null, change: SecurityChange): SecurityChangeResult {
  const was: IdentitySecurity = stored ?? { locked: null, changedAt: 0, notBefore: 0 };
  const state: IdentitySecurity = { ...was };
  let changed: SecurityChangeResult['changed'] = null;
  if (change.kind === 'revoke') {
    state.notBefore = Math.max(state.notBefore, change.at);
  } else if (change.at >= was.changedAt) {
    state.changedAt = change.at;
    if (change.kind === 'lock') {
      state.locked = change.reason;
      if (change.reason === 'hijacking') state.notBefore = Math.max(state.notBefore, change.at);
      if (was.locked === null) changed = 'locked';
    } else {
      state.locked = null;
      if (was.locked !== null) changed = 'unlocked';
    }
  }
  return { state, changed, keepMs: state.locked === null ? UNLOCKED_STATE_KEEP_MS : null };
}

/**
 * The account's side of a lock: the account holding the identity keeps a marker of its lock
 * (`<provider>.lk` in `ids:{uid}`), and its `identity.locked` / `identity.unlocked` event is
 * emitted when the marker changes. `lock` is the identity's lock after the event was applied
 * (`'none'`: not locked; null: the event does not touch the lock). Deciding from the state
 * rather than from whether the identity's state just changed makes a retried delivery
 * converge: if an instance died after changing the identity's state and before acting on the
 * account, the retry finds the state already changed and still brings the account in line,
 * with its event, once.
 */
export function decideAccountLock(marker: IdentityLockReason | null, lock: IdentityLockReason | 'none' | null): { marker: IdentityLockReason | null; event: 'identity.locked' | 'identity.unlocked' | null } {
  if (lock === null) return { marker, event: null };
  if (lock === 'none') return { marker: null, event: marker === null ? null : 'identity.unlocked' };
  return { marker: marker ?? lock, event: marker === null ? 'identity.locked' : null };
}

export type IdentitySignIn = 'allow' | 'locked' | 'revoked';

/**
 * May a verified ID token issued at `issuedAt` (seconds) sign in, or be linked, with this
 * identity? A locked identity: never. A token issued before a revocation: no (it was minted
 * for the session the provider just revoked; a new sign-in gets a new token).
 */
export function decideIdentitySignIn(state: IdentitySecurity | null, issuedAt: number): IdentitySignIn {
  if (!state) return 'allow';
  if (state.locked !== null) return 'locked';
  if (issuedAt < state.notBefore) return 'revoked';
  return 'allow';
}

/** An event's delivery record: absent, held by an instance acting on it (its lease token), or done. */
export type DeliveryRecordValue = null | 'done' | { lease: string };

export type ClaimDecision = 'claimed' | 'done' | 'busy';

/**
 * Claim-then-act. The claim is a lease (its TTL short), not the final mark: an instance that
 * dies between claiming and acting leaves a lease that runs out, so Google's retry of the
 * same event acts. Only once the action is complete does the record become `done` (kept
 * EVENT_DONE_KEEP_MS): later deliveries are duplicates. A lease held by another instance:
 * `busy` (the caller waits for it to finish or run out).
 */
export function decideClaim(stored: DeliveryRecordValue): ClaimDecision {
  if (stored === null) return 'claimed';
  return stored === 'done' ? 'done' : 'busy';
}

/**
 * Settling a claim: only the lease's holder settles it (a holder whose lease ran out and was
 * taken over by another instance changes nothing). `done` marks the event acted on; `release`
 * drops the lease after a failure, so a retry acts.
 */
export function decideSettle(stored: DeliveryRecordValue, lease: string): boolean {
  return stored !== null && stored !== 'done' && stored.lease === lease;
}

/** How long an event stays `done`: Google retries for a limited time, far shorter than this. */
export const EVENT_DONE_KEEP_MS = 30 * 24 * 3_600_000;
/** A claim's lease: longer than acting on an event takes (a few store calls), short enough that a crash is retried soon. */
export const EVENT_LEASE_MS = 30_000;
