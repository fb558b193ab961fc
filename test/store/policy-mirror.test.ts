import { describe, expect, it } from '@jest/globals';
import { touchApplies } from '../../src/sessions/policy.js';
import type { RotationResult, SessionWriteResult } from '../../src/store/types.js';
import { usePrivateRedis } from '../support/env.js';
import { useRedisStores } from '../support/redis-stores.js';
import type { StoredIdentity } from '../../src/users/identity-policy.js';
import { CAP_CASES, ROTATION_CASES, ROTATION_REFRESH_TTL_MS, T, WRITE_CASES } from '../sessions/policy-cases.js';
import { newSession, profile, write } from './contract.js';

/**
 * The Lua scripts are a mirror of src/sessions/policy.ts: here they answer the policy's own
 * tables (test/sessions/policy-cases.ts), each case seeded into Redis as raw fields, so every
 * branch is reached, including states no sequence of operations produces (a disabled flag
 * next to a stored session). test/store/session-property.test.ts then compares both on random
 * operation sequences.
 */
const redis = usePrivateRedis();
const HOUR = 3_600_000;

describe('Lua scripts mirror the session policy', () => {
  const r = useRedisStores(redis);
  let n = 0;
  const k = r.keys;

  /** A user as the write cases describe it; its Google identity `stored` (default: `sub-<uid>`, linked). */
  async function seedUser(uid: string, user: { disabled: boolean; signInTat?: number | null } | null, stored: StoredIdentity | null = { subject: `sub-${uid}`, pending: false }): Promise<void> {
    if (!user) return;
    await r.raw.hset(k().user(uid), 'c', String(T - HOUR), 'ls', String(T - HOUR), 'ev', '1');
    if (stored) {
      await r.raw.hset(k().accountIdentities(uid), 'google', stored.subject, 'google.at', String(T - HOUR));
      if (stored.pending) await r.raw.hset(k().accountIdentities(uid), 'google.p', '1');
      if (stored.locked) await r.raw.hset(k().accountIdentities(uid), 'google.lk', 'hijacking');
      else await r.raw.hset(k().user(uid), 's', stored.subject);
    }
    if (user.disabled) await r.raw.hset(k().user(uid), 'd', '1');
    if (user.signInTat != null) await r.raw.hset(k().user(uid), 'sb', String(user.signInTat));
  }

  it.each(ROTATION_CASES)('rotate-session.lua: $name', async (c) => {
    const uid = `user${++n}`;
    const sid = 'the-session';
    const key = k().session(uid, sid);
    if (c.session) {
      const s = c.session;
      await r.raw.hset(key, 'rh', s.refreshHash, 'c', String(T - HOUR), 'e', String(s.expiresAt), 'r', String(s.refreshExpiresAt));
      if (s.previousHash !== null) await r.raw.hset(key, 'ph', s.previousHash);
      if (s.rotatedAt !== null) await r.raw.hset(key, 'rt', String(s.rotatedAt));
      if (s.refreshTat !== null) await r.raw.hset(key, 'rb', String(s.refreshTat - s.rotatedAt!)); // stored relative to rt
      await r.raw.zadd(k().sessionIndex(uid), s.refreshExpiresAt, sid);
    }
    if (c.graceBoxPresent) await r.raw.set(k().grace(uid, sid), 'the-box', 'PX', 60_000);
    await seedUser(uid, c.user);
    const before = await r.raw.hgetall(key);

    const got = await r.stores.accounts.rotateSession(uid, sid, {
      presentedHash: c.presentedHash,
      nextHash: 'next',
      graceBox: 'new-box',
      now: c.now,
      graceMs: c.graceMs,
      refreshTtlMs: ROTATION_REFRESH_TTL_MS,
      limit: c.limit,
    });
    const after = await r.raw.hgetall(key);
    const tat = after.rb === undefined ? null : Number(after.rt) + Number(after.rb);
    const e = c.expected;
    switch (e.kind) {
      case 'rotate':
        expect(got.kind).toBe('rotated');
        expect((got as Extract<RotationResult, { kind: 'rotated' }>).session).toMatchObject({ rotatedAt: c.now, refreshExpiresAt: e.refreshExpiresAt });
        expect([after.rh, after.ph]).toEqual(['next', c.session!.refreshHash]);
        expect(tat).toBe(e.refreshTat ?? c.session!.refreshTat);
        expect(await r.raw.get(k().grace(uid, sid))).toBe('new-box');
        break;
      case 'grace':
        expect(got).toMatchObject({ kind: 'grace', graceBox: 'the-box' });
        expect(tat).toBe(e.refreshTat ?? c.session!.refreshTat);
        expect({ ...after, rb: undefined }).toEqual({ ...before, rb: undefined }); // nothing but the budget changes
        break;
      case 'reused':
        expect(got).toEqual({ kind: 'reused' });
        expect(after).toEqual({});
        expect(await r.raw.exists(k().grace(uid, sid), k().sessionIndex(uid))).toBe(0);
        break;
      default:
        expect(got).toEqual(e);
        expect(after).toEqual(before); // refused or not found: nothing changes
    }
  });

  it.each(WRITE_CASES)('write-session.lua admission: $name', async (c) => {
    const uid = `user${++n}`;
    await seedUser(uid, c.user, c.stored);
    if (c.retired) await r.raw.set(k().retired(uid), '1', 'PX', 60_000);
    const session = newSession(c.now);
    const got: SessionWriteResult = await r.stores.accounts.writeSession(write(uid, session, { profile: profile(c.subject), mustExist: c.mustExist, limit: c.limit }));
    const stored = await r.raw.hgetall(k().user(uid));
    if (c.expected.kind === 'write') {
      expect(got).toMatchObject({ kind: 'written', isNewUser: c.expected.isNewUser });
      expect(stored.sb === undefined ? null : Number(stored.sb)).toBe(c.expected.signInTat ?? c.user?.signInTat ?? null);
      expect(await r.raw.exists(k().session(uid, session.id))).toBe(1);
      // The identity is the account's, linked (a pending one is confirmed).
      expect(await r.raw.hget(k().accountIdentities(uid), 'google')).toBe(c.subject);
      expect(await r.raw.hexists(k().accountIdentities(uid), 'google.p')).toBe(0);
    } else {
      expect(got).toEqual(c.expected.kind === 'limited' ? c.expected : { kind: c.expected.kind });
      expect(await r.raw.exists(k().session(uid, session.id))).toBe(0);
      if (c.user?.signInTat != null) expect(Number(stored.sb)).toBe(c.user.signInTat); // a refusal spends nothing
    }
  });

  it.each(CAP_CASES)('write-session.lua cap: $name', async (c) => {
    const uid = `user${++n}`;
    await seedUser(uid, { disabled: false });
    for (const [sid, createdAt] of c.others) {
      await r.raw.hset(k().session(uid, sid), 'rh', 'h', 'c', String(T + createdAt), 'e', String(T + HOUR), 'r', String(T + HOUR));
      await r.raw.zadd(k().sessionIndex(uid), T + HOUR, sid);
    }
    const fresh = newSession(T + 10, { id: 'the-new-one' });
    await r.stores.accounts.writeSession(write(uid, fresh, { profile: profile(`sub-${uid}`), maxSessions: c.max, mustExist: true }));
    const remaining = await r.raw.zrange(k().sessionIndex(uid), 0, -1);
    const ended = c.others.map(([sid]) => sid).filter((sid) => !remaining.includes(sid));
    expect(ended.sort()).toEqual([...c.ends].sort());
    for (const sid of ended) expect(await r.raw.exists(k().session(uid, sid))).toBe(0);
    expect(remaining).toContain('the-new-one');
  });

  it.each([
    ['never refreshed nor touched, at creation', null, null, 0],
    ['never refreshed nor touched, later', null, null, 1],
    ['touched later than now', null, 500, 400],
    ['refreshed later than now', 500, null, 400],
    ['refreshed, then touched earlier than the refresh', 500, 200, 450],
    ['after both', 500, 200, 501],
  ] as const)('touch-session.lua: %s', async (_name, rotatedAt, touchedAt, at) => {
    const uid = `user${++n}`;
    const key = k().session(uid, 's');
    await r.raw.hset(key, 'rh', 'h', 'c', String(T), 'e', String(T + HOUR), 'r', String(T + HOUR));
    if (rotatedAt !== null) await r.raw.hset(key, 'rt', String(T + rotatedAt));
    if (touchedAt !== null) await r.raw.hset(key, 'ls', String(T + touchedAt));
    const applies = touchApplies({ createdAt: T, rotatedAt: rotatedAt === null ? null : T + rotatedAt, touchedAt: touchedAt === null ? null : T + touchedAt }, T + at);
    await r.stores.accounts.touchSession(uid, 's', T + at);
    expect(await r.raw.hget(key, 'ls')).toBe(applies ? String(T + at) : touchedAt === null ? null : String(T + touchedAt));
  });
});
