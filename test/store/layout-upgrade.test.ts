import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { keyLayout } from '../../src/store/keys.js';
import { usePrivateRedis } from '../support/env.js';
import { harness, idToken, meta, newProfile, type Harness, type Profile } from '../sessions/harness.js';

/**
 * Accounts written before accounts had several identities keep working, with no step for the
 * operator: test/store/fixtures/layout-before-issue-12.json holds the keys main's store wrote
 * (through the calls a sign-in, a refresh, a request and an operator's disable make: a Google
 * account with a rotated and a touched session and a grace box, a disabled one), dumped raw.
 * Loaded as they are, each reads as an account with one Google identity, signs in, is upgraded
 * in place (once: the second write changes nothing of the upgrade), links Apple, unlinks
 * Google, is disabled and enabled, and is deleted, through the real use cases.
 */
interface Dumped {
  type: 'string' | 'hash' | 'zset';
  expireAt: number;
  value: string | Record<string, string> | string[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/layout-before-issue-12.json', import.meta.url), 'utf8')) as { now: number; keys: Record<string, Dumped> };
const T0 = fixture.now;
const ADA = 'AdaAdaAdaAdaAdaAdaAda2';
const BOB = 'BobBobBobBobBobBobBob2';
const ADA_SUB = '109876543210987654322';
const BOB_SUB = '200000000000000000002';
const S1 = 'SessionOneSessionOne01';

const redis = usePrivateRedis();

describe('accounts written before several identities (main, issue 11)', () => {
  let raw: Redis;
  let h: Harness;
  const k = () => keyLayout(h.prefix);
  const google = (sub: string): Profile => ({ ...newProfile(), sub, email: `${sub}@example.com` });
  const signIn = (provider: string, p: Profile) => h.signIn.signIn({ provider, idToken: idToken(p, h.clock), nonce: null, names: null, meta });

  beforeAll(async () => {
    raw = new Redis(redis.url);
    h = await harness({ url: redis.url });
    for (const [name, d] of Object.entries(fixture.keys)) {
      const key = h.prefix + name.slice('ag:'.length);
      if (d.type === 'string') await raw.set(key, d.value as string);
      else if (d.type === 'hash') await raw.hset(key, d.value as Record<string, string>);
      else await raw.zadd(key, ...(d.value as string[]).flatMap((v, i, all) => (i % 2 === 0 ? [all[i + 1]!, v] : [])));
      // Sessions expire at their (future) end; the grace box had a 10 s TTL when dumped: ten minutes now.
      if (d.expireAt > 0) await raw.pexpireat(key, Math.max(d.expireAt, Date.now() + 600_000));
    }
    h.clock.t = T0 + 300_000;
  });
  afterAll(async () => {
    await h.close();
    raw.disconnect();
  });

  it('reads each account as one Google identity, linked when it was created, without writing anything', async () => {
    const before = await raw.hgetall(k().user(ADA));
    expect(await h.identities.list(ADA)).toEqual([
      { provider: 'google', subject: ADA_SUB, email: `${ADA_SUB}@example.com`, emailVerified: true, isPrivateEmail: false, realUserStatus: null, linkedAt: T0, pending: false },
    ]);
    expect(await h.identities.list(BOB)).toEqual([expect.objectContaining({ provider: 'google', subject: BOB_SUB, email: null, emailVerified: false })]);
    expect(await h.identities.accountOf('google', ADA_SUB)).toBe(ADA);
    expect(await raw.exists(k().accountIdentities(ADA), k().accountIdentities(BOB))).toBe(0);
    expect(await raw.hgetall(k().user(ADA))).toEqual(before);
    expect((await h.stores.accounts.readSession(ADA, S1)).user).toMatchObject({ id: ADA, name: 'Ada 👩‍💻 Lovelace — '.repeat(5), locale: 'en-GB', createdAt: T0 });
  });

  it('signs in to the same account and is upgraded in place, once', async () => {
    const first = await signIn('google', google(ADA_SUB));
    expect(first).toMatchObject({ isNewUser: false, user: { id: ADA, createdAt: T0 } });
    const upgraded = await raw.hgetall(k().accountIdentities(ADA));
    expect(upgraded).toEqual({ google: ADA_SUB, 'google.at': String(T0), 'google.ev': '1', 'google.pe': '0', 'google.em': `${ADA_SUB}@example.com` });
    expect(await raw.hget(k().user(ADA), 's')).toBe(ADA_SUB); // kept for the previous version
    h.clock.advance(1000);
    await signIn('google', google(ADA_SUB));
    expect(await raw.hgetall(k().accountIdentities(ADA))).toEqual(upgraded);
    // The sessions written before still work beside the new ones.
    expect((await h.sessions.listSessions({ user: first.user })).map((s) => s.id)).toContain(S1);
  });

  it('links Apple, which then signs in to it; unlinking Google takes `s` and the Google link away', async () => {
    const apple: Profile = { ...newProfile(), isPrivateEmail: true, realUserStatus: 2 };
    h.clock.advance(1000);
    await h.identities.link(ADA, { provider: 'apple', idToken: idToken(apple, h.clock), nonce: null, meta });
    expect((await h.identities.list(ADA)).map((i) => i.provider)).toEqual(['google', 'apple']);
    expect((await signIn('apple', apple)).user.id).toBe(ADA);
    await h.identities.unlink(ADA, 'google');
    expect(await raw.hexists(k().user(ADA), 's')).toBe(0);
    expect(await h.stores.identities.get('google', ADA_SUB)).toBeNull();
    expect((await signIn('google', google(ADA_SUB))).isNewUser).toBe(true);
  });

  it('a disabled account stays disabled (its refused sign-in writes nothing, not even the upgrade); enabled, it signs in and is upgraded', async () => {
    await expect(signIn('google', google(BOB_SUB))).rejects.toMatchObject({ reason: 'account_disabled' });
    expect(await raw.exists(k().accountIdentities(BOB))).toBe(0);
    expect(await h.stores.accounts.setAccountState(BOB, 'enabled', h.clock.t)).toMatchObject({ found: true });
    expect(await signIn('google', google(BOB_SUB))).toMatchObject({ isNewUser: false, user: { id: BOB, name: 'Ada' } });
    expect(await raw.hget(k().accountIdentities(BOB), 'google')).toBe(BOB_SUB);
  });

  it('an account of the earlier layout is deleted whole: its Google link (read from `s`) and every key, its id retired', async () => {
    await raw.del(k().accountIdentities(BOB)); // as it was before any write reached it
    await expect(h.identities.unlink(BOB, 'google')).rejects.toMatchObject({ extensions: { code: 'LAST_IDENTITY' } });
    expect(await raw.exists(k().accountIdentities(BOB))).toBe(0);
    expect(await h.accounts.deleteAccount(BOB)).toBe(true);
    expect(await h.stores.identities.get('google', BOB_SUB)).toBeNull();
    const left: string[] = [];
    for (let cursor = '0'; ; ) {
      const [next, batch] = await raw.scan(cursor, 'MATCH', `${h.prefix}*`, 'COUNT', 1000);
      left.push(...batch.filter((key) => key.includes(BOB) || key.includes(BOB_SUB)));
      if ((cursor = next) === '0') break;
    }
    expect(left).toEqual([k().retired(BOB)]);
  });
});
