import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { applySecurityChange, decideAccountLock, decideClaim, decideIdentitySignIn, decideSettle, EVENT_DONE_KEEP_MS, UNLOCKED_STATE_KEEP_MS, type IdentitySecurity } from '../../src/risc/policy.js';
import { keyLayout } from '../../src/store/keys.js';
import { createRedisClient, createRedisStores, whenReady } from '../../src/store/redis/index.js';
import type { Stores } from '../../src/store/types.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { ACCOUNT_LOCK_CASES, CHANGE_CASES, CLAIM_CASES, SIGN_IN_CASES } from './policy-cases.js';

/**
 * src/risc/policy.ts's rules, and their Lua mirrors, against one table each
 * (test/risc/policy-cases.ts). The Lua side is seeded with raw records, so every row is
 * reached whatever sequence of events would lead there.
 */
describe('pure rules', () => {
  it.each(CHANGE_CASES)('applySecurityChange: $name', (c) => {
    expect(applySecurityChange(c.stored, c.change)).toEqual({ state: c.state, changed: c.changed, keepMs: c.durable ? null : UNLOCKED_STATE_KEEP_MS });
  });
  it.each(SIGN_IN_CASES)('decideIdentitySignIn: $name', (c) => {
    expect(decideIdentitySignIn(c.state, c.issuedAt)).toBe(c.expected);
  });
  it.each(CLAIM_CASES)('decideClaim / decideSettle: $name', (c) => {
    expect(decideClaim(c.stored)).toBe(c.expected);
    expect(decideSettle(c.stored, 'mine')).toBe(c.settles);
  });
  it.each(ACCOUNT_LOCK_CASES)('decideAccountLock: $name', (c) => {
    expect(decideAccountLock(c.marker, c.lock)).toEqual(c.expected);
  });
});

const redis = usePrivateRedis();

describe('Lua mirrors', () => {
  let raw: Redis;
  let stores: Stores;
  let prefix: string;
  let n = 0;
  const k = () => keyLayout(prefix);
  beforeAll(async () => {
    prefix = uniquePrefix();
    const client = createRedisClient(redis.url);
    await whenReady(client);
    stores = createRedisStores({ client, keyPrefix: prefix, ownsClient: true });
    raw = new Redis(redis.url);
  });
  afterAll(async () => {
    await stores.close();
    raw.disconnect();
  });

  async function seedState(sub: string, state: IdentitySecurity | null): Promise<string> {
    const key = k().identitySecurity('google', sub);
    if (state) {
      await raw.hset(key, 'ca', String(state.changedAt), 'nb', String(state.notBefore));
      if (state.locked) await raw.hset(key, 'lk', state.locked);
    }
    return key;
  }

  it.each(CHANGE_CASES)('identity-security.lua: $name', async (c) => {
    const sub = `s${++n}`;
    const key = await seedState(sub, c.stored);
    expect(await stores.securityEvents.apply('google', sub, c.change)).toEqual({ state: c.state, changed: c.changed });
    expect(await stores.securityEvents.state('google', sub)).toEqual(c.state);
    const ttl = await raw.pttl(key);
    if (c.durable) expect(ttl).toBe(-1);
    else expect(ttl).toBeGreaterThan(UNLOCKED_STATE_KEEP_MS - 60_000);
  });

  it.each(SIGN_IN_CASES)('link-identity.lua: $name', async (c) => {
    const sub = `s${++n}`;
    await seedState(sub, c.state);
    const got = await stores.identities.signInLink('google', sub, `u${n}`, c.issuedAt);
    if (c.expected === 'allow') {
      expect(got).toEqual({ kind: 'linked', userId: `u${n}`, created: true });
      expect(await stores.identities.signInLink('google', sub, 'another', c.issuedAt)).toEqual({ kind: 'linked', userId: `u${n}`, created: false });
    } else {
      expect(got).toEqual({ kind: c.expected });
      expect(await raw.exists(k().identity('google', sub))).toBe(0);
    }
  });

  it.each(CLAIM_CASES)('event-claim.lua / event-settle.lua: $name', async (c) => {
    const ev = `e${++n}`;
    const key = k().riscEvent(ev);
    if (c.stored === 'done') await raw.set(key, 'done');
    else if (c.stored) await raw.set(key, `lease:${c.stored.lease}`);
    expect(await stores.securityEvents.claim(ev, 'mine', 30_000)).toBe(c.expected);
    if (c.expected === 'claimed') expect(await raw.get(key)).toBe('lease:mine');
    const expectedSettle = c.settles || c.expected === 'claimed';
    expect(await stores.securityEvents.settle(ev, 'mine', 'done', EVENT_DONE_KEEP_MS)).toBe(expectedSettle);
    if (expectedSettle) {
      expect(await raw.get(key)).toBe('done');
      expect(await raw.pttl(key)).toBeGreaterThan(EVENT_DONE_KEEP_MS - 60_000);
    }
  });

  it('event-settle.lua release: the record goes, so a retry claims again', async () => {
    const ev = `e${++n}`;
    expect(await stores.securityEvents.claim(ev, 'mine', 30_000)).toBe('claimed');
    expect(await stores.securityEvents.settle(ev, 'theirs', 'release', 0)).toBe(false);
    expect(await stores.securityEvents.settle(ev, 'mine', 'release', 0)).toBe(true);
    expect(await stores.securityEvents.claim(ev, 'next', 30_000)).toBe('claimed');
    expect(await raw.pttl(k().riscEvent(ev))).toBeGreaterThan(25_000);
  });

  it.each(ACCOUNT_LOCK_CASES)('account-security.lua: $name', async (c) => {
    const uid = `user${++n}`;
    const sub = `sub${n}`;
    await raw.hset(k().user(uid), 'c', '1', 'ls', '1');
    await raw.hset(k().accountIdentities(uid), 'google', sub, 'google.at', '1');
    if (c.marker) await raw.hset(k().accountIdentities(uid), 'google.lk', c.marker);
    const cursor = (await stores.events.read('0', 100_000)).at(-1)?.cursor ?? '0';
    const got = await stores.securityEvents.recordOnAccount(uid, {
      provider: 'google',
      subject: sub,
      endSessions: false,
      lock: c.lock,
      entry: { type: 'account-disabled', reason: null, action: 'locked', issuedAt: 1, receivedAt: 2 },
      now: 1000,
    });
    expect(got).toEqual({ found: true, sessionsEnded: 0 });
    expect((await raw.hget(k().accountIdentities(uid), 'google.lk')) ?? null).toBe(c.expected.marker);
    const events = (await stores.events.read(cursor, 100)).map((e) => e.event).filter((e) => e.userId === uid);
    expect(events.map((e) => e.type)).toEqual(c.expected.event ? [c.expected.event] : []);
  });

  it('account-security.lua on an account of the layout before several identities: the identities hash is written first', async () => {
    const uid = `user${++n}`;
    await raw.hset(k().user(uid), 'c', '5', 'ls', '5', 's', 'legacy-sub', 'ev', '1');
    const got = await stores.securityEvents.recordOnAccount(uid, { provider: 'google', subject: 'legacy-sub', endSessions: false, lock: 'disabled', entry: { type: 'account-disabled', reason: null, action: 'locked', issuedAt: 1, receivedAt: 2 }, now: 1000 });
    expect(got.found).toBe(true);
    expect(await raw.hgetall(k().accountIdentities(uid))).toMatchObject({ google: 'legacy-sub', 'google.at': '5', 'google.lk': 'disabled' });
    expect((await stores.accounts.getIdentities([uid]))[0]!.map((i) => i.subject)).toEqual(['legacy-sub']);
  });
});
