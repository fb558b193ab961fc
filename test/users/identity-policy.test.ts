import { describe, expect, it } from '@jest/globals';
import { decideAddIdentity, decideConfirm, decideRemoveIdentity, identityAdmits, type StoredIdentity } from '../../src/users/identity-policy.js';
import { usePrivateRedis } from '../support/env.js';
import { useRedisStores } from '../support/redis-stores.js';
import { appleIdentity } from '../store/contract-fixtures.js';

/**
 * src/users/identity-policy.ts from tables, through the pure functions and through their Lua
 * mirrors (add-identity, confirm-identity, remove-identity) on a real Redis, each case seeded
 * as raw fields, so both answer every case alike (the embedded store calls the functions).
 */
const redis = usePrivateRedis();
const T = 1_900_000_000_000;
const linked = (subject: string): StoredIdentity => ({ subject, pending: false });
const pending = (subject: string): StoredIdentity => ({ subject, pending: true });

type Account = { disabled: boolean; retired?: boolean; identities: Record<string, StoredIdentity> } | null;

const ADD_CASES: { name: string; account: Account; subject: string; expected: ReturnType<typeof decideAddIdentity> }[] = [
  { name: 'no account', account: null, subject: 'a', expected: 'gone' },
  { name: 'a retired id', account: { disabled: false, retired: true, identities: { google: linked('g') } }, subject: 'a', expected: 'gone' },
  { name: 'a disabled account', account: { disabled: true, identities: { google: linked('g') } }, subject: 'a', expected: 'account_disabled' },
  { name: 'no identity of the provider yet', account: { disabled: false, identities: { google: linked('g') } }, subject: 'a', expected: 'add' },
  { name: 'the same identity, linked (claims refreshed)', account: { disabled: false, identities: { google: linked('g'), apple: linked('a') } }, subject: 'a', expected: 'add' },
  { name: 'the same identity, pending', account: { disabled: false, identities: { google: linked('g'), apple: pending('a') } }, subject: 'a', expected: 'add' },
  { name: 'another identity, pending (an abandoned attempt)', account: { disabled: false, identities: { google: linked('g'), apple: pending('b') } }, subject: 'a', expected: 'add' },
  { name: 'another identity of the provider, linked', account: { disabled: false, identities: { google: linked('g'), apple: linked('b') } }, subject: 'a', expected: 'provider_taken' },
];

const REMOVE_CASES: { name: string; identities: Record<string, StoredIdentity>; subject: string | null; keepLast: boolean; expected: ReturnType<typeof decideRemoveIdentity> }[] = [
  { name: 'none of the provider', identities: { google: linked('g') }, subject: null, keepLast: true, expected: 'not_linked' },
  { name: 'another subject than expected', identities: { google: linked('g'), apple: linked('a') }, subject: 'b', keepLast: true, expected: 'not_linked' },
  { name: 'the last linked identity', identities: { apple: linked('a') }, subject: 'a', keepLast: true, expected: 'last_identity' },
  { name: 'the last linked identity, a pending one beside it (pending does not count)', identities: { apple: linked('a'), google: pending('g') }, subject: null, keepLast: true, expected: 'last_identity' },
  { name: 'with another linked identity', identities: { apple: linked('a'), google: linked('g') }, subject: 'a', keepLast: true, expected: 'remove' },
  { name: 'a pending identity, always', identities: { apple: pending('a') }, subject: 'a', keepLast: true, expected: 'remove' },
  { name: 'the last one, when not keeping it', identities: { apple: linked('a') }, subject: null, keepLast: false, expected: 'remove' },
];

const CONFIRM_CASES: { name: string; stored: StoredIdentity | null; subject: string; expected: boolean }[] = [
  { name: 'none', stored: null, subject: 'a', expected: false },
  { name: 'pending, this identity', stored: pending('a'), subject: 'a', expected: true },
  { name: 'already linked, this identity', stored: linked('a'), subject: 'a', expected: true },
  { name: 'another identity', stored: pending('b'), subject: 'a', expected: false },
];

describe('identity policy', () => {
  it.each(ADD_CASES)('add: $name', (c) => {
    const user = c.account && { disabled: c.account.disabled };
    expect(decideAddIdentity({ user, retired: c.account?.retired ?? false, stored: c.account?.identities.apple ?? null, subject: c.subject })).toBe(c.expected);
  });

  it.each(REMOVE_CASES)('remove: $name', (c) => {
    expect(decideRemoveIdentity(new Map(Object.entries(c.identities)), 'apple', c.subject, c.keepLast)).toBe(c.expected);
  });

  it.each(CONFIRM_CASES)('confirm: $name', (c) => {
    expect(decideConfirm(c.stored, c.subject)).toBe(c.expected);
  });

  it('a sign-in is admitted to an existing account only with the identity it lists (pending or linked)', () => {
    expect([identityAdmits(null, 'a'), identityAdmits(linked('a'), 'a'), identityAdmits(pending('a'), 'a'), identityAdmits(linked('b'), 'a')]).toEqual([false, true, true, false]);
  });
});

describe('Lua scripts mirror the identity policy', () => {
  const r = useRedisStores(redis);
  let n = 0;
  const k = r.keys;

  async function seed(account: Account): Promise<string> {
    const uid = `user${++n}`;
    if (!account) return uid;
    await r.raw.hset(k().user(uid), 'c', String(T), 'ls', String(T));
    if (account.disabled) await r.raw.hset(k().user(uid), 'd', '1');
    if (account.retired) await r.raw.set(k().retired(uid), '1', 'PX', 60_000);
    for (const [provider, i] of Object.entries(account.identities)) {
      await r.raw.hset(k().accountIdentities(uid), provider, i.subject, `${provider}.at`, String(T));
      if (i.pending) await r.raw.hset(k().accountIdentities(uid), `${provider}.p`, '1');
    }
    return uid;
  }

  it.each(ADD_CASES)('add-identity.lua: $name', async (c) => {
    const uid = await seed(c.account);
    const before = await r.raw.hgetall(k().accountIdentities(uid));
    const got = await r.stores.accounts.addIdentity(uid, appleIdentity(c.subject), T + 1);
    expect(got).toEqual({ kind: c.expected === 'add' ? 'added' : c.expected });
    const after = await r.raw.hgetall(k().accountIdentities(uid));
    if (c.expected !== 'add') return expect(after).toEqual(before);
    const stored = c.account!.identities.apple;
    const same = stored?.subject === c.subject;
    expect(after).toMatchObject({ apple: c.subject, 'apple.at': String(same ? T : T + 1), 'apple.pe': '1', 'apple.rs': '2' });
    expect(after['apple.p']).toBe(same && !stored!.pending ? undefined : '1');
  });

  it.each(REMOVE_CASES)('remove-identity.lua: $name', async (c) => {
    const uid = await seed({ disabled: false, identities: c.identities });
    const got = await r.stores.accounts.removeIdentity(uid, 'apple', { subject: c.subject, keepLast: c.keepLast, now: 1 });
    const apple = await r.raw.hget(k().accountIdentities(uid), 'apple');
    if (c.expected === 'remove') {
      expect(got).toEqual({ kind: 'removed', subject: c.identities.apple!.subject });
      expect(apple).toBeNull();
      expect((await r.raw.hkeys(k().accountIdentities(uid))).filter((f) => f.startsWith('apple'))).toEqual([]);
    } else {
      expect(got).toEqual({ kind: c.expected });
      expect(apple).toBe(c.identities.apple?.subject ?? null);
    }
  });

  it.each(CONFIRM_CASES)('confirm-identity.lua: $name', async (c) => {
    const uid = await seed({ disabled: false, identities: { google: linked('g'), ...(c.stored ? { apple: c.stored } : {}) } });
    expect(await r.stores.accounts.confirmIdentity(uid, 'apple', c.subject)).toBe(c.expected);
    if (c.expected) expect(await r.raw.hexists(k().accountIdentities(uid), 'apple.p')).toBe(0);
    else expect(await r.raw.hexists(k().accountIdentities(uid), 'apple.p')).toBe(c.stored?.pending ? 1 : 0);
  });

  it('confirming a Google identity writes `s` too (the earlier layout reads the account through it); removing it takes `s` away', async () => {
    const uid = await seed({ disabled: false, identities: { apple: linked('a'), google: pending('g') } });
    expect(await r.stores.accounts.confirmIdentity(uid, 'google', 'g')).toBe(true);
    expect(await r.raw.hget(k().user(uid), 's')).toBe('g');
    expect(await r.stores.accounts.removeIdentity(uid, 'google', { subject: 'g', keepLast: true, now: 1 })).toEqual({ kind: 'removed', subject: 'g' });
    expect(await r.raw.hexists(k().user(uid), 's')).toBe(0);
  });
});
