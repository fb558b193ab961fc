import { describe, expect, it } from '@jest/globals';
import {
  LAST_SEEN_RESOLUTION_MS,
  accountRevocation,
  checkAccess,
  decideRotation,
  decideSessionWrite,
  isLive,
  lastSeenAt,
  newSessionTimes,
  newestFirst,
  sessionsEnding,
  sessionsOverCap,
  shouldRecordActivity,
  touchApplies,
  type SessionRules,
} from '../../src/sessions/policy.js';
import { FakeClock } from '../support/fake-google.js';
import { CAP_CASES, ROTATION_CASES, ROTATION_REFRESH_TTL_MS, T, WRITE_CASES } from './policy-cases.js';

/** src/sessions/policy.ts, every branch, from tables (the Lua mirror runs the same tables: test/store/policy-mirror.test.ts). */
const HOUR = 3_600_000;
const rules: SessionRules = { refreshTtlMs: 30 * 24 * HOUR, maxLifetimeMs: 90 * 24 * HOUR, refreshGraceMs: 10_000, maxSessionsPerUser: 100 };

describe('session policy', () => {
  describe('sign-in', () => {
    it('gives a new session its times: absolute end = now + SESSION_MAX_LIFETIME, refresh end = now + REFRESH_TOKEN_TTL', () => {
      expect(newSessionTimes(T, rules)).toEqual({ createdAt: T, expiresAt: T + 90 * 24 * HOUR, refreshExpiresAt: T + 30 * 24 * HOUR });
    });

    it('never gives the first refresh token a life past the absolute end', () => {
      expect(newSessionTimes(T, { ...rules, refreshTtlMs: 100 * 24 * HOUR })).toEqual({ createdAt: T, expiresAt: T + 90 * 24 * HOUR, refreshExpiresAt: T + 90 * 24 * HOUR });
    });

    it.each(WRITE_CASES)('admission: $name', (c) => {
      expect(decideSessionWrite({ user: c.user, retired: c.retired, stored: c.stored, subject: c.subject, mustExist: c.mustExist, now: c.now, limit: c.limit })).toEqual(c.expected);
    });

    it.each(CAP_CASES)('the session cap: $name', (c) => {
      expect(sessionsOverCap(c.others.map(([id, createdAt]) => ({ id, createdAt })), c.max)).toEqual(c.ends);
    });
  });

  describe('refresh', () => {
    it.each(ROTATION_CASES)('rotation: $name', (c) => {
      expect(
        decideRotation({
          session: c.session,
          user: c.user,
          graceBoxPresent: c.graceBoxPresent,
          presentedHash: c.presentedHash,
          now: c.now,
          graceMs: c.graceMs,
          refreshTtlMs: ROTATION_REFRESH_TTL_MS,
          limit: c.limit,
        }),
      ).toEqual(c.expected);
    });
  });

  describe('requests', () => {
    const session = { createdAt: T, expiresAt: T + 2 * HOUR, refreshExpiresAt: T + HOUR };
    const user = { disabled: false };

    it.each([
      ['a live session of an enabled account', session, user, T, null],
      ['a disabled account, whatever the session (its reason comes first)', null, { disabled: true }, T, 'account_disabled'],
      ['a disabled account with a live session', session, { disabled: true }, T, 'account_disabled'],
      ['no session (signed out, revoked, or dropped by its TTL)', null, user, T, 'session_revoked'],
      ['the absolute end reached', session, user, T + 2 * HOUR, 'session_expired'],
      ['the absolute end reached, even past the refresh end', { ...session, refreshExpiresAt: T + 2 * HOUR }, user, T + 3 * HOUR, 'session_expired'],
      ['the refresh end reached (Redis had not dropped it yet: clock skew)', session, user, T + HOUR, 'session_revoked'],
      ['the account is gone but its session was read', session, null, T, 'account_not_found'],
    ] as const)('access: %s', (_name, s, u, now, expected) => {
      expect(checkAccess(s, u, now)).toBe(expected);
    });

    it('lastSeenAt is the latest of sign-in, refresh and recorded request', () => {
      expect(lastSeenAt({ createdAt: T, rotatedAt: null, touchedAt: null })).toBe(T);
      expect(lastSeenAt({ createdAt: T, rotatedAt: T + 5, touchedAt: null })).toBe(T + 5);
      expect(lastSeenAt({ createdAt: T, rotatedAt: T + 5, touchedAt: T + 9 })).toBe(T + 9);
      expect(lastSeenAt({ createdAt: T, rotatedAt: T + 9, touchedAt: T + 5 })).toBe(T + 9);
    });

    it('a request records activity once lastSeenAt is a minute old, and a recorded time only moves forward', () => {
      const clock = new FakeClock(T);
      const s = { createdAt: T, rotatedAt: null as number | null, touchedAt: null as number | null };
      clock.advance(LAST_SEEN_RESOLUTION_MS - 1);
      expect(shouldRecordActivity(s, clock.t)).toBe(false);
      clock.advance(1);
      expect(shouldRecordActivity(s, clock.t)).toBe(true);
      s.touchedAt = clock.t;
      expect(shouldRecordActivity(s, clock.t + 30_000)).toBe(false);
      s.rotatedAt = clock.t + 50_000; // a refresh is activity too
      expect(shouldRecordActivity(s, clock.t + LAST_SEEN_RESOLUTION_MS)).toBe(false);
      expect(touchApplies(s, clock.t + 50_000)).toBe(false);
      expect(touchApplies(s, clock.t + 50_001)).toBe(true);
      expect(touchApplies(s, T)).toBe(false);
    });

    it('a session lives until the earlier of its refresh end and absolute end', () => {
      expect(isLive(session, T + HOUR - 1)).toBe(true);
      expect(isLive(session, T + HOUR)).toBe(false);
      expect(isLive({ ...session, expiresAt: T + 1 }, T + 1)).toBe(false);
    });

    it('lists newest first, ties by id', () => {
      const list = [
        { id: 'b', createdAt: 1 },
        { id: 'c', createdAt: 3 },
        { id: 'a', createdAt: 1 },
      ];
      expect([...list].sort(newestFirst).map((s) => s.id)).toEqual(['c', 'a', 'b']);
    });
  });

  describe('revocation', () => {
    const indexed = ['s1', 's2', 's3'];
    it.each([
      ['one session (revokeSession, signOut)', { kind: 'session', sessionId: 's2' }, ['s2']],
      ['one session the index no longer lists', { kind: 'session', sessionId: 's9' }, ['s9']],
      ['every other session (signOutOtherSessions)', { kind: 'others', keep: 's2' }, ['s1', 's3']],
      ['all of them (signOutEverywhere)', { kind: 'all' }, ['s1', 's2', 's3']],
    ] as const)('%s', (_name, r, ends) => {
      expect(sessionsEnding(r, indexed)).toEqual(ends);
    });

    it('disabling and deleting an account end all its sessions; enabling ends none', () => {
      expect(accountRevocation('disabled')).toEqual({ kind: 'all' });
      expect(accountRevocation('deleted')).toEqual({ kind: 'all' });
      expect(accountRevocation('enabled')).toBeNull();
    });
  });
});
