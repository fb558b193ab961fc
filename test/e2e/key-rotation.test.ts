import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { discoveryDocument } from '../../src/http/well-known.js';
import { FakeClock, FakeGoogle } from '../support/fake-google.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { bearer, ME, SIGN_IN, startTestGateway, type AuthPayloadShape, type TestGateway } from '../support/gateway.js';

/**
 * Signing-key rotation seen from outside: two instances on one Redis, a controllable clock,
 * and nothing but HTTP (GraphQL, /.well-known/jwks.json, /.well-known/openid-configuration).
 * Rotation every day with a one-hour publish-ahead (configured), access tokens of 15 minutes.
 */
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const ISSUER = 'https://auth.gateway.test';

describe('signing-key rotation over HTTP, two instances', () => {
  const redis = usePrivateRedis();
  const clock = new FakeClock();
  let google: FakeGoogle;
  let a: TestGateway;
  let b: TestGateway;
  let n = 0;

  beforeAll(async () => {
    google = await FakeGoogle.start({ now: clock.now });
    const prefix = uniquePrefix();
    const env = { SIGNING_KEY_ROTATION_INTERVAL: '1d', SIGNING_KEY_PUBLISH_AHEAD: '1h' };
    [a, b] = await Promise.all([
      startTestGateway({ redisUrl: redis.url, prefix, google, env, now: clock.now }),
      startTestGateway({ redisUrl: redis.url, prefix, google, env, now: clock.now }),
    ]);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await google?.close();
  });

  const jwks = async (gw: TestGateway) => (await (await fetch(`${gw.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
  const kids = async (gw: TestGateway) => (await jwks(gw)).keys.map((k) => k.kid!);
  const signIn = async (gw: TestGateway) => {
    const r = await gw.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub: `rot-${n++}` }) });
    expect(r.body.errors).toBeUndefined();
    return r.body.data!.signInWithGoogle.accessToken;
  };
  const kidOf = (token: string) => decodeProtectedHeader(token).kid;
  /** What any standard verifier does: keys from the published set, issuer, audience, ES256. */
  const verifiesWith = async (token: string, set: JSONWebKeySet) =>
    jwtVerify(token, createLocalJWKSet(set), { issuer: ISSUER, audience: 'graphql-auth-gateway', algorithms: ['ES256'], currentDate: new Date(clock.t) }).then(
      () => true,
      () => false,
    );

  it('publishes the successor before it signs, keeps old tokens valid across the switch, and retires the old key after they expire', async () => {
    const t0 = clock.t;
    // Cold start of both instances: one shared key.
    const [k1] = await kids(a);
    expect(await kids(b)).toEqual([k1]);
    expect(kidOf(await signIn(a))).toBe(k1);
    expect(kidOf(await signIn(b))).toBe(k1);

    // At the start of the publish-ahead window of the next rotation: the successor appears on
    // both instances (the first JWKS request after the reload interval runs maintenance, as the
    // periodic reload would). It activates a full publish-ahead later, at t0 + 1 day…
    clock.t = t0 + DAY - HOUR;
    const published = await kids(a);
    expect(published).toHaveLength(2);
    const k2 = published.find((k) => k !== k1)!;
    expect(await kids(b)).toEqual(published);
    // …and until then nobody signs with it.
    clock.t = t0 + DAY - 30 * MIN;
    expect(kidOf(await signIn(a))).toBe(k1);
    expect(kidOf(await signIn(b))).toBe(k1);

    // A token signed just before the switch, and the key set a verifier cached at that moment.
    clock.t = t0 + DAY - 5 * MIN;
    const before = await signIn(b);
    expect(kidOf(before)).toBe(k1);
    const cachedSet = await jwks(a);

    // After the switch both instances sign with the successor…
    clock.t = t0 + DAY + MIN;
    const after = [await signIn(a), await signIn(b)];
    expect(after.map(kidOf)).toEqual([k2, k2]);
    // …which a verifier that cached the set *before* the switch already knows (published first),
    expect(await verifiesWith(after[0]!, cachedSet)).toBe(true);
    // and the token signed before the switch still works everywhere until it expires.
    for (const gw of [a, b]) expect((await gw.gql(ME, undefined, bearer(before))).body.errors).toBeUndefined();
    expect(await verifiesWith(before, await jwks(b))).toBe(true);

    // Once every token of the old key has expired (15 min + slack), the old key is withdrawn.
    clock.t = t0 + DAY + 25 * MIN;
    expect(await kids(a)).toEqual([k2]);
    expect(await kids(b)).toEqual([k2]);
    expect(kidOf(await signIn(a))).toBe(k2);
  });

  it('serves OpenID discovery: issuer, jwks_uri and ES256, so middleware configured with the issuer finds the keys', async () => {
    for (const gw of [a, b]) {
      const res = await fetch(`${gw.url}/.well-known/openid-configuration`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('cache-control')).toBe('public, max-age=3600');
      expect(await res.json()).toEqual({
        issuer: ISSUER,
        jwks_uri: `${ISSUER}/.well-known/jwks.json`,
        id_token_signing_alg_values_supported: ['ES256'],
        subject_types_supported: ['public'],
        claims_supported: ['iss', 'aud', 'sub', 'sid', 'iat', 'exp'],
      });
    }
  });

  it('builds jwks_uri from AUTH_ISSUER (with a path, with or without a trailing slash); no document for a non-URL issuer', () => {
    expect(discoveryDocument('https://example.com/auth')?.jwks_uri).toBe('https://example.com/auth/.well-known/jwks.json');
    expect(discoveryDocument('https://example.com/auth/')?.jwks_uri).toBe('https://example.com/auth/.well-known/jwks.json');
    expect(discoveryDocument('http://localhost:4000')?.issuer).toBe('http://localhost:4000');
    for (const bad of ['my-gateway', 'urn:example:gw', 'https://example.com/?x=1', 'https://example.com/#f', 'ftp://example.com']) {
      expect(discoveryDocument(bad)).toBeNull();
    }
  });

  it('answers 404 for discovery when AUTH_ISSUER is not an http(s) URL', async () => {
    const gw = await startTestGateway({ redisUrl: redis.url, prefix: uniquePrefix(), google, env: { AUTH_ISSUER: 'my-gateway' }, now: clock.now });
    try {
      expect((await fetch(`${gw.url}/.well-known/openid-configuration`)).status).toBe(404);
      expect((await fetch(`${gw.url}/.well-known/jwks.json`)).status).toBe(200);
    } finally {
      await gw.close();
    }
  });
});
