import { describe, expect, it } from '@jest/globals';
import { applySecurityChange, decideAccountLock, decideClaim, decideIdentitySignIn, decideSettle, EVENT_DONE_KEEP_MS, UNLOCKED_STATE_KEEP_MS, type IdentitySecurity } from '../../src/risc/policy.js';
import { usePrivateRedis } from '../support/env.js';
import { useRedisStores } from '../support/redis-stores.js';
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
  const r = useRedisStores(redis);
  let n = 0;
  const k = r.keys;

  async function seedState(sub: string, state: IdentitySecurity | null): Promise<string> {
    const key = k().identitySecurity('google', sub);
    if (state) {
      await r.raw.hset(key, 'ca', String(state.changedAt), 'nb', String(state.notBefore));
      if (state.locked) await r.raw.hset(key, 'lk', state.locked);
    }
    return key;
  }

  it.each(CHANGE_CASES)('identity-security.lua: $name', async (c) => {
    const sub = `s${++n}`;
    const key = await seedState(sub, c.stored);
    expect(await r.stores.securityEvents.apply('google', sub, c.change)).toEqual({ state: c.state, changed: c.changed });
    expect(await r.stores.securityEvents.state('google', sub)).toEqual(c.state);
    const ttl = await r.raw.pttl(key);
    if (c.durable) expect(ttl).toBe(-1);
    else expect(ttl).toBeGreaterThan(UNLOCKED_STATE_KEEP_MS - 60_000);
  });

  it.each(SIGN_IN_CASES)('link-identity.lua: $name', async (c) => {
    const sub = `s${++n}`;
    await seedState(sub, c.state);
    const got = await r.stores.identities.signInLink('google', sub, `u${n}`, c.issuedAt);
    if (c.expected === 'allow') {
      expect(got).toEqual({ kind: 'linked', userId: `u${n}`, created: true });
      expect(await r.stores.identities.signInLink('google', sub, 'another', c.issuedAt)).toEqual({ kind: 'linked', userId: `u${n}`, created: false });
    } else {
      expect(got).toEqual({ kind: c.expected });
      expect(await r.raw.exists(k().identity('google', sub))).toBe(0);
    }
  });

  it.each(CLAIM_CASES)('event-claim.lua / event-settle.lua: $name', async (c) => {
    const ev = `e${++n}`;
    const key = k().riscEvent(ev);
    if (c.stored === 'done') await r.raw.set(key, 'done');
    else if (c.stored) await r.raw.set(key, `lease:${c.stored.lease}`);
    expect(await r.stores.securityEvents.claim(ev, 'mine', 30_000)).toBe(c.expected);
    if (c.expected === 'claimed') expect(await r.raw.get(key)).toBe('lease:mine');
    const expectedSettle = c.settles || c.expected === 'claimed';
    expect(await r.stores.securityEvents.settle(ev, 'mine', 'done', EVENT_DONE_KEEP_MS)).toBe(expectedSettle);
    if (expectedSettle) {
      expect(await r.raw.get(key)).toBe('done');
      expect(await r.raw.pttl(key)).toBeGreaterThan(EVENT_DONE_KEEP_MS - 60_000);
    }
  });

  it('event-settle.lua release: the record goes, so a retry claims again', async () => {
    const ev = `e${++n}`;
    expect(await r.stores.securityEvents.claim(ev, 'mine', 30_000)).toBe('claimed');
    expect(await r.stores.securityEvents.settle(ev, 'theirs', 'release', 0)).toBe(false);
    expect(await r.stores.securityEvents.settle(ev, 'mine', 'release', 0)).toBe(true);
    expect(await r.stores.securityEvents.claim(ev, 'next', 30_000)).toBe('claimed');
    expect(await r.raw.pttl(k().riscEvent(ev))).toBeGreaterThan(25_000);
  });

  it.each(ACCOUNT_LOCK_CASES)('account-security.lua: $name', async (c) => {
    const uid = `user${++n}`;
    const sub = `sub${n}`;
    await r.raw.hset(k().user(uid), 'c', '1', 'ls', '1');
    await r.raw.hset(k().accountIdentities(uid), 'google', sub, 'google.at', '1');
    if (c.marker) await r.raw.hset(k().accountIdentities(uid), 'google.lk', c.marker);
    const cursor = (await r.stores.events.read('0', 100_000)).at(-1)?.cursor ?? '0';
    const got = await r.stores.securityEvents.recordOnAccount(uid, {
      provider: 'google',
      subject: sub,
      endSessions: false,
      lock: c.lock,
      entry: { type: 'account-disabled', reason: null, action: 'locked', issuedAt: 1, receivedAt: 2 },
      now: 1000,
    });
    expect(got).toEqual({ found: true, sessionsEnded: 0 });
    expect((await r.raw.hget(k().accountIdentities(uid), 'google.lk')) ?? null).toBe(c.expected.marker);
    const events = (await r.stores.events.read(cursor, 100)).map((e) => e.event).filter((e) => e.userId === uid);
    expect(events.map((e) => e.type)).toEqual(c.expected.event ? [c.expected.event] : []);
  });

  it('account-security.lua on an account of the layout before several identities: the identities hash is written first', async () => {
    const uid = `user${++n}`;
    await r.raw.hset(k().user(uid), 'c', '5', 'ls', '5', 's', 'legacy-sub', 'ev', '1');
    const got = await r.stores.securityEvents.recordOnAccount(uid, { provider: 'google', subject: 'legacy-sub', endSessions: false, lock: 'disabled', entry: { type: 'account-disabled', reason: null, action: 'locked', issuedAt: 1, receivedAt: 2 }, now: 1000 });
    expect(got.found).toBe(true);
    expect(await r.raw.hgetall(k().accountIdentities(uid))).toMatchObject({ google: 'legacy-sub', 'google.at': '5', 'google.lk': 'disabled' });
    expect((await r.stores.accounts.getIdentities([uid]))[0]!.map((i) => i.subject)).toEqual(['legacy-sub']);
  });
});
