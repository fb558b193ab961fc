import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { generateKeyPair, SignJWT } from 'jose';
import { SIGN_IN_NONCE_TTL_MS, SignInGuards } from '../../src/sessions/sign-in-guards.js';
import { keyLayout } from '../../src/store/keys.js';
import { createRedisClient, createRedisStores, whenReady } from '../../src/store/redis/index.js';
import type { Stores } from '../../src/store/types.js';
import { FakeClock } from '../support/fake-google.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';

const redis = usePrivateRedis();
const log = { error: () => undefined };

/** A signed token, unique per call (the guards run after verification, so only its shape and `exp` matter here). */
async function token(clock: FakeClock, claims: Record<string, unknown> = {}): Promise<string> {
  const { privateKey } = await keys;
  const iat = Math.floor(clock.t / 1000);
  return new SignJWT({ sub: 'someone', jti: randomUUID(), ...claims }).setProtectedHeader({ alg: 'RS256', kid: 'k' }).setIssuedAt(iat).setExpirationTime(iat + 3600).sign(privateKey);
}
const keys = generateKeyPair('RS256');

/** The same token with its signature spelled differently (unused low bits of the last base64url character). */
function respelled(t: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const i = alphabet.indexOf(t.at(-1)!);
  return t.slice(0, -1) + alphabet[(i & ~0xf) | ((i + 1) & 0xf)];
}

describe('SignInGuards', () => {
  let stores: Stores;
  let raw: Redis;
  let prefix: string;
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
  const guards = (clock: FakeClock, over: { requireNonce?: boolean; rejectReplayedIdTokens?: boolean } = {}) =>
    new SignInGuards({ store: stores.signInGuards, requireNonce: false, rejectReplayedIdTokens: false, log, now: clock.now, ...over });

  describe('nonces', () => {
    it('issues 256-bit server nonces that live 10 minutes, stored only as a hash', async () => {
      const clock = new FakeClock();
      const { nonce, expiresAt } = await guards(clock).createNonce();
      expect(nonce).toMatch(/^sn_[A-Za-z0-9_-]{43}$/);
      expect(expiresAt).toBe(clock.t + SIGN_IN_NONCE_TTL_MS);
      const hashed = createHash('sha256').update(nonce).digest('base64url');
      expect(await raw.exists(keyLayout(prefix).nonce(hashed))).toBe(1);
      expect(await raw.exists(keyLayout(prefix).nonce(nonce))).toBe(0);
      expect((await guards(clock).createNonce()).nonce).not.toBe(nonce);
    });

    it('a server nonce signs in once; a second use, an unknown one and an expired one are invalid_nonce', async () => {
      const clock = new FakeClock();
      const g = guards(clock);
      const { nonce } = await g.createNonce();
      await expect(g.afterVerification(await token(clock), nonce)).resolves.toBeUndefined();
      await expect(g.afterVerification(await token(clock), nonce)).rejects.toMatchObject({ reason: 'invalid_nonce' });
      const unknown = `sn_${'A'.repeat(43)}`;
      await expect(g.afterVerification(await token(clock), unknown)).rejects.toMatchObject({ reason: 'invalid_nonce' });
      const late = await g.createNonce();
      clock.advance(SIGN_IN_NONCE_TTL_MS);
      await expect(g.afterVerification(await token(clock), late.nonce)).rejects.toMatchObject({ reason: 'invalid_nonce' });
    });

    it('lets one of 10 concurrent sign-ins with one nonce through', async () => {
      const clock = new FakeClock();
      const g = guards(clock);
      const { nonce } = await g.createNonce();
      const tokens = await Promise.all(Array.from({ length: 10 }, () => token(clock)));
      const results = await Promise.allSettled(tokens.map((t) => g.afterVerification(t, nonce)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ reason: 'invalid_nonce' });
    });

    it('without REQUIRE_SIGN_IN_NONCE, client nonces pass untouched (nothing stored, reusable)', async () => {
      const clock = new FakeClock();
      const g = guards(clock);
      for (const n of [null, 'client-made', 'sn_short']) {
        expect(() => g.checkNonce(n)).not.toThrow();
        await g.afterVerification(await token(clock), n);
        await g.afterVerification(await token(clock), n);
      }
    });

    it('with REQUIRE_SIGN_IN_NONCE, no nonce or a client nonce is nonce_required before any verification', async () => {
      const clock = new FakeClock();
      const g = guards(clock, { requireNonce: true });
      for (const n of [null, '', 'client-made', `sn_${'A'.repeat(42)}`, `xx_${'A'.repeat(43)}`]) {
        expect(() => g.checkNonce(n)).toThrow(expect.objectContaining({ reason: 'nonce_required' }));
      }
      const { nonce } = await g.createNonce();
      expect(() => g.checkNonce(nonce)).not.toThrow();
      await expect(g.afterVerification(await token(clock), nonce)).resolves.toBeUndefined();
    });
  });

  describe('replayed ID tokens', () => {
    it('refuses the second sign-in with one token, however its signature is spelled', async () => {
      const clock = new FakeClock();
      const g = guards(clock, { rejectReplayedIdTokens: true });
      const t = await token(clock);
      await g.afterVerification(t, null);
      await expect(g.afterVerification(t, null)).rejects.toMatchObject({ reason: 'replayed' });
      expect(respelled(t)).not.toBe(t);
      await expect(g.afterVerification(respelled(t), null)).rejects.toMatchObject({ reason: 'replayed' });
      await expect(g.afterVerification(await token(clock, { sub: 'other' }), null)).resolves.toBeUndefined();
    });

    it('remembers a token until it expires plus the 60 s of allowed skew', async () => {
      const clock = new FakeClock();
      const g = guards(clock, { rejectReplayedIdTokens: true });
      const t = await token(clock);
      await g.afterVerification(t, null);
      const signed = t.slice(0, t.lastIndexOf('.'));
      const ttl = await raw.pttl(keyLayout(prefix).usedIdToken(createHash('sha256').update(signed).digest('base64url')));
      const exp = (Math.floor(clock.t / 1000) + 3600 + 60) * 1000;
      expect(ttl).toBeGreaterThan(exp - clock.t - 5000);
      expect(ttl).toBeLessThanOrEqual(exp - clock.t);
    });

    it('lets one of 10 concurrent sign-ins with one token through', async () => {
      const clock = new FakeClock();
      const g = guards(clock, { rejectReplayedIdTokens: true });
      const t = await token(clock);
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => g.afterVerification(t, null)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    });

    it('is off by default: the same token signs in again', async () => {
      const clock = new FakeClock();
      const g = guards(clock);
      const t = await token(clock);
      await g.afterVerification(t, null);
      await expect(g.afterVerification(t, null)).resolves.toBeUndefined();
    });
  });

  it('store trouble is SERVICE_UNAVAILABLE, never an internal error', async () => {
    const clock = new FakeClock();
    const broken = new SignInGuards({
      store: { putNonce: () => Promise.reject(new Error('down')), consumeNonce: () => Promise.reject(new Error('down')), markIdTokenUsed: () => Promise.reject(new Error('down')) },
      requireNonce: false,
      rejectReplayedIdTokens: true,
      log,
      now: clock.now,
    });
    await expect(broken.createNonce()).rejects.toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE', reason: 'store_unavailable' } });
    await expect(broken.afterVerification(await token(clock), null)).rejects.toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' } });
  });
});
