import { describe, expect, it } from '@jest/globals';
import { keyLayout } from '../../src/store/keys.js';
import { usePrivateRedis } from '../support/env.js';
import { MIN, idToken, meta, newProfile, type Harness, useHarnesses } from './harness.js';

/** refreshSession as one use case (src/sessions/refresh.ts), on a real Redis with a controllable clock. */
const redis = usePrivateRedis();

describe('RefreshSession', () => {
  const hs = useHarnesses(redis);
  const make = hs.make;
  const signIn = (h: Harness) => h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(newProfile(), h.clock), nonce: null, meta });

  it('inactivity: a session not refreshed within REFRESH_TOKEN_TTL ends, even before Redis drops it', async () => {
    const h = await make();
    const a = await signIn(h);
    h.clock.advance(60 * MIN); // refresh lifetime 60 min reached; Redis keeps the key by its own clock
    await expect(h.refresh.refresh({ refreshToken: a.refreshToken, meta })).rejects.toMatchObject({ reason: 'invalid_refresh_token' });
  });

  it('sliding: each refresh extends the inactivity deadline, up to the absolute lifetime and no further', async () => {
    const h = await make();
    const t0 = h.clock.t;
    let r = await signIn(h);
    for (let i = 0; i < 3; i++) {
      h.clock.advance(50 * MIN);
      r = await h.refresh.refresh({ refreshToken: r.refreshToken, meta });
      expect(r.refreshTokenExpiresAt).toBe(Math.min(h.clock.t + 60 * MIN, t0 + 180 * MIN));
    }
    expect(r.refreshTokenExpiresAt).toBe(t0 + 180 * MIN); // capped at the absolute lifetime
    h.clock.t = t0 + 175 * MIN;
    const last = await h.refresh.refresh({ refreshToken: r.refreshToken, meta });
    h.clock.t = t0 + 180 * MIN;
    await expect(h.sessions.authenticate(last.accessToken)).rejects.toMatchObject({ reason: 'session_expired' });
    await expect(h.refresh.refresh({ refreshToken: last.refreshToken, meta })).rejects.toMatchObject({ reason: 'invalid_refresh_token' });
  });

  it('a retry within the grace period gets the same successor; the spent token later ends the session (refresh_token_reused)', async () => {
    const h = await make();
    const a = await signIn(h);
    const next = await h.refresh.refresh({ refreshToken: a.refreshToken, meta });
    h.clock.advance(10_000);
    const retry = await h.refresh.refresh({ refreshToken: a.refreshToken, meta });
    expect(retry.refreshToken).toBe(next.refreshToken);
    expect(retry.user).toEqual(next.user);
    h.clock.advance(1);
    await expect(h.refresh.refresh({ refreshToken: a.refreshToken, meta })).rejects.toMatchObject({ reason: 'refresh_token_reused' });
    await expect(h.sessions.authenticate(next.accessToken)).rejects.toMatchObject({ reason: 'session_revoked' });
    await expect(h.refresh.refresh({ refreshToken: next.refreshToken, meta })).rejects.toMatchObject({ reason: 'invalid_refresh_token' });
    expect(h.counted.refresh.map((o) => o.ok)).toEqual([true, true, false, false]);
  });

  it('the session’s refresh budget: counted on success only; an over-budget refresh is refused and does not spend the token', async () => {
    const h = await make({ rateLimits: { refreshPerSession: { limit: 2, windowMs: 60_000 } } });
    let r = await signIn(h);
    const [uid, sid] = r.refreshToken.split('.');
    // Guesses naming this session spend nothing of its budget.
    for (let i = 0; i < 3; i++) {
      await expect(h.refresh.refresh({ refreshToken: `${uid}.${sid}.${'B'.repeat(43)}`, meta })).rejects.toMatchObject({ reason: 'invalid_refresh_token' });
    }
    for (let i = 0; i < 2; i++) r = await h.refresh.refresh({ refreshToken: r.refreshToken, meta });
    const before = await hs.raw.hgetall(keyLayout(h.prefix).session(uid!, sid!));
    await expect(h.refresh.refresh({ refreshToken: r.refreshToken, meta })).rejects.toMatchObject({
      message: 'This session is refreshed too often; retry later.',
      extensions: { code: 'RATE_LIMITED', retryAfter: 30 },
    });
    expect(await hs.raw.hgetall(keyLayout(h.prefix).session(uid!, sid!))).toEqual(before);
    h.clock.advance(30_000);
    await expect(h.refresh.refresh({ refreshToken: r.refreshToken, meta })).resolves.toMatchObject({ user: { id: uid } });
  });

  it('a disabled account is refused (account_disabled) and its token is not spent', async () => {
    const h = await make();
    const a = await signIn(h);
    const key = keyLayout(h.prefix).session(a.user.id, a.refreshToken.split('.')[1]!);
    // The flag alone (as an interrupted operator command could leave it).
    await hs.raw.hset(keyLayout(h.prefix).user(a.user.id), 'd', '1');
    const before = await hs.raw.hgetall(key);
    await expect(h.refresh.refresh({ refreshToken: a.refreshToken, meta })).rejects.toMatchObject({ reason: 'account_disabled' });
    await expect(h.sessions.authenticate(a.accessToken)).rejects.toMatchObject({ reason: 'account_disabled' });
    expect(await hs.raw.hgetall(key)).toEqual(before);
  });

  it('rejected refresh tokens spend the address’s failure budget; a refused (rate-limited) refresh does not', async () => {
    const h = await make({ rateLimits: { authFailuresPerAddress: { limit: 2, windowMs: 60_000 }, refreshPerSession: { limit: 1, windowMs: 60_000 } } });
    const a = await signIn(h);
    const b = await h.refresh.refresh({ refreshToken: a.refreshToken, meta });
    for (let i = 0; i < 3; i++) await expect(h.refresh.refresh({ refreshToken: b.refreshToken, meta })).rejects.toMatchObject({ extensions: { code: 'RATE_LIMITED' } });
    await expect(h.refresh.refresh({ refreshToken: 'junk', meta })).rejects.toMatchObject({ reason: 'invalid_refresh_token' });
    const c = await signIn(h); // a session whose budget is unspent: a wrong secret for it is a rejected token
    await expect(h.refresh.refresh({ refreshToken: `${c.refreshToken.slice(0, -4)}AAAA`, meta })).rejects.toMatchObject({ reason: 'invalid_refresh_token' });
    await expect(h.refresh.refresh({ refreshToken: b.refreshToken, meta })).rejects.toMatchObject({ extensions: { code: 'RATE_LIMITED', retryAfter: 30 } });
    expect(await h.rateLimits.checkSignIn(meta.clientAddress).catch((e: unknown) => e)).toMatchObject({ message: 'Too many rejected tokens from this network; retry later.' });
  });
});
