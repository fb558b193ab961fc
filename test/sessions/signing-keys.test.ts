import { describe, expect, it, jest } from '@jest/globals';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { AccessTokens } from '../../src/sessions/access-token.js';
import { randomId } from '../../src/sessions/ids.js';
import { SigningKeys } from '../../src/sessions/signing-keys.js';
import { createMemoryStores } from '../../src/store/memory/index.js';
import { createRedisClient, createRedisStores } from '../../src/store/redis/index.js';
import type { Stores } from '../../src/store/types.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';

const DAY = 86_400_000;
const ACCESS_TTL = 15 * 60_000;

class Clock {
  constructor(public t = Date.UTC(2026, 0, 1)) {}
  now = () => this.t;
}

function keysFor(stores: Stores, clock: Clock) {
  return new SigningKeys({ store: stores.signingKeys, locks: stores.locks, accessTokenTtlMs: ACCESS_TTL, now: clock.now, reloadIntervalMs: 0 });
}

function tokensFor(keys: SigningKeys, clock: Clock, cacheSize?: number) {
  return new AccessTokens({ keys, issuer: 'https://issuer.test', audience: 'aud', ttlMs: ACCESS_TTL, now: clock.now, cacheSize });
}

/** Keys in a memory store, the AccessTokens on them, and one token they signed. */
async function signedToken() {
  const clock = new Clock();
  const keys = keysFor(createMemoryStores(), clock);
  await keys.maintain();
  const tokens = tokensFor(keys, clock);
  const uid = randomId();
  const sid = randomId();
  const { token, expiresAt } = await tokens.sign(uid, sid);
  return { clock, keys, tokens, uid, sid, token, expiresAt };
}

describe('access tokens', () => {
  it('sign and verify; expired, tampered and foreign tokens are refused with a reason', async () => {
    const { clock, keys, tokens, uid, sid, token, expiresAt } = await signedToken();
    expect(expiresAt).toBe(clock.t + ACCESS_TTL);
    expect(await tokens.verify(token)).toEqual({ userId: uid, sessionId: sid, expiresAt, issuedAt: expiresAt - ACCESS_TTL });
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', typ: 'at+jwt', kid: keys.active().stored.kid });

    const [h, p, s] = token.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forgedPayload = Buffer.from(JSON.stringify({ ...payload, sub: randomId() })).toString('base64url');
    await expect(tokens.verify(`${h}.${forgedPayload}.${s}`)).rejects.toMatchObject({ reason: 'invalid_token' });
    await expect(tokens.verify('not a jwt')).rejects.toMatchObject({ reason: 'invalid_token' });
    await expect(tokens.verify('a'.repeat(5000))).rejects.toMatchObject({ reason: 'invalid_token' });

    // Signed by a key that is not ours, same claims: refused.
    const otherClock = new Clock(clock.t);
    const otherKeys = keysFor(createMemoryStores(), otherClock);
    await otherKeys.maintain();
    const foreign = await tokensFor(otherKeys, otherClock).sign(uid, sid);
    await expect(tokens.verify(foreign.token)).rejects.toMatchObject({ reason: 'invalid_token' });

    // HS256 with the public key as the secret (algorithm confusion): refused.
    const jwk = keys.jwks().keys[0]!;
    const hs = await new SignJWT({ sid })
      .setProtectedHeader({ alg: 'HS256', kid: jwk.kid!, typ: 'at+jwt' })
      .setSubject(uid)
      .setIssuer('https://issuer.test')
      .setAudience('aud')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(JSON.stringify(jwk)));
    await expect(tokens.verify(hs)).rejects.toMatchObject({ reason: 'invalid_token' });

    clock.t += ACCESS_TTL + 1000;
    await expect(tokens.verify(token)).rejects.toMatchObject({ reason: 'token_expired' });
    const fresh = await tokens.sign(uid, sid);
    clock.t += ACCESS_TTL + 1000; // never cached: expiry comes from the JWT check itself
    await expect(tokens.verify(fresh.token)).rejects.toMatchObject({ reason: 'token_expired' });
  });

  it('are standard ES256 JWTs: exactly the header and claims of the contract, verified by jose against the published key set', async () => {
    const { clock, keys, uid, sid, token, expiresAt } = await signedToken();
    const [h, p, s] = token.split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ alg: 'ES256', kid: keys.active().stored.kid, typ: 'at+jwt' });
    const iat = Math.floor(clock.t / 1000);
    expect(JSON.parse(Buffer.from(p, 'base64url').toString())).toEqual({ sid, iss: 'https://issuer.test', aud: 'aud', sub: uid, iat, exp: expiresAt / 1000 });
    expect(Buffer.from(s, 'base64url')).toHaveLength(64); // r || s, 32 bytes each (RFC 7518 §3.4)
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(keys.jwks()), {
      algorithms: ['ES256'],
      issuer: 'https://issuer.test',
      audience: 'aud',
      typ: 'at+jwt',
      currentDate: new Date(clock.t),
    });
    expect(payload).toEqual({ sid, iss: 'https://issuer.test', aud: 'aud', sub: uid, iat, exp: expiresAt / 1000 });
    expect(protectedHeader.kid).toBe(keys.active().stored.kid);
    // Every signature is fresh (ECDSA draws a new nonce each time); both verify.
    const again = await tokensFor(keys, clock).sign(uid, sid);
    expect(again.token.split('.').slice(0, 2)).toEqual([h, p]);
    expect(again.token).not.toBe(token);
    await expect(jwtVerify(again.token, createLocalJWKSet(keys.jwks()), { currentDate: new Date(clock.t) })).resolves.toMatchObject({ payload: { sub: uid } });
  });

  it('keeps the verified-token cache bounded', async () => {
    const clock = new Clock();
    const keys = keysFor(createMemoryStores(), clock);
    await keys.maintain();
    const tokens = tokensFor(keys, clock, 3);
    const ids = Array.from({ length: 10 }, () => ({ userId: randomId(), sessionId: randomId() }));
    const issued = await Promise.all(ids.map((i) => tokens.sign(i.userId, i.sessionId)));
    for (const t of issued) await tokens.verify(t.token);
    expect((tokens as unknown as { verified: Map<string, unknown> }).verified.size).toBe(3);
    // Tokens evicted from the cache verify again, each as its own user and session.
    for (const [i, t] of issued.entries()) await expect(tokens.verify(t.token)).resolves.toMatchObject({ ...ids[i], expiresAt: t.expiresAt });
  });
});

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The same segment with the lowest bit of its last character flipped (a spare bit when the length leaves some). */
function flipLastBit(segment: string): string {
  return segment.slice(0, -1) + B64URL[B64URL.indexOf(segment.at(-1)!) ^ 1]!;
}

/** Two different strings whose segments decode to the same bytes, one by one. */
function sameBytes(a: string, b: string): boolean {
  const [sa, sb] = [a.split('.'), b.split('.')];
  return a !== b && sa.length === sb.length && sa.every((seg, i) => Buffer.from(seg, 'base64url').equals(Buffer.from(sb[i]!, 'base64url')));
}

describe('access tokens: only the canonical spelling', () => {
  it('refuses other spellings of a real token that jose itself accepts, before any key lookup, and caches none', async () => {
    const { clock, keys, tokens, uid, sid, token, expiresAt } = await signedToken();
    const [h, p, s] = token.split('.') as [string, string, string];
    // 64 signature bytes take 86 characters, 516 bits: the last character carries 4 spare
    // bits, so flipping its lowest one leaves the decoded signature unchanged.
    expect(s).toHaveLength(86);
    const respelled = [`${h}.${p}.${flipLastBit(s)}`, `${h}.${p}.${s}==`];
    const key = (await keys.publicKey(keys.active().stored.kid))!;
    for (const alt of respelled) {
      expect(alt).not.toBe(token);
      expect(sameBytes(alt, token)).toBe(true);
      // jose on its own accepts the respelling as the same valid token: the point of the check.
      const { payload } = await jwtVerify(alt, key, { issuer: 'https://issuer.test', audience: 'aud', currentDate: new Date(clock.t) });
      expect(payload).toMatchObject({ sub: uid, sid });
    }

    const lookups = jest.spyOn(keys, 'publicKey');
    // Cold cache, and again with the canonical token cached: each respelling is its own
    // string, so a cache miss, and refused there without a key lookup or a signature check.
    for (const alt of respelled) await expect(tokens.verify(alt)).rejects.toMatchObject({ reason: 'invalid_token' });
    expect(await tokens.verify(token)).toEqual({ userId: uid, sessionId: sid, expiresAt, issuedAt: expiresAt - ACCESS_TTL });
    for (const alt of respelled) await expect(tokens.verify(alt)).rejects.toMatchObject({ reason: 'invalid_token' });
    expect(lookups).toHaveBeenCalledTimes(1); // the canonical token's one verification
    expect([...(tokens as unknown as { verified: Map<string, unknown> }).verified.keys()]).toEqual([token]);

    // A respelled header or payload (same bytes: their lengths leave spare bits too) is
    // refused the same way, before the key lookup; jose would only refuse it at the
    // signature, which covers the segments as sent.
    for (const alt of [`${flipLastBit(h)}.${p}.${s}`, `${h}.${flipLastBit(p)}.${s}`]) {
      expect(sameBytes(alt, token)).toBe(true);
      await expect(tokens.verify(alt)).rejects.toMatchObject({ reason: 'invalid_token' });
    }
    expect(lookups).toHaveBeenCalledTimes(1);
  });
});

describe('signing key rotation across instances sharing Redis', () => {
  const redis = usePrivateRedis();

  it('instances agree on one key, publish the successor before it signs, and keep the old one until its tokens expire', async () => {
    const prefix = uniquePrefix();
    const clientA = createRedisClient(redis.url);
    const clientB = createRedisClient(redis.url);
    const a = createRedisStores({ client: clientA, keyPrefix: prefix, ownsClient: true });
    const b = createRedisStores({ client: clientB, keyPrefix: prefix, ownsClient: true });
    try {
      await Promise.all([a.ping(), b.ping()]);
      const clock = new Clock();
      const keysA = keysFor(a, clock);
      const keysB = keysFor(b, clock);
      await Promise.all([keysA.maintain(), keysB.maintain()]); // concurrent cold start
      expect(keysA.jwks().keys).toHaveLength(1);
      expect(keysA.active().stored.kid).toBe(keysB.active().stored.kid);
      const first = keysA.active().stored.kid;

      const tokensA = tokensFor(keysA, clock);
      const tokensB = tokensFor(keysB, clock);
      const before = await tokensA.sign(randomId(), randomId());

      // 29 days later (within publish-ahead of the 30-day rotation): a successor is published, not yet signing.
      clock.t += 30 * DAY - 30 * 60_000;
      await Promise.all([keysA.maintain(), keysB.maintain()]); // one of them wins the lock and creates it
      await Promise.all([keysA.maintain(), keysB.maintain()]); // the next periodic reload
      expect(keysA.jwks().keys).toHaveLength(2);
      expect(keysB.jwks().keys.map((k) => k.kid)).toEqual(keysA.jwks().keys.map((k) => k.kid));
      expect(keysA.active().stored.kid).toBe(first);
      const successor = keysA.jwks().keys.map((k) => k.kid).find((k) => k !== first)!;

      clock.t += 55 * 60_000; // just before the successor activates
      const oldIds = { userId: randomId(), sessionId: randomId() };
      const signedByOld = await tokensA.sign(oldIds.userId, oldIds.sessionId);
      expect(decodeProtectedHeader(signedByOld.token).kid).toBe(first);

      // After activation both instances sign with the successor; tokens of the old key still verify.
      clock.t += 6 * 60_000; // a full publish-ahead hour after it was published
      await keysB.maintain();
      expect(keysA.active().stored.kid).toBe(successor);
      expect(keysB.active().stored.kid).toBe(successor);
      const newIds = { userId: randomId(), sessionId: randomId() };
      const oldStillValid = await tokensA.sign(newIds.userId, newIds.sessionId); // signed by successor now
      expect(decodeProtectedHeader(oldStillValid.token).kid).toBe(successor);
      await expect(tokensB.verify(oldStillValid.token)).resolves.toMatchObject(newIds);
      await expect(tokensB.verify(signedByOld.token)).resolves.toMatchObject(oldIds); // signed before rotation, still valid

      // Once every token of the old key has expired, it is no longer published (and its tokens fail).
      clock.t += ACCESS_TTL + 6 * 60_000;
      await keysA.maintain();
      await keysB.maintain();
      expect(keysA.jwks().keys.map((k) => k.kid)).toEqual([successor]);
      expect(keysB.jwks().keys.map((k) => k.kid)).toEqual([successor]);
      await expect(tokensB.verify(before.token)).rejects.toMatchObject({ reason: 'invalid_token' }); // its key is gone
    } finally {
      await a.close();
      await b.close();
    }
  });
});
