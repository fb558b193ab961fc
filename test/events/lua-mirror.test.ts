import { describe, expect, it } from '@jest/globals';
import type { AccountEvent } from '../../src/events/event.js';
import { usePrivateRedis } from '../support/env.js';
import { useRedisStores } from '../support/redis-stores.js';
import { id, newSession, write } from '../store/contract.js';
import { ACCOUNT_STATE_CASES, IDENTITY_CASES, SIGN_IN_CASES } from './event-cases.js';
import { drafts, eventsAfter, lastCursor } from './helpers.js';

/**
 * The Lua side of the account events (lib-events.lua and its callers) answers the policy's own
 * tables (test/events/event-cases.ts) on a real Redis: the events a script appended to the
 * stream, for the case's user, are the policy's drafts, stamped with the step's time and user
 * and ids `<base>.0`, `<base>.1`, ….
 */
const redis = usePrivateRedis();
const T = 1_900_000_000_000;

describe('Lua scripts mirror the account event policy', () => {
  const r = useRedisStores(redis);
  const k = r.keys;

  function expectStamped(events: AccountEvent[], uid: string, time: number): void {
    const base = events[0]?.id.split('.')[0];
    events.forEach((e, n) => expect({ id: e.id, time: e.time, userId: e.userId }).toEqual({ id: `${base}.${n}`, time, userId: uid }));
    expect(base ?? 'x'.repeat(22)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  }

  it.each(SIGN_IN_CASES)('write-session.lua: $name', async (c) => {
    const uid = id();
    if (c.before) await r.stores.accounts.writeSession(write(uid, newSession(T), { profile: { sub: `sub-${uid}`, ...c.before } }));
    const cursor = await lastCursor(r.stores);
    const got = await r.stores.accounts.writeSession(write(uid, newSession(T + 1000), { profile: { sub: `sub-${uid}`, ...c.after }, mustExist: c.before !== null }));
    expect(got.kind).toBe('written');
    const events = await eventsAfter(r.stores, cursor, uid);
    expect(drafts(events)).toEqual(c.expected);
    expectStamped(events, uid, T + 1000);
  });

  it.each(ACCOUNT_STATE_CASES)('end-sessions.lua (account state): $name', async (c) => {
    const uid = id();
    if (c.before) {
      await r.raw.hset(k().user(uid), 's', `sub-${uid}`, 'c', String(T - 1000), 'ls', String(T - 1000), 'ev', '1');
      if (c.before.disabled) await r.raw.hset(k().user(uid), 'd', '1');
    }
    for (let i = c.sessions; i >= 1; i--) {
      // Seeded in reverse, with later ends first: the events still come in id order.
      await r.raw.hset(k().session(uid, `s${i}`), 'rh', 'h', 'c', String(T), 'e', String(T + 3_600_000), 'r', String(T + 3_600_000));
      await r.raw.pexpireat(k().session(uid, `s${i}`), Date.now() + 3_600_000);
      await r.raw.zadd(k().sessionIndex(uid), T + 3_600_000 - i, `s${i}`);
    }
    const cursor = await lastCursor(r.stores);
    await r.stores.accounts.setAccountState(uid, c.state, T + 5);
    const events = await eventsAfter(r.stores, cursor, uid);
    expect(drafts(events)).toEqual(c.expected);
    expectStamped(events, uid, T + 5);
  });

  it.each(IDENTITY_CASES)('remove-identity.lua: $name', async (c) => {
    const uid = id();
    // An account with a Google and an Apple identity, the one removed pending or linked.
    await r.raw.hset(k().user(uid), 'c', String(T - 1000), 'ls', String(T - 1000));
    await r.raw.hset(k().accountIdentities(uid), 'google', `g-${uid}`, 'google.at', String(T - 1000), 'apple', `a-${uid}`, 'apple.at', String(T - 500));
    if (c.pending) await r.raw.hset(k().accountIdentities(uid), `${c.provider}.p`, '1');
    const cursor = await lastCursor(r.stores);
    expect((await r.stores.accounts.removeIdentity(uid, c.provider, { subject: null, keepLast: !c.pending, now: T + 7 })).kind).toBe('removed');
    const events = await eventsAfter(r.stores, cursor, uid);
    expect(drafts(events)).toEqual(c.expected);
    expectStamped(events, uid, T + 7);
  });

  it('the stream entry is one field, `event`, holding the JSON', async () => {
    const uid = id();
    await r.stores.accounts.writeSession(write(uid, newSession(T)));
    const [[, fields]] = (await r.raw.xrevrange(k().events(), '+', '-', 'COUNT', 1)) as [[string, string[]]];
    expect(fields[0]).toBe('event');
    expect(fields).toHaveLength(2);
    expect(JSON.parse(fields[1]!)).toMatchObject({ type: 'user.created', userId: uid, time: T });
  });
});
