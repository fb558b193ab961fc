import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { lastSeenAt } from '../../src/sessions/policy.js';
import { keyLayout } from '../../src/store/keys.js';
import { createRedisClient, createRedisStores, whenReady } from '../../src/store/redis/index.js';
import type { Stores } from '../../src/store/types.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { TWO_PER_MINUTE, newSession, profile, rotation, write } from './contract.js';

/**
 * Existing deployments keep working: test/store/fixtures/layout-before-issue-11.json holds every
 * key the store wrote before the session primitives were reshaped (written by that code, then
 * dumped raw: a user with a rotated and a touched session, a grace box, a disabled user, a
 * nonce, a used ID token). Loaded into Redis as they are, they must read, rotate, refresh,
 * list, sign in, disable and delete with today's code, byte for byte where nothing changed.
 */
interface Dumped {
  type: 'string' | 'hash' | 'zset';
  expireAt: number;
  value: string | Record<string, string> | string[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/layout-before-issue-11.json', import.meta.url), 'utf8')) as { now: number; keys: Record<string, Dumped> };
const T0 = fixture.now;
const ADA = 'AdaAdaAdaAdaAdaAdaAda1';
const BOB = 'BobBobBobBobBobBobBob1';
const S1 = 'SessionOneSessionOne01';
const S2 = 'SessionTwoSessionTwo02';
const h = (c: string) => c.repeat(32);

const redis = usePrivateRedis();

describe('Redis layout written before the session primitives', () => {
  let raw: Redis;
  let stores: Stores;
  let prefix: string;
  const k = () => keyLayout(prefix);

  beforeAll(async () => {
    raw = new Redis(redis.url);
    prefix = uniquePrefix();
    for (const [name, d] of Object.entries(fixture.keys)) {
      const key = prefix + name.slice('ag:'.length);
      if (d.type === 'string') await raw.set(key, d.value as string);
      else if (d.type === 'hash') await raw.hset(key, d.value as Record<string, string>);
      else await raw.zadd(key, ...(d.value as string[]).flatMap((v, i, all) => (i % 2 === 0 ? [all[i + 1]!, v] : [])));
      // Session keys expire at their (future) session end; the nonce and used-token records were
      // given real-clock TTLs when dumped, which may have run out since: they get ten minutes.
      if (d.expireAt > 0) await raw.pexpireat(key, Math.max(d.expireAt, Date.now() + 600_000));
    }
    const client = createRedisClient(redis.url);
    await whenReady(client);
    stores = createRedisStores({ client, keyPrefix: prefix, ownsClient: true });
  });
  afterAll(async () => {
    await stores.close();
    raw.disconnect();
  });

  it('reads users and sessions as they were written, lastSeenAt included', async () => {
    const one = await stores.accounts.readSession(ADA, S1);
    expect(one.user).toMatchObject({ id: ADA, name: 'Ada 👩‍💻 Lovelace — '.repeat(5), createdAt: T0, lastSignInAt: T0 + 1000, disabled: false });
    // One Google identity each, read from the user's `s` (nothing is written by reading).
    const [ada, bob] = await stores.accounts.getIdentities([ADA, BOB]);
    expect(ada).toEqual([{ provider: 'google', subject: '109876543210987654321', email: one.user!.email, emailVerified: one.user!.emailVerified, isPrivateEmail: false, realUserStatus: null, linkedAt: T0, pending: false }]);
    expect(bob).toMatchObject([{ provider: 'google', subject: '200000000000000000001', email: null, emailVerified: false, pending: false }]);
    expect(await raw.exists(k().accountIdentities(ADA), k().accountIdentities(BOB))).toBe(0);
    expect(one.session).toMatchObject({ createdAt: T0, rotatedAt: T0 + 60_000, touchedAt: null, userAgent: expect.stringMatching(/^Mozilla\/5\.0 \(iPhone/), clientAddress: '2001:db8:85a3::8a2e:370:7334' });
    expect(lastSeenAt(one.session!)).toBe(T0 + 60_000);
    const two = (await stores.accounts.readSession(ADA, S2)).session!;
    expect(two).toMatchObject({ rotatedAt: null, touchedAt: T0 + 120_000, userAgent: null, clientAddress: '203.0.113.7' });
    expect(lastSeenAt(two)).toBe(T0 + 120_000);
    expect((await stores.accounts.listSessions(ADA, T0 + 200_000)).map((s) => s.id).sort()).toEqual([S1, S2]);
    expect(await stores.identities.get('google', '109876543210987654321')).toBe(ADA);
    expect((await stores.accounts.getUsers([BOB]))[0]).toMatchObject({ disabled: true, email: null, picture: null });
  });

  it('answers the previous token of a rotated session from its grace box, then rotates the current one with the refresh budget', async () => {
    const grace = await stores.accounts.rotateSession(ADA, S1, rotation(T0 + 65_000, h('a')));
    expect(grace).toMatchObject({ kind: 'grace', graceBox: 'sealed-box' });
    const before = await raw.hgetall(k().session(ADA, S1));
    expect(before.rb).toBeUndefined();
    const rotated = await stores.accounts.rotateSession(ADA, S1, rotation(T0 + 180_000, h('c'), { limit: TWO_PER_MINUTE }));
    expect(rotated).toMatchObject({ kind: 'rotated', session: { rotatedAt: T0 + 180_000 }, user: { id: ADA } });
    const after = await raw.hgetall(k().session(ADA, S1));
    expect({ ...after, rh: undefined, r: undefined, rb: undefined }).toEqual({ ...before, ph: h('c'), rt: String(T0 + 180_000), rh: undefined, r: undefined, rb: undefined });
    expect(after.rb).toBe('30000');
    expect((await stores.accounts.rotateSession(ADA, S2, rotation(T0 + 190_000, h('b')))).kind).toBe('rotated');
  });

  it('signs in again: the old profile pieces go, createdAt stays, the sign-in budget joins the record', async () => {
    const got = await stores.accounts.writeSession(
      write(ADA, newSession(T0 + 300_000), { profile: profile('109876543210987654321', { name: 'Ada' }), mustExist: true, limit: TWO_PER_MINUTE }),
    );
    expect(got).toMatchObject({ kind: 'written', isNewUser: false, user: { name: 'Ada', createdAt: T0, lastSignInAt: T0 + 300_000 } });
    const fields = await raw.hkeys(k().user(ADA));
    expect(fields).not.toContain('n1');
    expect(fields).toContain('sb');
    // Upgraded in place: the account's identities hash now holds its Google identity, linked
    // when the account was created; `s` stays for the previous version.
    expect(await raw.hgetall(k().accountIdentities(ADA))).toEqual({ google: '109876543210987654321', 'google.at': String(T0), 'google.ev': '1', 'google.pe': '0', 'google.em': '109876543210987654321@example.com' });
    expect(await raw.hget(k().user(ADA), 's')).toBe('109876543210987654321');
  });

  it('keeps a disabled user disabled until enabled; spends the nonce once; remembers the used ID token', async () => {
    expect(await stores.accounts.writeSession(write(BOB, newSession(T0 + 1), { profile: profile('200000000000000000001'), mustExist: true }))).toEqual({ kind: 'account_disabled' });
    expect(await stores.accounts.setAccountState(BOB, 'enabled', Date.now())).toEqual({ found: true, sessionsEnded: 0, identities: [] });
    expect((await stores.accounts.writeSession(write(BOB, newSession(T0 + 2), { profile: profile('200000000000000000001'), mustExist: true }))).kind).toBe('written');
    expect(await stores.singleUse.take('sign-in-nonce', 'nonceHashnonceHashnonceHashnonceHashnonceHa', T0 + 1)).toBe(true);
    expect(await stores.singleUse.take('sign-in-nonce', 'nonceHashnonceHashnonceHashnonceHashnonceHa', T0 + 1)).toBe(false);
    expect(await stores.singleUse.put('used-id-token', 'idTokenHashidTokenHashidTokenHashidTokenHas', T0 + 3_600_000, T0)).toBe(false);
  });

  it('deletes the account leaving none of its keys but the marker retiring its id (for a day)', async () => {
    expect(await stores.identities.unlink('google', '109876543210987654321', ADA)).toBe(true);
    expect(await stores.accounts.setAccountState(ADA, 'deleted', Date.now())).toMatchObject({ found: true, identities: [{ provider: 'google', subject: '109876543210987654321' }] });
    expect((await raw.keys(`${prefix}*`)).filter((key) => key.includes(ADA) || key.includes('109876543210987654321'))).toEqual([k().retired(ADA)]);
  });
});
