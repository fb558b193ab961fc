import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { FakeGoogle } from '../support/fake-google.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import {
  bearer,
  ME,
  REFRESH,
  SIGN_IN,
  SIGN_OUT,
  startTestGateway,
  type AuthPayloadShape,
  type TestGateway,
} from '../support/gateway.js';

/**
 * The product through its public surface: GraphQL over HTTP against two gateway instances
 * sharing one real Redis, with a fake Google issuer on loopback.
 */
describe('gateway over HTTP, two instances sharing Redis', () => {
  const redis = usePrivateRedis();
  let google: FakeGoogle;
  let a: TestGateway;
  let b: TestGateway;
  let subCounter = 0;
  const newSub = () => `1000${Date.now()}${subCounter++}`;
  /** Both instances' clock: real time plus `skew`, which a test moves forward instead of sleeping. */
  let skew = 0;
  const now = () => Date.now() + skew;

  beforeAll(async () => {
    google = await FakeGoogle.start();
    const prefix = uniquePrefix();
    // Both instances start cold at the same time.
    [a, b] = await Promise.all([
      startTestGateway({ redisUrl: redis.url, prefix, google, env: { REFRESH_GRACE_PERIOD: '1s' }, now }),
      startTestGateway({ redisUrl: redis.url, prefix, google, env: { REFRESH_GRACE_PERIOD: '1s' }, now }),
    ]);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await google?.close();
  });

  async function signIn(gw: TestGateway, claims: Record<string, unknown> = {}, headers?: Record<string, string>) {
    const idToken = await google.mint({ sub: newSub(), ...claims });
    const res = await gw.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken }, headers);
    expect(res.body.errors).toBeUndefined();
    return { idToken, payload: res.body.data!.signInWithGoogle };
  }

  it('cold start of two instances under concurrent sign-ins fetches Google keys once', async () => {
    const tokens = await Promise.all(Array.from({ length: 40 }, (_, i) => google.mint({ sub: `cold-${i}` })));
    const results = await Promise.all(tokens.map((idToken, i) => (i % 2 ? a : b).gql(SIGN_IN, { idToken })));
    for (const r of results) expect(r.body.errors).toBeUndefined();
    expect(google.fetchCount).toBe(1);
  });

  it('signs in, creates the account once, refreshes the profile, and answers me on the other instance', async () => {
    const sub = newSub();
    const first = await a.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, {
      idToken: await google.mint({ sub, email: 'ada@example.com', name: 'Ada', picture: 'https://p.example/a.png', locale: 'en' }),
    });
    const p1 = first.body.data!.signInWithGoogle;
    // Answers carry tokens: no cache or proxy may keep them (RFC 6749 §5.1).
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(p1.isNewUser).toBe(true);
    expect(p1.user).toMatchObject({ email: 'ada@example.com', emailVerified: true, name: 'Ada', locale: 'en', hostedDomain: null });
    expect(new Date(p1.accessTokenExpiresAt).getTime() - Date.now()).toBeGreaterThan(14 * 60_000);
    expect(new Date(p1.refreshTokenExpiresAt).getTime() - Date.now()).toBeGreaterThan(29 * 86_400_000);

    const second = await b.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, {
      idToken: await google.mint({ sub, email: 'ada@new.example', name: 'Ada L.' }),
    });
    const p2 = second.body.data!.signInWithGoogle;
    expect(p2.isNewUser).toBe(false);
    expect(p2.user.id).toBe(p1.user.id);
    expect(p2.user).toMatchObject({ email: 'ada@new.example', name: 'Ada L.', createdAt: p1.user.createdAt });

    const me = await b.gql<{ me: { id: string; email: string; name: string } }>(ME, undefined, bearer(p1.accessToken));
    expect(me.body).toEqual({ data: { me: { id: p1.user.id, email: 'ada@new.example', name: 'Ada L.' } } });
    expect(me.headers.get('cache-control')).toBe('no-store');
  });

  it('never links accounts by email: the same email under another sub is another account', async () => {
    const x = await signIn(a, { email: 'same@example.com' });
    const y = await signIn(a, { email: 'same@example.com' });
    expect(x.payload.isNewUser).toBe(true);
    expect(y.payload.isNewUser).toBe(true);
    expect(y.payload.user.id).not.toBe(x.payload.user.id);
  });

  it('anonymous me is null; a bad token fails me only, and sign-in still works with a stale token attached', async () => {
    expect((await a.gql(ME)).body).toEqual({ data: { me: null } });

    for (const header of ['Bearer garbage', 'Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a.b.c']) {
      const r = await a.gql(ME, undefined, { authorization: header });
      expect(r.status).toBe(200);
      expect(r.body.data).toEqual({ me: null });
      expect(r.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'invalid_token' });
      expect(r.headers.get('cache-control')).toBe('no-store');
    }

    const { payload } = await signIn(a);
    await a.gql(SIGN_OUT, undefined, bearer(payload.accessToken));
    const again = await signIn(a, {}, bearer(payload.accessToken)); // revoked token attached
    const garbage = await signIn(b, {}, { authorization: 'Bearer not-a-token' });
    // Each sign-in issued a working session.
    for (const { payload: p } of [again, garbage]) {
      expect((await a.gql(ME, undefined, bearer(p.accessToken))).body.data).toEqual({ me: expect.objectContaining({ id: p.user.id }) });
    }
  });

  it('refuses hostile ID tokens with UNAUTHENTICATED and a reason, without echoing them', async () => {
    const cases: Array<[string, () => Promise<string> | string]> = [
      ['bad_signature', async () => {
        const t = await google.mint();
        const [h, p, s] = t.split('.') as [string, string, string];
        const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
        return `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'victim' })).toString('base64url')}.${s}`;
      }],
      ['unsupported_algorithm', () => google.hostile.algNone()],
      ['unsupported_algorithm', () => google.hostile.hs256WithPublicKey()],
      ['wrong_issuer', () => google.mint({ iss: 'https://evil.example' })],
      ['wrong_audience', () => google.mint({ aud: 'someone-else.apps.googleusercontent.com' })],
      ['untrusted_audience', () => google.mint({ aud: [google.clientId, 'other-app'] })],
      ['expired', () => google.mint({}, {}, { iat: Math.floor(Date.now() / 1000) - 7200 })],
      ['issued_in_future', () => google.mint({}, {}, { iat: Math.floor(Date.now() / 1000) + 600 })],
      ['lifetime_too_long', () => google.mint({}, {}, { lifetime: 2 * 86_400 })],
      ['missing_claim', () => google.mint({ sub: undefined })],
      ['malformed', () => 'definitely not a jwt'],
      ['too_large', () => 'a'.repeat(8 * 1024 + 1)],
    ];
    for (const [reason, make] of cases) {
      const idToken = await make();
      const r = await b.gql(SIGN_IN, { idToken });
      expect(r.status).toBe(200);
      expect({ reason, ext: r.body.errors?.[0]?.extensions }).toEqual({ reason, ext: { code: 'UNAUTHENTICATED', reason } });
      expect(r.body.data).toBeNull();
      const signature = idToken.split('.')[2];
      if (signature) expect(r.raw).not.toContain(signature);
      expect(r.raw).not.toContain(idToken.slice(0, 40));
    }
  });

  it('checks the nonce when the client sends one (plain or SHA-256 hex), ignores it otherwise', async () => {
    const nonce = 'n-0123456789';
    const sha = (await import('node:crypto')).createHash('sha256').update(nonce).digest('hex');
    for (const tokenNonce of [nonce, sha]) {
      const r = await a.gql(SIGN_IN, { idToken: await google.mint({ sub: newSub(), nonce: tokenNonce }), nonce });
      expect(r.body.errors).toBeUndefined();
    }
    const wrong = await a.gql(SIGN_IN, { idToken: await google.mint({ sub: newSub(), nonce: 'other' }), nonce });
    expect(wrong.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'nonce_mismatch' });
    const absent = await a.gql(SIGN_IN, { idToken: await google.mint({ sub: newSub() }), nonce });
    expect(absent.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'nonce_mismatch' });
    const ignored = await a.gql(SIGN_IN, { idToken: await google.mint({ sub: newSub(), nonce: 'sdk-set' }) });
    expect(ignored.body.errors).toBeUndefined();
  });

  it('rotates refresh tokens across instances; a retry within the grace period gets the same successor', async () => {
    const { payload } = await signIn(a);
    const r1 = await b.gql<{ refreshSession: AuthPayloadShape }>(REFRESH, { refreshToken: payload.refreshToken });
    const next = r1.body.data!.refreshSession;
    expect(next.refreshToken).not.toBe(payload.refreshToken);
    expect(next.isNewUser).toBe(false);
    expect(next.user.id).toBe(payload.user.id);
    // The response was "lost": the client retries with the spent token on the other instance.
    const retry = await a.gql<{ refreshSession: AuthPayloadShape }>(REFRESH, { refreshToken: payload.refreshToken });
    expect(retry.body.data!.refreshSession.refreshToken).toBe(next.refreshToken);
    const me = await a.gql<{ me: { id: string } }>(ME, undefined, bearer(next.accessToken));
    expect(me.body.data!.me.id).toBe(payload.user.id);
    // The successor works and is itself single use.
    const r2 = await a.gql<{ refreshSession: AuthPayloadShape }>(REFRESH, { refreshToken: next.refreshToken });
    expect(r2.body.errors).toBeUndefined();
  });

  it('concurrent refreshes with one token produce a single live successor', async () => {
    const { payload } = await signIn(a);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).gql<{ refreshSession: AuthPayloadShape }>(REFRESH, { refreshToken: payload.refreshToken })),
    );
    const successors = new Set(results.map((r) => r.body.data?.refreshSession.refreshToken));
    expect(successors.size).toBe(1);
    // ... and it is live: it rotates once more.
    const next = await a.gql(REFRESH, { refreshToken: [...successors][0] });
    expect(next.body.errors).toBeUndefined();
  });

  it('a spent refresh token presented after the grace period revokes the session everywhere', async () => {
    const { payload } = await signIn(a);
    const r1 = await a.gql<{ refreshSession: AuthPayloadShape }>(REFRESH, { refreshToken: payload.refreshToken });
    const next = r1.body.data!.refreshSession;
    skew += 2_000; // past REFRESH_GRACE_PERIOD (1 s here)
    const replay = await b.gql(REFRESH, { refreshToken: payload.refreshToken });
    expect(replay.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'refresh_token_reused' });
    const me = await a.gql(ME, undefined, bearer(next.accessToken));
    expect(me.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'session_revoked' });
    const successor = await a.gql(REFRESH, { refreshToken: next.refreshToken });
    expect(successor.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'invalid_refresh_token' });
  });

  it('refuses unknown or malformed refresh tokens, and a guessed secret does not revoke the session', async () => {
    const { payload } = await signIn(a);
    const [uid, sid] = payload.refreshToken.split('.');
    const guessed = `${uid}.${sid}.${'A'.repeat(43)}`;
    for (const refreshToken of ['', 'x', guessed, 'a'.repeat(100_00)]) {
      const r = await a.gql(REFRESH, { refreshToken });
      expect(r.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'invalid_refresh_token' });
    }
    const me = await b.gql<{ me: { id: string } }>(ME, undefined, bearer(payload.accessToken));
    expect(me.body.data!.me.id).toBe(payload.user.id);
  });

  it('sign-out on one instance is refused at once by the other, and needs a session', async () => {
    const { payload } = await signIn(a);
    expect((await b.gql(ME, undefined, bearer(payload.accessToken))).body.errors).toBeUndefined(); // cached as verified on b
    const out = await a.gql(SIGN_OUT, undefined, bearer(payload.accessToken));
    expect(out.body).toEqual({ data: { signOut: true } });
    const me = await b.gql(ME, undefined, bearer(payload.accessToken));
    expect(me.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'session_revoked' });
    const refresh = await b.gql(REFRESH, { refreshToken: payload.refreshToken });
    expect(refresh.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'invalid_refresh_token' });
    const anon = await a.gql(SIGN_OUT);
    expect(anon.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'authentication_required' });
  });

  it('access tokens verify with standard JWT tooling against the published JWKS', async () => {
    const { payload } = await signIn(a);
    const jwks = (await (await fetch(`${b.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
    const { payload: claims, protectedHeader } = await jwtVerify(payload.accessToken, createLocalJWKSet(jwks), {
      issuer: 'https://auth.gateway.test',
      audience: 'graphql-auth-gateway',
      algorithms: ['ES256'],
    });
    expect(jwks.keys.map((k) => k.kid)).toContain(protectedHeader.kid);
    expect(claims.sub).toBe(payload.user.id);
    expect(claims.sid).toBe(payload.refreshToken.split('.')[1]); // refresh tokens are <uid>.<sid>.<secret>
    expect(JSON.stringify(jwks)).not.toMatch(/"d":/); // no private key material
  });

  it('serves health and readiness', async () => {
    expect((await fetch(`${a.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${a.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('answers malformed requests with client errors, never INTERNAL_SERVER_ERROR', async () => {
    const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
      fetch(`${a.url}/graphql`, { method: 'POST', headers, body });
    const big = await post(JSON.stringify({ query: ME, variables: { pad: 'x'.repeat(70_000) } }));
    expect(big.status).toBe(413);
    const batched = await post(JSON.stringify([{ query: ME }, { query: ME }]));
    expect(batched.status).toBe(400);
    const csrf = await post(JSON.stringify({ query: SIGN_OUT }), { 'content-type': 'text/plain' });
    expect(csrf.status).toBe(400);
    const notJson = await post('{');
    expect(notJson.status).toBe(400);
    const wrongType = await a.gql(SIGN_IN, { idToken: 12345 });
    expect(wrongType.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const unknownField = await a.gql('{ me { password } }');
    expect(unknownField.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const introspection = await a.gql('{ __schema { types { name } } }');
    expect(introspection.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED'); // off in production
    for (const r of [wrongType, unknownField, introspection]) expect(r.raw).not.toContain('INTERNAL_SERVER_ERROR');
  });

  it('logs no tokens', () => {
    const all = a.logs.join('\n') + b.logs.join('\n');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/); // no JWT
    expect(all).not.toMatch(/[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}/); // no refresh token
  });
});
