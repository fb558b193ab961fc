import { gcra, type GcraParams } from '../store/gcra.js';
import type { AuthReason } from '../errors.js';
import { identityAdmits, type StoredIdentity } from '../users/identity-policy.js';

/**
 * The session lifecycle's rules, written once, as pure functions: no I/O and no clock (time is
 * always the `now` parameter). Whatever a session may or may not do is decided here:
 *
 *   sign-in      decideSessionWrite, newSessionTimes, sessionsOverCap (the per-user cap)
 *   refresh      decideRotation (rotation, grace, reuse detection, idle and absolute lifetime)
 *   requests     checkAccess, lastSeenAt, shouldRecordActivity, touchApplies
 *   revocation   sessionsEnding, accountRevocation
 *
 * The stores persist what these decide. Decisions that must be taken atomically next to the
 * data run inside Redis as Lua (src/store/redis/scripts/*.lua), a line-by-line mirror of the
 * function it names; the embedded store calls these functions. test/sessions/policy.test.ts
 * holds both to one table of cases and test/store/session-property.test.ts to random
 * operation sequences.
 */

/** The session settings from the configuration. */
export interface SessionRules {
  /** REFRESH_TOKEN_TTL: a refresh token's life, i.e. how long a session may go unrefreshed. */
  refreshTtlMs: number;
  /** SESSION_MAX_LIFETIME: no refresh extends a session past sign-in + this. */
  maxLifetimeMs: number;
  /** REFRESH_GRACE_PERIOD: how long a spent refresh token still receives its successor. */
  refreshGraceMs: number;
  /** MAX_SESSIONS_PER_USER: the user's live sessions, the new one included; 0 = no cap. */
  maxSessionsPerUser: number;
}

/**
 * lastSeenAt is kept to this resolution: a request records activity only when the stored value
 * is at least this old, so a busy session costs one small write a minute, not one per request.
 */
export const LAST_SEEN_RESOLUTION_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// Sign-in

/** A new session's times. */
export function newSessionTimes(now: number, rules: SessionRules): { createdAt: number; expiresAt: number; refreshExpiresAt: number } {
  const expiresAt = now + rules.maxLifetimeMs;
  // The first refresh token never outlives the session itself.
  return { createdAt: now, expiresAt, refreshExpiresAt: Math.min(now + rules.refreshTtlMs, expiresAt) };
}

export type SessionWriteDecision =
  /** The link named an account that has no record (deleted since, or its first sign-in not written yet), or a retired id: write nothing. */
  | { kind: 'gone' }
  /** The link named an account that does not list this identity (being unlinked, or left behind): write nothing. */
  | { kind: 'not_linked' }
  | { kind: 'account_disabled' }
  /** The account's identity of this provider is locked by the provider (Google Cross-Account Protection). */
  | { kind: 'identity_locked' }
  | { kind: 'limited'; retryAfterMs: number }
  /** Write the profile and the session; `signInTat` is the account's new sign-in budget state (null: no limit). */
  | { kind: 'write'; isNewUser: boolean; signInTat: number | null };

/**
 * Whether a verified sign-in may write its session. In order: no account is created under a
 * retired id; an account the identity link named must still exist (`mustExist`; see
 * src/sessions/sign-in.ts for the deletion race); an existing account must list the identity
 * as its own (src/users/identity-policy.ts); a disabled account is refused and nothing of it
 * changes (sign-in never re-enables); the per-account sign-in limit is spent only by a
 * sign-in that would otherwise succeed.
 */
export interface SessionWriteInput {
  /** The account's record as stored (null: none). */
  user: { disabled: boolean; signInTat: number | null } | null;
  /** The account id was retired (deleted, or a dangling link's taken over). */
  retired: boolean;
  /** The account's identity of the signing-in provider as stored (null: none). */
  stored: StoredIdentity | null;
  /** The signing-in identity's subject. */
  subject: string;
  /** The identity link already named this account. */
  mustExist: boolean;
  now: number;
  /** RATE_LIMIT_SIGN_IN_PER_ACCOUNT as GCRA parameters, or null for none. */
  limit: GcraParams | null;
}

export function decideSessionWrite(input: SessionWriteInput): SessionWriteDecision {
  const { user, now, limit } = input;
  if (input.retired) return { kind: 'gone' };
  if (!user && input.mustExist) return { kind: 'gone' };
  if (user && !identityAdmits(input.stored, input.subject)) return { kind: 'not_linked' };
  if (user?.disabled) return { kind: 'account_disabled' };
  // The account's own marker of a lock, checked in the write itself: a sign-in that took its
  // link just before the lock arrived (src/risc/receiver.ts marks the account, then ends its
  // sessions, in one step) writes no session after them.
  if (user && input.stored?.locked) return { kind: 'identity_locked' };
  let signInTat: number | null = null;
  if (limit) {
    const { decision, store } = gcra(user?.signInTat ?? null, limit, now, true);
    if (!decision.allowed) return { kind: 'limited', retryAfterMs: decision.retryAfterMs };
    signInTat = store!.tat;
  }
  return { kind: 'write', isNewUser: !user, signInTat };
}

/**
 * The session cap: which of the user's other sessions end so that at most `max` remain, the
 * new one included. The oldest by creation end first (not the least active: a thief's fresh
 * sign-ins must not keep the owner's long-lived session alive), ties broken by id so every
 * store ends the same ones. `others` are the sessions still stored, the new one excluded.
 */
export function sessionsOverCap(others: readonly { id: string; createdAt: number }[], max: number): string[] {
  if (max <= 0 || others.length < max) return [];
  return [...others]
    .sort((a, b) => a.createdAt - b.createdAt || byteOrder(a.id, b.id))
    .slice(0, others.length - (max - 1))
    .map((s) => s.id);
}

/** Ids compare byte by byte (they are ASCII); the Lua mirror does the same (`before` in lib.lua). */
function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Refresh

/** What rotation needs to know of a stored session. */
export interface RotationState {
  refreshHash: string;
  previousHash: string | null;
  rotatedAt: number | null;
  expiresAt: number;
  refreshExpiresAt: number;
  /** The session's refresh budget (GCRA state), null when never spent. */
  refreshTat: number | null;
}

export type RotationDecision =
  | { kind: 'not_found' }
  | { kind: 'limited'; retryAfterMs: number }
  /** Neither the current nor the previous token: nothing changes. */
  | { kind: 'mismatch' }
  /** The previous token came back too late: end the session. */
  | { kind: 'reused' }
  | { kind: 'account_not_found' }
  | { kind: 'account_disabled' }
  /** The presented token is current: it becomes the previous one, `nextHash` the current one. */
  | { kind: 'rotate'; refreshExpiresAt: number; refreshTat: number | null }
  /** The previous token, within the grace period: answer with the sealed successor, rotate nothing. */
  | { kind: 'grace'; refreshTat: number | null };

/**
 * Refresh-token rotation with reuse detection (RFC 9700 §4.14.2), in order:
 *
 *   1. a session that is gone or ended by `now` (idle: refreshExpiresAt; absolute: expiresAt) → not_found
 *   2. the session's refresh budget is spent → limited, before anything is spent or revoked
 *   3. the current token → rotate: the refresh deadline slides to now + REFRESH_TOKEN_TTL,
 *      never past the absolute end
 *   4. the previous token within the grace period, its sealed successor still stored → grace
 *      (a client that lost the response gets the same successor, not a second branch);
 *      later → reused: two parties hold the token, so the session ends
 *   5. anything else → mismatch, and nothing changes: a guess must not revoke anyone's session
 *
 * A rotate or grace answer is refused with the account's state (gone, disabled) before it is
 * applied, so a disabled account's token is not spent.
 */
export interface RotationInput {
  /** What is stored: the session (null: none), its account (null: none), whether its grace box is. */
  session: RotationState | null;
  user: { disabled: boolean } | null;
  graceBoxPresent: boolean;
  /** What the caller brings: the presented token's hash, the time, the settings. */
  presentedHash: string;
  now: number;
  graceMs: number;
  refreshTtlMs: number;
  /** RATE_LIMIT_REFRESH_PER_SESSION as GCRA parameters, or null for none. */
  limit: GcraParams | null;
}

export function decideRotation(input: RotationInput): RotationDecision {
  const { session: s, now } = input;
  if (!s || s.expiresAt <= now || s.refreshExpiresAt <= now) return { kind: 'not_found' };
  let refreshTat: number | null = null;
  if (input.limit) {
    const { decision, store } = gcra(s.refreshTat, input.limit, now, true);
    if (!decision.allowed) return { kind: 'limited', retryAfterMs: decision.retryAfterMs };
    refreshTat = store!.tat;
  }
  // Plain equality is fine: these are hashes of 256-bit secrets, timing reveals nothing usable.
  if (input.presentedHash === s.refreshHash) {
    return accountRefusal(input.user) ?? { kind: 'rotate', refreshExpiresAt: Math.min(now + input.refreshTtlMs, s.expiresAt), refreshTat };
  }
  if (s.previousHash !== null && input.presentedHash === s.previousHash) {
    const inGrace = s.rotatedAt !== null && now - s.rotatedAt <= input.graceMs && input.graceBoxPresent;
    if (!inGrace) return { kind: 'reused' };
    return accountRefusal(input.user) ?? { kind: 'grace', refreshTat };
  }
  return { kind: 'mismatch' };
}

function accountRefusal(user: { disabled: boolean } | null): RotationDecision | null {
  if (!user) return { kind: 'account_not_found' };
  if (user.disabled) return { kind: 'account_disabled' };
  return null;
}

// ---------------------------------------------------------------------------------------------
// Requests

/** The times lastSeenAt derives from: sign-in, the last refresh, the last recorded request. */
export interface ActivityTimes {
  createdAt: number;
  rotatedAt: number | null;
  touchedAt: number | null;
}

/** The session's last sign-in, refresh or recorded request. */
export function lastSeenAt(s: ActivityTimes): number {
  return Math.max(s.createdAt, s.rotatedAt ?? s.createdAt, s.touchedAt ?? s.createdAt);
}

/** Whether a request should record its activity (a write): only once lastSeenAt is a minute old. */
export function shouldRecordActivity(s: ActivityTimes, now: number): boolean {
  return now - lastSeenAt(s) >= LAST_SEEN_RESOLUTION_MS;
}

/** Whether recording activity at `now` changes the session: lastSeenAt only moves forward. */
export function touchApplies(s: ActivityTimes, now: number): boolean {
  return now > lastSeenAt(s);
}

/** Until a refresh, a session ends at the earlier of its refresh deadline and its absolute end. */
export function sessionEnd(s: { expiresAt: number; refreshExpiresAt: number }): number {
  return Math.min(s.expiresAt, s.refreshExpiresAt);
}

export function isLive(s: { expiresAt: number; refreshExpiresAt: number }, now: number): boolean {
  return sessionEnd(s) > now;
}

/**
 * An authenticated request: the access token verified, may the session behind it act?
 * Disabled comes first: it is the reason the client must show, whatever became of the
 * session. The idle check covers clock skew between us and Redis, which normally dropped the
 * session already (TTL).
 */
export function checkAccess(
  session: { expiresAt: number; refreshExpiresAt: number } | null,
  user: { disabled: boolean } | null,
  now: number,
): AuthReason | null {
  if (user?.disabled) return 'account_disabled';
  if (!session) return 'session_revoked';
  if (session.expiresAt <= now) return 'session_expired';
  if (session.refreshExpiresAt <= now) return 'session_revoked';
  if (!user) return 'account_not_found';
  return null;
}

/** mySessions' order: newest first (ties by id, so the order is stable). */
export function newestFirst(a: { id: string; createdAt: number }, b: { id: string; createdAt: number }): number {
  return b.createdAt - a.createdAt || byteOrder(a.id, b.id);
}

// ---------------------------------------------------------------------------------------------
// Revocation

export type Revocation =
  /** revokeSession / signOut: that session (of this user) only. */
  | { kind: 'session'; sessionId: string }
  /** signOutOtherSessions: every session but the caller's. */
  | { kind: 'others'; keep: string }
  /** signOutEverywhere, and with it disabling and deleting an account. */
  | { kind: 'all' };

/** The sessions a revocation ends, out of the user's indexed ones. */
export function sessionsEnding(r: Revocation, indexed: readonly string[]): string[] {
  switch (r.kind) {
    case 'session':
      return [r.sessionId];
    case 'others':
      return indexed.filter((sid) => sid !== r.keep);
    case 'all':
      return [...indexed];
  }
}

/** What an account change does to the account's sessions: disabling and deleting end them all, enabling ends none. */
export type AccountState = 'disabled' | 'enabled' | 'deleted';
export function accountRevocation(state: AccountState): Revocation | null {
  return state === 'enabled' ? null : { kind: 'all' };
}
