import { afterAll, describe, expect, it } from '@jest/globals';
import { LAST_SEEN_RESOLUTION_MS, lastSeenAt } from '../../src/sessions/policy.js';
import type { Stores } from '../../src/store/types.js';
import { usePrivateRedis } from '../support/env.js';
import { MIN, harness, idToken, meta, newProfile, overriding, type Harness, type HarnessOptions } from './harness.js';

/** Authenticated requests and the caller's sessions (src/sessions/session-service.ts), on a real Redis. */
const redis = usePrivateRedis();

describe('SessionService', () => {
  const open: Harness[] = [];
  async function make(opts: Partial<HarnessOptions> = {}) {
    const h = await harness({ url: redis.url, ...opts });
    open.push(h);
    return h;
  }
  afterAll(async () => {
    for (const h of open) await h.close();
  });
  /** Counts the activity writes that reach the store. */
  function counting(): { wrap: (s: Stores) => Stores; touches: () => number } {
    let touches = 0;
    return {
      wrap: (s) =>
        overriding(s, {
          accounts: {
            touchSession: (uid, sid, now) => {
              touches++;
              return s.accounts.touchSession(uid, sid, now);
            },
          },
        }),
      touches: () => touches,
    };
  }
  const signIn = (h: Harness) => h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(newProfile(), h.clock), nonce: null, meta });

  describe('lastSeenAt', () => {
    it('is written at most once a minute per session, never on every request, and not waited for', async () => {
      const c = counting();
      const h = await make({ wrap: c.wrap });
      const t0 = h.clock.t;
      const { accessToken } = await signIn(h);
      for (let i = 0; i < 10; i++) {
        h.clock.advance(5_000);
        await h.sessions.authenticate(accessToken);
      }
      expect(c.touches()).toBe(0); // 50 s: nothing written

      h.clock.t = t0 + LAST_SEEN_RESOLUTION_MS;
      const many = await Promise.all(Array.from({ length: 20 }, () => h.sessions.authenticate(accessToken)));
      expect(c.touches()).toBe(1); // 20 concurrent requests, one write
      expect(lastSeenAt(many[0]!.session)).toBe(t0 + LAST_SEEN_RESOLUTION_MS);
      await h.sessions.settled();
      const stored = async () => lastSeenAt((await h.sessions.listSessions(many[0]!))[0]!);
      expect(await stored()).toBe(t0 + LAST_SEEN_RESOLUTION_MS);

      h.clock.advance(30_000);
      await h.sessions.authenticate(accessToken);
      expect(c.touches()).toBe(1); // the stored value is now recent: no write
      h.clock.advance(31_000);
      await h.sessions.authenticate(accessToken);
      expect(c.touches()).toBe(2);
      await h.sessions.settled();
      expect(await stored()).toBe(h.clock.t);
    });

    it('counts a refresh as activity, so a request right after one writes nothing', async () => {
      const c = counting();
      const h = await make({ wrap: c.wrap });
      const { refreshToken } = await signIn(h);
      h.clock.advance(10 * MIN);
      const r = await h.refresh.refresh({ refreshToken, meta });
      await h.sessions.authenticate(r.accessToken);
      expect(c.touches()).toBe(0);
    });

    it('a failed write does not fail the request; it is logged without the token', async () => {
      const h = await make({ wrap: (s) => overriding(s, { accounts: { touchSession: async () => Promise.reject(new Error('redis went away')) } }) });
      const { accessToken } = await signIn(h);
      h.clock.advance(2 * MIN);
      await expect(h.sessions.authenticate(accessToken)).resolves.toMatchObject({ session: { touchedAt: h.clock.t } });
      await h.sessions.settled();
      expect(h.warnings).toEqual([{ err: new Error('redis went away') }]);
      expect(JSON.stringify(h.warnings)).not.toContain(accessToken);
    });
  });

  describe('authenticate', () => {
    it('answers the reason the policy gives: disabled first, then revoked, expired', async () => {
      const h = await make();
      const a = await signIn(h);
      const b = await signIn(h);
      await h.sessions.signOut(await h.sessions.authenticate(b.accessToken));
      await expect(h.sessions.authenticate(b.accessToken)).rejects.toMatchObject({ reason: 'session_revoked' });
      await h.stores.accounts.setAccountState(a.user.id, 'disabled', Date.now());
      await expect(h.sessions.authenticate(a.accessToken)).rejects.toMatchObject({ reason: 'account_disabled' });
      await expect(h.sessions.authenticate('not-a-token')).rejects.toMatchObject({ reason: 'invalid_token' });
    });
  });

  describe('revokeSession', () => {
    it('answers false for malformed ids without asking the store, and for other users’ sessions', async () => {
      const h = await make();
      const a = await signIn(h);
      const b = await signIn(h);
      const pa = await h.sessions.authenticate(a.accessToken);
      const pb = await h.sessions.authenticate(b.accessToken);
      for (const bad of ['', 'x', '{x}', 'a'.repeat(10_000), `${pb.session.id}:x`]) expect(await h.sessions.revokeSession(pa, bad)).toBe(false);
      expect(await h.sessions.revokeSession(pa, pb.session.id)).toBe(false);
      await expect(h.sessions.authenticate(b.accessToken)).resolves.toMatchObject({ user: { id: b.user.id } });
      expect(await h.sessions.revokeSession(pa, pa.session.id)).toBe(true);
      await expect(h.sessions.authenticate(a.accessToken)).rejects.toMatchObject({ reason: 'session_revoked' });
    });
  });

  describe('listing and ending the caller’s sessions', () => {
    it('lists live sessions newest first; signs out the others, or all', async () => {
      const h = await make();
      const p = newProfile();
      const s1 = await h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce: null, meta });
      h.clock.advance(1000);
      const s2 = await h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce: null, meta });
      h.clock.advance(1000);
      const s3 = await h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce: null, meta });
      const me = await h.sessions.authenticate(s2.accessToken);
      const sid = (x: { refreshToken: string }) => x.refreshToken.split('.')[1];
      expect((await h.sessions.listSessions(me)).map((s) => s.id)).toEqual([sid(s3), sid(s2), sid(s1)]);
      expect(await h.sessions.signOutOtherSessions(me)).toBe(2);
      expect((await h.sessions.listSessions(me)).map((s) => s.id)).toEqual([sid(s2)]);
      expect(await h.sessions.signOutEverywhere(me)).toBe(1);
      await expect(h.sessions.authenticate(s2.accessToken)).rejects.toMatchObject({ reason: 'session_revoked' });
    });
  });
});
