import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { keyLayout } from '../../src/store/keys.js';
import type { SessionWrite, Stores } from '../../src/store/types.js';
import { usePrivateRedis } from '../support/env.js';
import { RoundTripProxy } from '../store/round-trip-proxy.js';
import { MIN, idToken, meta, newProfile, overriding, type Harness, useHarnesses } from './harness.js';
import { signal } from '../support/signal.js';

/** signInWithGoogle as one use case (src/sessions/sign-in.ts), on a real Redis. */
const redis = usePrivateRedis();

describe('SignInWithGoogle', () => {
  const hs = useHarnesses(redis);
  const make = hs.make;
  const keysOf = async (h: Harness, uid: string) => {
    const all: string[] = [];
    for (let cursor = '0'; ; ) {
      const [next, batch] = await hs.raw.scan(cursor, 'MATCH', `${h.prefix}*`, 'COUNT', 1000);
      all.push(...batch);
      if ((cursor = next) === '0') break;
    }
    return all.filter((k) => k.includes(uid));
  };

  it('creates the account on the first sign-in and signs the same Google account into it again', async () => {
    const h = await make();
    const p = newProfile();
    const first = await h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce: null, meta });
    const again = await h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce: null, meta });
    expect([first.isNewUser, again.isNewUser]).toEqual([true, false]);
    expect(again.user.id).toBe(first.user.id);
    expect(await h.stores.identities.get('google', p.sub)).toBe(first.user.id);
    const me = await h.sessions.authenticate(again.accessToken);
    expect(me.session).toMatchObject({ userAgent: 'test-agent', clientAddress: '203.0.113.9' });
    expect(first.refreshTokenExpiresAt).toBe(h.clock.t + 60 * MIN);
    expect(h.counted.signIn).toEqual([
      { ok: true, value: first },
      { ok: true, value: again },
    ]);
  });

  describe('order of the checks, and what each refusal costs', () => {
    it('an address over its attempt budget is refused before verification, and nothing is written', async () => {
      const h = await make({ rateLimits: { signInPerAddress: { limit: 1, windowMs: 60_000 } } });
      await h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(newProfile(), h.clock), nonce: null, meta });
      const p = newProfile();
      await expect(h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce: null, meta })).rejects.toMatchObject({ extensions: { code: 'RATE_LIMITED', retryAfter: 60 } });
      expect(h.verifications()).toBe(1);
      expect(await h.stores.identities.get('google', p.sub)).toBeNull();
      expect(h.counted.signIn[1]).toMatchObject({ ok: false, error: { extensions: { code: 'RATE_LIMITED' } } });
    });

    it('without a required server nonce the token is not even verified (nonce_required)', async () => {
      const h = await make({ requireNonce: true });
      await expect(h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(newProfile(), h.clock), nonce: 'client-made', meta })).rejects.toMatchObject({ reason: 'nonce_required' });
      expect(h.verifications()).toBe(0);
    });

    it('rejected tokens, unknown nonces and replays spend the address’s failure budget; a disabled account does not', async () => {
      const h = await make({ rateLimits: { authFailuresPerAddress: { limit: 3, windowMs: 60_000 } }, rejectReplayedIdTokens: true });
      const p = newProfile();
      const token = idToken(p, h.clock);
      const first = await h.signIn.signIn({ provider: 'google', names: null, idToken: token, nonce: null, meta });
      await h.stores.accounts.setAccountState(first.user.id, 'disabled', Date.now());
      await expect(h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce: null, meta })).rejects.toMatchObject({ reason: 'account_disabled' });
      await expect(h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce: null, meta })).rejects.toMatchObject({ reason: 'account_disabled' });
      await expect(h.signIn.signIn({ provider: 'google', names: null, idToken: 'not-a-token', nonce: null, meta })).rejects.toMatchObject({ reason: 'malformed' });
      await expect(h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(newProfile(), h.clock), nonce: `sn_${'A'.repeat(43)}`, meta })).rejects.toMatchObject({ reason: 'invalid_nonce' });
      await expect(h.signIn.signIn({ provider: 'google', names: null, idToken: token, nonce: null, meta })).rejects.toMatchObject({ reason: 'replayed' });
      // Three rejected credentials: the address is spent, even for a good token.
      await expect(h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(newProfile(), h.clock), nonce: null, meta })).rejects.toMatchObject({ extensions: { code: 'RATE_LIMITED', retryAfter: 20 } });
      expect(h.counted.signIn.map((o) => (o.ok ? 'ok' : (o.error as { extensions: { reason?: string; code: string } }).extensions.reason ?? 'limited'))).toEqual([
        'ok',
        'account_disabled',
        'account_disabled',
        'malformed',
        'invalid_nonce',
        'replayed',
        'limited',
      ]);
    });

    it('the account’s sign-in budget is spent only by admitted sign-ins, and a refused sign-in writes nothing', async () => {
      const h = await make({ rateLimits: { signInPerAccount: { limit: 2, windowMs: 60_000 } } });
      const p = newProfile();
      const first = await h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce: null, meta });
      h.clock.advance(1000);
      await h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce: null, meta });
      const before = await hs.raw.hgetall(keyLayout(h.prefix).user(first.user.id));
      h.clock.advance(1000);
      await expect(h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce: null, meta })).rejects.toMatchObject({
        message: 'Too many sign-ins to this account; retry later.',
        extensions: { code: 'RATE_LIMITED', retryAfter: 28 },
      });
      expect(await hs.raw.hgetall(keyLayout(h.prefix).user(first.user.id))).toEqual(before);
      expect(await hs.raw.zcard(keyLayout(h.prefix).sessionIndex(first.user.id))).toBe(2);
    });

    it('a disabled account is refused and nothing of it changes', async () => {
      const h = await make();
      const p = newProfile();
      const a = await h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce: null, meta });
      // The flag alone (as an interrupted operator command could leave it): sign-in still refuses.
      await hs.raw.hset(keyLayout(h.prefix).user(a.user.id), 'd', '1');
      await expect(h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce: null, meta })).rejects.toMatchObject({ reason: 'account_disabled' });
      expect(await hs.raw.zcard(keyLayout(h.prefix).sessionIndex(a.user.id))).toBe(1);
    });

    it('keeps at most maxSessionsPerUser sessions; the oldest ends first', async () => {
      const h = await make({ maxSessionsPerUser: 2 });
      const p = newProfile();
      const first = await h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce: null, meta });
      h.clock.advance(1000);
      const second = await h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce: null, meta });
      h.clock.advance(1000);
      const third = await h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce: null, meta });
      await expect(h.sessions.authenticate(first.accessToken)).rejects.toMatchObject({ reason: 'session_revoked' });
      await expect(h.sessions.authenticate(second.accessToken)).resolves.toMatchObject({ session: { id: second.refreshToken.split('.')[1] } });
      expect(await h.sessions.listSessions(await h.sessions.authenticate(third.accessToken))).toHaveLength(2);
    });
  });

  describe('races with the identity link', () => {
    it('deletion: a sign-in that found the link just before the account was deleted gets a fresh account and leaves nothing of the old one', async () => {
      let victim: string | null = null;
      const h = await make({
        wrap: (s) =>
          overriding(s, {
            identities: {
              // Interleave: the account is deleted right after this sign-in looked its link up
              // (sign-in takes its link with the identity's security state: signInLink).
              signInLink: async (provider, subject, candidate, issuedAt) => {
                const got = await s.identities.signInLink(provider, subject, candidate, issuedAt);
                if (got.kind === 'linked' && got.userId === victim) {
                  victim = null;
                  await s.identities.unlink(provider, subject, got.userId);
                  await s.accounts.setAccountState(got.userId, 'deleted', Date.now());
                }
                return got;
              },
            },
          }),
      });
      const p = newProfile();
      const first = await h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce: null, meta });
      victim = first.user.id;
      const second = await h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce: null, meta });
      expect(second.isNewUser).toBe(true);
      expect(second.user.id).not.toBe(first.user.id);
      // Nothing of the deleted account came back: only the marker that retires its id.
      expect(await keysOf(h, first.user.id)).toEqual([keyLayout(h.prefix).retired(first.user.id)]);
      expect(await h.stores.identities.get('google', p.sub)).toBe(second.user.id);
      await expect(h.sessions.authenticate(second.accessToken)).resolves.toMatchObject({ user: { id: second.user.id } });
    });

    it('two first sign-ins at once: one account, both sessions in it, one of them reports a new user', async () => {
      // Hold the first writer (who linked the account) until the second has written.
      const held = signal();
      let writes = 0;
      const h = await make({
        wrap: (s) =>
          overriding(s, {
            accounts: {
              writeSession: async (w: SessionWrite) => {
                if (writes++ === 0) await held.reached;
                return s.accounts.writeSession(w);
              },
            },
          }),
      });
      const p = newProfile();
      const a = h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce: null, meta });
      await new Promise((r) => setImmediate(r));
      while (writes === 0) await new Promise((r) => setImmediate(r));
      const b = await h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce: null, meta });
      held.fire();
      const first = await a;
      expect(b.user.id).toBe(first.user.id);
      expect([first.isNewUser, b.isNewUser].sort()).toEqual([false, true]);
      expect(await h.stores.identities.get('google', p.sub)).toBe(first.user.id);
      for (const s of [first, b]) await expect(h.sessions.authenticate(s.accessToken)).resolves.toMatchObject({ user: { id: first.user.id } });
      expect(await hs.raw.zcard(keyLayout(h.prefix).sessionIndex(first.user.id))).toBe(2);
    });

    it('a link to an account that was never written (its sign-in failed after linking) is the account: the next sign-in creates it', async () => {
      const h = await make();
      const p = newProfile();
      await h.stores.identities.link('google', p.sub, 'AbandonedAbandonedAbA1');
      const s = await h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce: null, meta });
      expect(s).toMatchObject({ isNewUser: true, user: { id: 'AbandonedAbandonedAbA1' } });
    });
  });

  describe('round trips (counted by a relay that delays every reply)', () => {
    let proxy: RoundTripProxy;
    beforeAll(async () => {
      proxy = new RoundTripProxy(redis.server.port);
      await proxy.start();
    });
    afterAll(async () => {
      await proxy.stop();
    });

    it('sign-in: 3 for a new account, 3 for a returning one, 3 with a server nonce and single-use ID tokens; refresh 2; a request 1', async () => {
      const h = await make({ url: proxy.url, rejectReplayedIdTokens: true });
      const warm = await h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(newProfile(), h.clock), nonce: null, meta }); // loads the scripts
      await h.refresh.refresh({ refreshToken: warm.refreshToken, meta });
      await h.stores.accounts.touchSession(warm.user.id, 'x'.repeat(22), h.clock.t);
      const p = newProfile();
      let created: { accessToken: string; refreshToken: string } | null = null;
      expect(await proxy.count(async () => (created = await h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce: null, meta })))).toBe(3);
      expect(await proxy.count(() => h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce: null, meta }))).toBe(3);
      const { nonce } = await h.nonces.create();
      expect(await proxy.count(() => h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(p, h.clock), nonce, meta }))).toBe(3);
      expect(await proxy.count(() => h.refresh.refresh({ refreshToken: created!.refreshToken, meta }))).toBe(2);
      h.clock.advance(2 * MIN);
      expect(await proxy.count(() => h.sessions.authenticate(created!.accessToken))).toBe(1); // the activity write is not waited for
      await h.sessions.settled();
    });
  });

  it('store trouble is SERVICE_UNAVAILABLE and counted as such', async () => {
    const h = await make({
      wrap: (s: Stores) => overriding(s, { accounts: { writeSession: async () => Promise.reject(new Error('connection lost')) } }),
    });
    await expect(h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(newProfile(), h.clock), nonce: null, meta })).rejects.toMatchObject({
      extensions: { code: 'SERVICE_UNAVAILABLE', reason: 'store_unavailable' },
    });
    expect(h.counted.signIn).toEqual([{ ok: false, error: expect.objectContaining({ extensions: { code: 'SERVICE_UNAVAILABLE', reason: 'store_unavailable' } }) }]);
  });
});
