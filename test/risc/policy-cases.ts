import type { IdentityLockReason } from '../../src/events/event.js';
import type { ClaimDecision, DeliveryRecordValue, IdentitySecurity, IdentitySignIn, SecurityChange } from '../../src/risc/policy.js';

/**
 * One table per rule of src/risc/policy.ts. test/risc/policy.test.ts holds the pure functions
 * and the Lua scripts (seeded as raw Redis records) to the same rows.
 */
const T = 1_700_000_000;
const locked = (reason: IdentityLockReason, changedAt: number, notBefore = 0): IdentitySecurity => ({ locked: reason, changedAt, notBefore });
const open = (changedAt: number, notBefore: number): IdentitySecurity => ({ locked: null, changedAt, notBefore });

export interface ChangeCase {
  name: string;
  stored: IdentitySecurity | null;
  change: SecurityChange;
  state: IdentitySecurity;
  changed: 'locked' | 'unlocked' | null;
  /** Kept for good (locked) or with the unlocked TTL. */
  durable: boolean;
}

export const CHANGE_CASES: ChangeCase[] = [
  { name: 'revoke on nothing: tokens before it refused', stored: null, change: { kind: 'revoke', at: T }, state: open(0, T), changed: null, durable: false },
  { name: 'an older revoke moves nothing back', stored: open(0, T), change: { kind: 'revoke', at: T - 10 }, state: open(0, T), changed: null, durable: false },
  { name: 'revoke on a locked identity keeps it locked', stored: locked('disabled', T - 5), change: { kind: 'revoke', at: T }, state: locked('disabled', T - 5, T), changed: null, durable: true },
  { name: 'lock (no reason) on nothing', stored: null, change: { kind: 'lock', reason: 'disabled', at: T }, state: locked('disabled', T, 0), changed: 'locked', durable: true },
  { name: 'lock (hijacking) also revokes', stored: null, change: { kind: 'lock', reason: 'hijacking', at: T }, state: locked('hijacking', T, T), changed: 'locked', durable: true },
  { name: 'lock again: no new change', stored: locked('disabled', T - 5), change: { kind: 'lock', reason: 'disabled', at: T }, state: locked('disabled', T), changed: null, durable: true },
  { name: 'hijacking after a plain lock: reason and revocation updated, no new change', stored: locked('disabled', T - 5), change: { kind: 'lock', reason: 'hijacking', at: T }, state: locked('hijacking', T, T), changed: null, durable: true },
  { name: 'unlock a locked identity', stored: locked('hijacking', T - 5, T - 5), change: { kind: 'unlock', at: T }, state: open(T, T - 5), changed: 'unlocked', durable: false },
  { name: 'unlock when not locked: no change', stored: open(T - 50, 0), change: { kind: 'unlock', at: T }, state: open(T, 0), changed: null, durable: false },
  { name: 'an old lock arriving after a newer unlock is ignored', stored: open(T, 0), change: { kind: 'lock', reason: 'disabled', at: T - 1 }, state: open(T, 0), changed: null, durable: false },
  { name: 'an old unlock arriving after a newer lock is ignored', stored: locked('disabled', T), change: { kind: 'unlock', at: T - 1 }, state: locked('disabled', T), changed: null, durable: true },
  { name: 'same iat: the later delivery wins', stored: locked('disabled', T), change: { kind: 'unlock', at: T }, state: open(T, 0), changed: 'unlocked', durable: false },
];

export interface SignInCase {
  name: string;
  state: IdentitySecurity | null;
  issuedAt: number;
  expected: IdentitySignIn;
}

export const SIGN_IN_CASES: SignInCase[] = [
  { name: 'no state', state: null, issuedAt: T, expected: 'allow' },
  { name: 'locked', state: locked('disabled', T - 100), issuedAt: T, expected: 'locked' },
  { name: 'locked, token newer than everything', state: locked('hijacking', T - 100, T - 100), issuedAt: T + 1000, expected: 'locked' },
  { name: 'token issued before the revocation', state: open(0, T), issuedAt: T - 1, expected: 'revoked' },
  { name: 'token issued the second of the revocation', state: open(0, T), issuedAt: T, expected: 'allow' },
  { name: 'unlocked, token after', state: open(T, T - 10), issuedAt: T, expected: 'allow' },
];

export interface ClaimCase {
  name: string;
  stored: DeliveryRecordValue;
  expected: ClaimDecision;
  /** settle with lease `mine`: allowed? */
  settles: boolean;
}

export const CLAIM_CASES: ClaimCase[] = [
  { name: 'first delivery', stored: null, expected: 'claimed', settles: false },
  { name: 'acted on already', stored: 'done', expected: 'done', settles: false },
  { name: 'another instance acting', stored: { lease: 'theirs' }, expected: 'busy', settles: false },
  { name: 'our own lease', stored: { lease: 'mine' }, expected: 'busy', settles: true },
];

export interface AccountLockCase {
  name: string;
  marker: IdentityLockReason | null;
  lock: IdentityLockReason | 'none' | null;
  expected: { marker: IdentityLockReason | null; event: 'identity.locked' | 'identity.unlocked' | null };
}

export const ACCOUNT_LOCK_CASES: AccountLockCase[] = [
  { name: 'event does not touch the lock', marker: null, lock: null, expected: { marker: null, event: null } },
  { name: 'untouched, marker kept', marker: 'disabled', lock: null, expected: { marker: 'disabled', event: null } },
  { name: 'locks', marker: null, lock: 'hijacking', expected: { marker: 'hijacking', event: 'identity.locked' } },
  { name: 'already marked (a retried delivery): no second event', marker: 'hijacking', lock: 'hijacking', expected: { marker: 'hijacking', event: null } },
  { name: 'unlocks', marker: 'disabled', lock: 'none', expected: { marker: null, event: 'identity.unlocked' } },
  { name: 'not marked, unlocked: nothing', marker: null, lock: 'none', expected: { marker: null, event: null } },
];
