import { gcraRule } from '../../src/store/gcra.js';
import type { RotationState, decideRotation, decideSessionWrite } from '../../src/sessions/policy.js';

/**
 * The decision tables of src/sessions/policy.ts as data: test/sessions/policy.test.ts runs
 * them through the TypeScript functions, test/store/policy-mirror.test.ts through the Lua
 * scripts on a real Redis. One table, two implementations, the same answers.
 */
export const T = 1_900_000_000_000;
export const LIMIT = gcraRule(2, 60_000); // a burst of 2, then one every 30 s

const stored = (over: Partial<RotationState> = {}): RotationState => ({
  refreshHash: 'current',
  previousHash: 'previous',
  rotatedAt: T - 5_000,
  expiresAt: T + 3_600_000,
  refreshExpiresAt: T + 1_800_000,
  refreshTat: null,
  ...over,
});

/** decideRotation's input (but the refresh TTL, ROTATION_REFRESH_TTL_MS for every case) and its answer. */
export type RotationCase = Omit<Parameters<typeof decideRotation>[0], 'refreshTtlMs'> & { name: string; expected: ReturnType<typeof decideRotation> };

const base = { user: { disabled: false }, graceBoxPresent: true, now: T, graceMs: 10_000, limit: null } as const;
const REFRESH_TTL = 600_000;
export const ROTATION_REFRESH_TTL_MS = REFRESH_TTL;

export const ROTATION_CASES: RotationCase[] = [
  { ...base, name: 'no such session', session: null, presentedHash: 'current', expected: { kind: 'not_found' } },
  { ...base, name: 'absolute end reached', session: stored({ expiresAt: T }), presentedHash: 'current', expected: { kind: 'not_found' } },
  { ...base, name: 'refresh deadline reached (idle)', session: stored({ refreshExpiresAt: T }), presentedHash: 'current', expected: { kind: 'not_found' } },
  {
    ...base,
    name: 'the current token rotates: the deadline slides by the refresh TTL',
    session: stored(),
    presentedHash: 'current',
    expected: { kind: 'rotate', refreshExpiresAt: T + REFRESH_TTL, refreshTat: null },
  },
  {
    ...base,
    name: 'a rotation never slides past the absolute end',
    session: stored({ expiresAt: T + 60_000, refreshExpiresAt: T + 60_000 }),
    presentedHash: 'current',
    expected: { kind: 'rotate', refreshExpiresAt: T + 60_000, refreshTat: null },
  },
  {
    ...base,
    name: 'the first rotation of a session (no previous token yet)',
    session: stored({ previousHash: null, rotatedAt: null }),
    presentedHash: 'current',
    expected: { kind: 'rotate', refreshExpiresAt: T + REFRESH_TTL, refreshTat: null },
  },
  { ...base, name: 'the previous token within the grace period', session: stored(), presentedHash: 'previous', expected: { kind: 'grace', refreshTat: null } },
  {
    ...base,
    name: 'the previous token at the last millisecond of the grace period',
    session: stored({ rotatedAt: T - 10_000 }),
    presentedHash: 'previous',
    expected: { kind: 'grace', refreshTat: null },
  },
  { ...base, name: 'the previous token after the grace period: reuse', session: stored({ rotatedAt: T - 10_001 }), presentedHash: 'previous', expected: { kind: 'reused' } },
  { ...base, name: 'the previous token, its grace box gone: reuse', session: stored(), graceBoxPresent: false, presentedHash: 'previous', expected: { kind: 'reused' } },
  { ...base, name: 'the previous token with a zero grace period: reuse', session: stored({ rotatedAt: T - 1 }), graceMs: 0, graceBoxPresent: false, presentedHash: 'previous', expected: { kind: 'reused' } },
  { ...base, name: 'an unknown token changes nothing', session: stored(), presentedHash: 'guess', expected: { kind: 'mismatch' } },
  { ...base, name: 'an unknown token, session never rotated', session: stored({ previousHash: null, rotatedAt: null }), presentedHash: 'previous', expected: { kind: 'mismatch' } },
  { ...base, name: 'rotation for a deleted account', session: stored(), user: null, presentedHash: 'current', expected: { kind: 'account_not_found' } },
  { ...base, name: 'rotation for a disabled account', session: stored(), user: { disabled: true }, presentedHash: 'current', expected: { kind: 'account_disabled' } },
  { ...base, name: 'grace for a disabled account', session: stored(), user: { disabled: true }, presentedHash: 'previous', expected: { kind: 'account_disabled' } },
  { ...base, name: 'reuse is detected whatever the account', session: stored({ rotatedAt: T - 60_000 }), user: { disabled: true }, presentedHash: 'previous', expected: { kind: 'reused' } },
  { ...base, name: 'a guess for a disabled account is still a mismatch', session: stored(), user: { disabled: true }, presentedHash: 'guess', expected: { kind: 'mismatch' } },
  {
    ...base,
    name: 'the refresh budget: first use',
    session: stored(),
    limit: LIMIT,
    presentedHash: 'current',
    expected: { kind: 'rotate', refreshExpiresAt: T + REFRESH_TTL, refreshTat: T + 30_000 },
  },
  {
    ...base,
    name: 'the refresh budget: the last of the burst',
    session: stored({ refreshTat: T + 30_000 }),
    limit: LIMIT,
    presentedHash: 'previous',
    expected: { kind: 'grace', refreshTat: T + 60_000 },
  },
  {
    ...base,
    name: 'the refresh budget spent: limited, whatever the token',
    session: stored({ refreshTat: T + 60_000 }),
    limit: LIMIT,
    presentedHash: 'guess',
    expected: { kind: 'limited', retryAfterMs: 30_000 },
  },
  {
    ...base,
    name: 'the refresh budget spent: limited before reuse detection',
    session: stored({ refreshTat: T + 45_000, rotatedAt: T - 60_000 }),
    limit: LIMIT,
    presentedHash: 'previous',
    expected: { kind: 'limited', retryAfterMs: 15_000 },
  },
  {
    ...base,
    name: 'a stale budget state counts from now',
    session: stored({ refreshTat: T - 600_000 }),
    limit: LIMIT,
    presentedHash: 'current',
    expected: { kind: 'rotate', refreshExpiresAt: T + REFRESH_TTL, refreshTat: T + 30_000 },
  },
  {
    ...base,
    name: 'an ended session is not_found before its budget is looked at',
    session: stored({ refreshExpiresAt: T - 1, refreshTat: T + 60_000 }),
    limit: LIMIT,
    presentedHash: 'current',
    expected: { kind: 'not_found' },
  },
];

export type WriteCase = Parameters<typeof decideSessionWrite>[0] & { name: string; expected: ReturnType<typeof decideSessionWrite> };

/** The signing-in identity's subject in every write case. */
export const WRITE_SUBJECT = 'the-sub';
type WriteCaseInput = Omit<WriteCase, 'retired' | 'stored' | 'subject'> & Partial<Pick<WriteCase, 'retired' | 'stored'>>;
/** An existing account lists the signing-in identity as its own unless the case says otherwise; no id is retired. */
const w = (c: WriteCaseInput): WriteCase => ({ retired: false, stored: c.user ? { subject: WRITE_SUBJECT, pending: false } : null, subject: WRITE_SUBJECT, ...c });

export const WRITE_CASES: WriteCase[] = [
  w({ name: 'a new account', user: null, mustExist: false, now: T, limit: null, expected: { kind: 'write', isNewUser: true, signInTat: null } }),
  w({ name: 'the link named an account that is gone', user: null, mustExist: true, now: T, limit: LIMIT, expected: { kind: 'gone' } }),
  w({ name: 'a returning account', user: { disabled: false, signInTat: null }, mustExist: true, now: T, limit: null, expected: { kind: 'write', isNewUser: false, signInTat: null } }),
  w({ name: 'a returning account the link did not name (created meanwhile)', user: { disabled: false, signInTat: null }, mustExist: false, now: T, limit: null, expected: { kind: 'write', isNewUser: false, signInTat: null } }),
  w({ name: 'a disabled account', user: { disabled: true, signInTat: null }, mustExist: true, now: T, limit: LIMIT, expected: { kind: 'account_disabled' } }),
  w({ name: 'a disabled account, even when not named by the link', user: { disabled: true, signInTat: T + 60_000 }, mustExist: false, now: T, limit: LIMIT, expected: { kind: 'account_disabled' } }),
  w({ name: 'the sign-in budget: first use', user: null, mustExist: false, now: T, limit: LIMIT, expected: { kind: 'write', isNewUser: true, signInTat: T + 30_000 } }),
  w({ name: 'the sign-in budget: last of the burst', user: { disabled: false, signInTat: T + 30_000 }, mustExist: true, now: T, limit: LIMIT, expected: { kind: 'write', isNewUser: false, signInTat: T + 60_000 } }),
  w({ name: 'the sign-in budget spent', user: { disabled: false, signInTat: T + 60_000 }, mustExist: true, now: T + 10_000, limit: LIMIT, expected: { kind: 'limited', retryAfterMs: 20_000 } }),
  w({ name: 'the sign-in budget refilled', user: { disabled: false, signInTat: T + 60_000 }, mustExist: true, now: T + 30_000, limit: LIMIT, expected: { kind: 'write', isNewUser: false, signInTat: T + 90_000 } }),
  // Identities (src/users/identity-policy.ts).
  w({ name: 'a retired id is never created (a deleted account, a dangling link taken over)', user: null, retired: true, mustExist: false, now: T, limit: null, expected: { kind: 'gone' } }),
  w({ name: 'an account that lists no identity of this provider: the link is stale', user: { disabled: false, signInTat: null }, stored: null, mustExist: true, now: T, limit: LIMIT, expected: { kind: 'not_linked' } }),
  w({
    name: 'an account whose identity of this provider is another one',
    user: { disabled: false, signInTat: null },
    stored: { subject: 'another-sub', pending: false },
    mustExist: false,
    now: T,
    limit: null,
    expected: { kind: 'not_linked' },
  }),
  w({
    name: 'a stale link is reported before a disabled account',
    user: { disabled: true, signInTat: null },
    stored: { subject: 'another-sub', pending: true },
    mustExist: true,
    now: T,
    limit: null,
    expected: { kind: 'not_linked' },
  }),
  w({
    name: 'the provider locked the account’s identity (Cross-Account Protection)',
    user: { disabled: false, signInTat: null },
    stored: { subject: WRITE_SUBJECT, pending: false, locked: true },
    mustExist: true,
    now: T,
    limit: LIMIT,
    expected: { kind: 'identity_locked' },
  }),
  w({
    name: 'a disabled account is reported before a locked identity',
    user: { disabled: true, signInTat: null },
    stored: { subject: WRITE_SUBJECT, pending: false, locked: true },
    mustExist: true,
    now: T,
    limit: null,
    expected: { kind: 'account_disabled' },
  }),
  w({
    name: 'the identity pending on the account (linkIdentity took its link): signs in',
    user: { disabled: false, signInTat: null },
    stored: { subject: WRITE_SUBJECT, pending: true },
    mustExist: true,
    now: T,
    limit: null,
    expected: { kind: 'write', isNewUser: false, signInTat: null },
  }),
];

/** Sessions over the cap: the others still stored (id, createdAt), the cap, the ids that end. */
export const CAP_CASES: { name: string; others: [string, number][]; max: number; ends: string[] }[] = [
  { name: 'no cap', others: [['a', 1], ['b', 2], ['c', 3]], max: 0, ends: [] },
  { name: 'under the cap', others: [['a', 1], ['b', 2]], max: 3, ends: [] },
  { name: 'at the cap: the oldest makes room for the new one', others: [['b', 2], ['a', 1], ['c', 3]], max: 3, ends: ['a'] },
  { name: 'well over the cap (the cap was lowered)', others: [['d', 4], ['a', 1], ['c', 3], ['b', 2]], max: 2, ends: ['a', 'b', 'c'] },
  { name: 'a cap of one keeps only the new session', others: [['a', 1], ['b', 2]], max: 1, ends: ['a', 'b'] },
  { name: 'ties by creation: byte order of ids (B < a < b)', others: [['b', 5], ['B', 5], ['a', 5]], max: 2, ends: ['B', 'a'] },
];
