import type { AccountState } from '../sessions/policy.js';
import { PROFILE_DATA_FIELDS, type EventDraft, type IdentityLockReason, type ProfileData, type RevocationReason } from './event.js';

/**
 * Which events a change emits, as pure functions (the session rules' pattern,
 * src/sessions/policy.ts): the embedded store calls them, the Lua scripts mirror them
 * (src/store/redis/scripts/lib-events.lua and the few lines in each script that call it), and
 * test/events/event-cases.ts holds both to one table of cases; the session property test
 * compares the events of random operation sequences too.
 *
 *   sign-in      signInEvents       user.created | user.updated (only what changed), session_cap revocations
 *   refresh      rotationEvents     refresh_token_reused
 *   revocation   revocationEvents   one session.revoked per session that was still stored
 *   operators    accountStateEvents user.disabled / user.enabled (only on a change), user.deleted, their revocations
 *   identities   identityEvents     identity.unlinked (a linked identity removed; a pending one says nothing)
 *
 * Within one step, the account's own event comes first, then its sessions' in id (byte)
 * order, except the cap's, which end oldest first as sessionsOverCap lists them.
 */

/** The profile fields as events carry them, out of anything that has them (a Profile, a UserRecord). */
export function profileData(p: ProfileData): ProfileData {
  return {
    email: p.email,
    emailVerified: p.emailVerified,
    name: p.name,
    givenName: p.givenName,
    familyName: p.familyName,
    picture: p.picture,
    locale: p.locale,
    hostedDomain: p.hostedDomain,
  };
}

/** The fields whose value differs, with their new values; empty when nothing changed. */
export function profileChanges(before: ProfileData, after: ProfileData): Partial<ProfileData> {
  const changes: Partial<Record<keyof ProfileData, unknown>> = {};
  for (const f of PROFILE_DATA_FIELDS) if (before[f] !== after[f]) changes[f] = after[f];
  return changes as Partial<ProfileData>;
}

/**
 * A written sign-in: a new account is `user.created` with its profile; a returning one is
 * `user.updated` with what changed, and nothing at all when nothing did (most sign-ins).
 * `before` is the stored profile (null: the account is new); `capEnded` the sessions the cap
 * ended, in the order they ended.
 */
export function signInEvents(before: ProfileData | null, after: ProfileData, capEnded: readonly string[]): EventDraft[] {
  const out: EventDraft[] = [];
  if (!before) out.push({ type: 'user.created', data: { profile: profileData(after) } });
  else {
    const changes = profileChanges(before, after);
    if (Object.keys(changes).length > 0) out.push({ type: 'user.updated', data: { changes } });
  }
  for (const sessionId of capEnded) out.push({ type: 'session.revoked', data: { sessionId, reason: 'session_cap' } });
  return out;
}

/** Sessions a revocation ended (only those still stored: ending a gone session changes nothing), by id. */
export function revocationEvents(reason: RevocationReason, ended: readonly string[]): EventDraft[] {
  return [...ended].sort(byteOrder).map((sessionId) => ({ type: 'session.revoked', data: { sessionId, reason } }));
}

/**
 * An operator's or the user's account change. `before`: the account as it was (null: no such
 * account, and nothing changes, so nothing is said). Disabling an account that already is, or
 * enabling one that is not, changes nothing and says nothing.
 */
export function accountStateEvents(state: AccountState, before: { disabled: boolean } | null, ended: readonly string[]): EventDraft[] {
  switch (state) {
    case 'disabled':
      return before ? [...(before.disabled ? [] : [{ type: 'user.disabled', data: {} } as const]), ...revocationEvents('account_disabled', ended)] : [];
    case 'enabled':
      return before?.disabled ? [{ type: 'user.enabled', data: {} }] : [];
    case 'deleted':
      return [...(before ? [{ type: 'user.deleted', data: {} } as const] : []), ...revocationEvents('account_deleted', ended)];
  }
}

/**
 * An identity removed from the account (`decideRemoveIdentity`'s `remove`): `identity.unlinked`
 * when it was linked; a pending one (an abandoned or refused linkIdentity) never was the
 * account's, so its removal says nothing.
 */
export function identityEvents(provider: string, removed: { pending: boolean }): EventDraft[] {
  return removed.pending ? [] : [{ type: 'identity.unlinked', data: { provider } }];
}

/** A refresh: only reuse ends the session (decideRotation's `reused`). */
export function rotationEvents(outcome: string, sessionId: string): EventDraft[] {
  return outcome === 'reused' ? [{ type: 'session.revoked', data: { sessionId, reason: 'refresh_token_reused' } }] : [];
}

/** Ids compare byte by byte (ASCII), as `before` in lib.lua. */
function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A security event's action on the account holding the identity (src/risc/): the identity's
 * event when the account's lock marker changed (decideAccountLock, src/risc/policy.ts), then
 * the sessions it ended (`provider_security_event`).
 */
export function accountSecurityEvents(provider: string, lockEvent: { type: 'identity.locked'; reason: IdentityLockReason } | { type: 'identity.unlocked' } | null, ended: readonly string[]): EventDraft[] {
  const own: EventDraft[] =
    lockEvent === null
      ? []
      : lockEvent.type === 'identity.locked'
        ? [{ type: 'identity.locked', data: { provider, reason: lockEvent.reason } }]
        : [{ type: 'identity.unlocked', data: { provider } }];
  return [...own, ...revocationEvents('provider_security_event', ended)];
}
