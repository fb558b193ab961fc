import { describe, expect, it } from '@jest/globals';
import { createHash, randomUUID } from 'node:crypto';
import { generateKeyPair, SignJWT } from 'jose';
import { SIGN_IN_NONCE_TTL_MS, SignInNonces, UsedIdTokens } from '../../src/sessions/single-use.js';
import { keyLayout } from '../../src/store/keys.js';
import { FakeClock } from '../support/fake-google.js';
import { usePrivateRedis } from '../support/env.js';
import { useRedisStores } from '../support/redis-stores.js';

const redis = usePrivateRedis();
const log = { error: () => undefined };

/** A signed token, unique per call (these checks run after verification, so only its shape and `exp` matter here). */
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

describe('SignInNonces and UsedIdTokens', () => {
  const r = useRedisStores(redis);
  const nonces = (clock: FakeClock, requireNonce = false) => new SignInNonces({ store: r.stores.singleUse, requireNonce, log, now: clock.now });
  const used = (clock: FakeClock, enabled = true) => new UsedIdTokens({ store: r.stores.singleUse, enabled, log, now: clock.now });

  describe('nonces', () => {
    it('issues 256-bit server nonces that live 10 minutes, stored only as a hash', async () => {
      const clock = new FakeClock();
      const { nonce, expiresAt } = await nonces(clock).create();
      expect(nonce).toMatch(/^sn_[A-Za-z0-9_-]{43}$/);
      expect(expiresAt).toBe(clock.t + SIGN_IN_NONCE_TTL_MS);
      const hashed = createHash('sha256').update(nonce).digest('base64url');
      expect(await r.raw.exists(keyLayout(r.prefix).nonce(hashed))).toBe(1);
      expect(await r.raw.exists(keyLayout(r.prefix).nonce(nonce))).toBe(0);
      expect((await nonces(clock).create()).nonce).not.toBe(nonce);
    });

    it('a server nonce is spent once; a second use, an unknown one and an expired one are refused', async () => {
      const clock = new FakeClock();
      const n = nonces(clock);
      const { nonce } = await n.create();
      expect(await n.consume(nonce)).toBe(true);
      expect(await n.consume(nonce)).toBe(false);
      expect(await n.consume(`sn_${'A'.repeat(43)}`)).toBe(false);
      const late = await n.create();
      clock.advance(SIGN_IN_NONCE_TTL_MS);
      expect(await n.consume(late.nonce)).toBe(false);
    });

    it('lets one of 10 concurrent sign-ins with one nonce spend it', async () => {
      const clock = new FakeClock();
      const n = nonces(clock);
      const { nonce } = await n.create();
      const results = await Promise.all(Array.from({ length: 10 }, () => n.consume(nonce)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('without REQUIRE_SIGN_IN_NONCE, client nonces pass untouched (nothing stored, reusable)', async () => {
      const clock = new FakeClock();
      const n = nonces(clock);
      const before = await r.raw.keys(`${r.prefix}nonce:*`);
      for (const x of [null, 'client-made', 'sn_short']) {
        expect(() => n.requireShape(x)).not.toThrow();
        expect(await n.consume(x)).toBe(true);
        expect(await n.consume(x)).toBe(true);
      }
      expect((await r.raw.keys(`${r.prefix}nonce:*`)).sort()).toEqual(before.sort());
    });

    it('with REQUIRE_SIGN_IN_NONCE, no nonce or a client nonce is nonce_required', async () => {
      const clock = new FakeClock();
      const n = nonces(clock, true);
      for (const x of [null, '', 'client-made', `sn_${'A'.repeat(42)}`, `xx_${'A'.repeat(43)}`]) {
        expect(() => n.requireShape(x)).toThrow(expect.objectContaining({ reason: 'nonce_required' }));
      }
      const { nonce } = await n.create();
      expect(() => n.requireShape(nonce)).not.toThrow();
      expect(await n.consume(nonce)).toBe(true);
    });
  });

  describe('replayed ID tokens', () => {
    it('refuses the second sign-in with one token, however its signature is spelled', async () => {
      const clock = new FakeClock();
      const u = used(clock);
      const t = await token(clock);
      expect(await u.claim(t)).toBe(true);
      expect(await u.claim(t)).toBe(false);
      expect(respelled(t)).not.toBe(t);
      expect(await u.claim(respelled(t))).toBe(false);
      expect(await u.claim(await token(clock, { sub: 'other' }))).toBe(true);
    });

    it('remembers a token until it expires plus the 60 s of allowed skew', async () => {
      const clock = new FakeClock();
      const t = await token(clock);
      await used(clock).claim(t);
      const signed = t.slice(0, t.lastIndexOf('.'));
      const ttl = await r.raw.pttl(keyLayout(r.prefix).usedIdToken(createHash('sha256').update(signed).digest('base64url')));
      const exp = (Math.floor(clock.t / 1000) + 3600 + 60) * 1000;
      expect(ttl).toBeGreaterThan(exp - clock.t - 5000);
      expect(ttl).toBeLessThanOrEqual(exp - clock.t);
    });

    it('lets one of 10 concurrent sign-ins with one token through', async () => {
      const clock = new FakeClock();
      const u = used(clock);
      const t = await token(clock);
      const results = await Promise.all(Array.from({ length: 10 }, () => u.claim(t)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('is off by default: the same token signs in again', async () => {
      const clock = new FakeClock();
      const u = used(clock, false);
      const t = await token(clock);
      const before = await r.raw.keys(`${r.prefix}idt:*`);
      expect(await u.claim(t)).toBe(true);
      expect(await u.claim(t)).toBe(true);
      expect((await r.raw.keys(`${r.prefix}idt:*`)).sort()).toEqual(before.sort());
    });
  });

  it('store trouble is SERVICE_UNAVAILABLE, never an internal error', async () => {
    const clock = new FakeClock();
    const store = { put: () => Promise.reject(new Error('down')), take: () => Promise.reject(new Error('down')) };
    const unavailable = { extensions: { code: 'SERVICE_UNAVAILABLE', reason: 'store_unavailable' } };
    const broken = new SignInNonces({ store, requireNonce: false, log, now: clock.now });
    await expect(broken.create()).rejects.toMatchObject(unavailable);
    await expect(broken.consume(`sn_${'A'.repeat(43)}`)).rejects.toMatchObject(unavailable);
    await expect(new UsedIdTokens({ store, enabled: true, log, now: clock.now }).claim(await token(clock))).rejects.toMatchObject(unavailable);
  });
});
