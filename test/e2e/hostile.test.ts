import { createHash } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { FakeApple } from '../support/fake-apple.js';
import { FakeGoogle } from '../support/fake-google.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { bearer, ME, REFRESH, SIGN_IN, SIGN_IN_APPLE, SIGN_OUT, startTestGateway, type AuthPayloadShape, type TestGateway } from '../support/gateway.js';
import { applyMutations, ID_TOKEN_REASONS, mutation, randomToken } from '../support/token-fuzz.js';

/**
 * What an anonymous client can throw at the public surface, over HTTP: fuzzed tokens (Google's
 * and Apple's sign-in, and linkIdentity), odd bodies, JSON and GraphQL bombs. Nothing may
 * produce INTERNAL_SERVER_ERROR or a 5xx, stall the process, or leave a secret in the log. The last test scans everything both gateways
 * logged while this file ran (including a rate-limited instance) for every token, refresh
 * token, nonce and ID-token payload the file sent or received.
 */
const redis = usePrivateRedis();
let google: FakeGoogle;
let apple: FakeApple;
let gw: TestGateway;
let strict: TestGateway;
/** Every secret this file handled; none may appear in a log line. */
const secrets = new Set<string>();
/** Event-loop delay per test (client and server share this process), reported, not asserted. */
const eventLoop = monitorEventLoopDelay({ resolution: 10 });
const delays: string[] = [];

function remember(...values: (string | null | undefined)[]) {
  for (const v of values) if (typeof v === 'string' && v.length >= 12) secrets.add(v);
}

/** A token and the parts of it that would betray it in a log. */
function rememberToken(token: string) {
  remember(token);
  for (const part of token.split('.')) {
    if (part.length < 16) continue;
    remember(part);
    const decoded = Buffer.from(part, 'base64url').toString('utf8');
    if (decoded.startsWith('{') && decoded.length >= 16) remember(decoded);
  }
}

function expectClientError(status: number, raw: string) {
  expect(status).toBeLessThan(500);
  expect(raw).not.toContain('INTERNAL_SERVER_ERROR');
}

beforeAll(async () => {
  google = await FakeGoogle.start();
  apple = await FakeApple.start();
  const prefix = uniquePrefix();
  gw = await startTestGateway({ redisUrl: redis.url, prefix, google, apple });
  strict = await startTestGateway({
    redisUrl: redis.url,
    prefix,
    google,
    apple,
    env: { TRUST_PROXY: 'loopback', RATE_LIMIT_SIGN_IN_PER_ADDRESS: '3/1m', RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS: '2/1m', RATE_LIMIT_REFRESH_PER_SESSION: '1/1m' },
  });
  eventLoop.enable();
});
afterEach(() => {
  delays.push(`${(eventLoop.max / 1e6).toFixed(0)} ms`);
  eventLoop.reset();
});
afterAll(async () => {
  eventLoop.disable();
  process.stdout.write(`hostile HTTP: longest event-loop delay per test: ${delays.join(', ')}\n`);
  await gw?.close();
  await strict?.close();
  await google?.close();
  await apple?.close();
});

/** The ways an ID token reaches the gateway: each provider's sign-in, and linkIdentity with a signed-in caller. */
const ENTRY_POINTS = [
  { name: 'signInWithGoogle', issuer: () => google as FakeGoogle, send: (t: string, nonce: string | null) => gw.gql(SIGN_IN, { idToken: t, nonce }) },
  { name: 'signInWithApple', issuer: () => apple as FakeGoogle, send: (t: string, nonce: string | null) => gw.gql(SIGN_IN_APPLE, { identityToken: t, nonce, givenName: 'Ada' }) },
  {
    name: 'linkIdentity(APPLE)',
    issuer: () => apple as FakeGoogle,
    send: async (t: string, nonce: string | null) => {
      linker ??= (await gw.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub: 'hostile-linker' }) })).body.data!.signInWithGoogle.accessToken;
      remember(linker);
      return gw.gql('mutation($t: String!, $n: String) { linkIdentity(provider: APPLE, idToken: $t, nonce: $n) { id } }', { t, n: nonce }, bearer(linker));
    },
  },
];
let linker: string | undefined;

describe('hostile clients over HTTP', () => {
  it.each(ENTRY_POINTS)('fuzzed ID tokens and nonces through $name: always UNAUTHENTICATED with a listed reason, never anything else', async ({ issuer, send }) => {
    const genuine = [await issuer().mint(), await issuer().mint({ nonce: 'fuzz-nonce-0001', hd: 'example.com' })];
    genuine.forEach(rememberToken);
    const hostile = fc.oneof(
      randomToken,
      fc.tuple(fc.constantFrom(...genuine), fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([t, m]) => applyMutations(t, m, genuine)),
    );
    await fc.assert(
      fc.asyncProperty(hostile, fc.option(fc.string({ maxLength: 30 })), async (idToken, nonce) => {
        fc.pre(!genuine.includes(idToken));
        rememberToken(idToken);
        const r = await send(idToken, nonce);
        expectClientError(r.status, r.raw);
        expect(r.status).toBe(200);
        expect(r.body.data).toBeNull();
        expect(r.body.errors).toHaveLength(1);
        const ext = r.body.errors![0]!.extensions!;
        expect(ext.code).toBe('UNAUTHENTICATED');
        expect(ID_TOKEN_REASONS).toContain(ext.reason);
      }),
      { numRuns: 200 },
    );
  });

  it('fuzzed refresh tokens and Authorization headers: typed refusals only', async () => {
    const signIn = await gw.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub: 'hostile-refresh' }) });
    const { refreshToken, accessToken } = signIn.body.data!.signInWithGoogle;
    remember(refreshToken, accessToken);
    rememberToken(accessToken);
    const near = (t: string) => fc.array(mutation, { minLength: 1, maxLength: 2 }).map((m) => applyMutations(t, m, []));
    await fc.assert(
      fc.asyncProperty(fc.oneof(randomToken, near(refreshToken)), async (token) => {
        fc.pre(token !== refreshToken);
        const r = await gw.gql(REFRESH, { refreshToken: token });
        expectClientError(r.status, r.raw);
        expect(r.body.errors?.map((e) => e.extensions)).toEqual([{ code: 'UNAUTHENTICATED', reason: 'invalid_refresh_token' }]);
      }),
      { numRuns: 100 },
    );
    // Header values fetch() can send (no CR/LF/NUL): junk, and mutations of a real access token.
    const headerSafe = (s: string) => s.replace(/[\r\n\0]/g, '').replace(/[^\t\x20-\x7e\x80-\xff]/g, '');
    await fc.assert(
      fc.asyncProperty(fc.oneof(randomToken, near(accessToken), near(`Bearer ${accessToken}`)), async (value) => {
        const header = headerSafe(value.startsWith('Bearer') ? value : `Bearer ${value}`);
        fc.pre(header.replace(/^bearer[ \t]+/i, '').trim() !== accessToken);
        const r = await gw.gql(ME, undefined, { authorization: header });
        expectClientError(r.status, r.raw);
        if (r.body.errors) expect(r.body.errors.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
        // Never accepted, not even a respelling that decodes to the same signature (padding,
        // spare bits): only the exact token we issued verifies.
        else expect((r.body.data as { me: unknown }).me).toBeNull();
      }),
      { numRuns: 100 },
    );
  });

  it('respellings of a real access token (spare bits, padding) are refused with invalid_token; the token itself still works', async () => {
    const signIn = await gw.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub: 'hostile-respelled' }) });
    const { accessToken } = signIn.body.data!.signInWithGoogle;
    remember(signIn.body.data!.signInWithGoogle.refreshToken);
    rememberToken(accessToken);
    const [h, p, s] = accessToken.split('.') as [string, string, string];
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // The signature's last character carries 4 spare bits (86 characters for 64 bytes):
    // flipping the lowest one, or padding, decodes to the same signature bytes.
    const spare = s.slice(0, -1) + alphabet[alphabet.indexOf(s.at(-1)!) ^ 1];
    expect(s).toHaveLength(86);
    for (const alt of [`${h}.${p}.${spare}`, `${accessToken}==`]) {
      rememberToken(alt);
      expect(Buffer.from(alt.split('.')[2]!, 'base64url').equals(Buffer.from(s, 'base64url'))).toBe(true);
      // Twice: a refused spelling is not cached as valid either.
      for (let i = 0; i < 2; i++) {
        const r = await gw.gql(ME, undefined, bearer(alt));
        expect(r.body.errors?.map((e) => e.extensions)).toEqual([{ code: 'UNAUTHENTICATED', reason: 'invalid_token' }]);
      }
    }
    const me = await gw.gql<{ me: { id: string } }>(ME, undefined, bearer(accessToken));
    expect(me.body.errors).toBeUndefined();
    expect(me.body.data!.me.id).toBe(signIn.body.data!.signInWithGoogle.user.id);
  });

  it('odd request bodies and variables: client errors, never a 5xx', async () => {
    const post = (body: string, contentType = 'application/json') =>
      fetch(`${gw.url}/graphql`, { method: 'POST', headers: { 'content-type': contentType }, body }).then(async (r) => ({ status: r.status, raw: await r.text() }));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
          fc.record({ query: fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom(SIGN_IN, SIGN_IN_APPLE, REFRESH, ME, SIGN_OUT)), variables: fc.jsonValue({ maxDepth: 3 }) }).map((v) => JSON.stringify(v)),
          fc.record({ query: fc.constant(SIGN_IN), variables: fc.record({ idToken: fc.jsonValue({ maxDepth: 3 }), nonce: fc.jsonValue({ maxDepth: 2 }) }) }).map((v) => JSON.stringify(v)),
          fc
            .record({
              query: fc.constant(SIGN_IN_APPLE),
              variables: fc.record({ identityToken: fc.jsonValue({ maxDepth: 3 }), nonce: fc.jsonValue({ maxDepth: 2 }), givenName: fc.jsonValue({ maxDepth: 2 }), authorizationCode: fc.jsonValue({ maxDepth: 2 }) }),
            })
            .map((v) => JSON.stringify(v)),
          fc.record({ query: fc.constant(ME), operationName: fc.jsonValue({ maxDepth: 1 }), extensions: fc.jsonValue({ maxDepth: 3 }) }).map((v) => JSON.stringify(v)),
          fc.string({ unit: 'binary', maxLength: 200 }),
        ),
        async (body) => {
          const r = await post(body);
          expectClientError(r.status, r.raw);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('JSON and GraphQL bombs are refused cheaply and the process keeps answering', async () => {
    const post = (body: string) =>
      fetch(`${gw.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(async (r) => ({ status: r.status, raw: await r.text() }));
    const cases: Array<[string, string]> = [
      ['deep array in variables', `{"query":"{ me { id } }","variables":{"x":${'['.repeat(30_000)}${']'.repeat(30_000)}}}`],
      ['deep object as the token', `{"query":${JSON.stringify(SIGN_IN)},"variables":{"idToken":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}}`],
      ['deep query', JSON.stringify({ query: `${'{ me '.repeat(10_000)}${'}'.repeat(10_000)}` })],
      ['prototype pollution', `{"query":"{ me { id } }","variables":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}`],
      ['many variables', JSON.stringify({ query: '{ me { id } }', variables: Object.fromEntries(Array.from({ length: 4000 }, (_, i) => [`v${i}`, i])) })],
      ['long string literal', JSON.stringify({ query: `mutation { signInWithGoogle(idToken: "${'a'.repeat(60_000)}") { accessToken } }` })],
      ['long name', JSON.stringify({ query: `{ ${'a'.repeat(60_000)} }` })],
      ['many operations', JSON.stringify({ query: Array.from({ length: 900 }, (_, i) => `query Q${i} { me { id } }`).join(' '), operationName: 'Q1' })],
      ['unterminated string', `{"query":"{ me { id } }","variables":{"idToken":"${'a'.repeat(50_000)}`],
      ['body over the limit', JSON.stringify({ query: ME, variables: { pad: 'x'.repeat(70_000) } })],
    ];
    for (const [name, body] of cases) {
      const r = await post(body);
      expect({ name, status: r.status < 500, internal: r.raw.includes('INTERNAL_SERVER_ERROR') }).toEqual({ name, status: true, internal: false });
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });

  it('a GET carrying tokens in its query string is refused, and the tokens stay out of the log', async () => {
    const idToken = await google.mint({ sub: 'get-leak' });
    rememberToken(idToken);
    const params = new URLSearchParams({ query: SIGN_IN, variables: JSON.stringify({ idToken, nonce: 'get-nonce-secret-1' }) });
    remember('get-nonce-secret-1');
    const r = await fetch(`${gw.url}/graphql?${params}`, { headers: { 'apollo-require-preflight': 'true' } });
    const raw = await r.text();
    expect(r.status).toBe(405);
    expectClientError(r.status, raw);
  });

  it('the whole flow, rate-limited or not, leaves no token, refresh token, nonce or ID-token payload in the log', async () => {
    // Legitimate flow with a nonce, refresh, reuse (revokes), sign-out, on both instances.
    const nonce = 'log-scan-nonce-7d1c0a';
    remember(nonce, createHash('sha256').update(nonce).digest('hex'));
    const idToken = await google.mint({ sub: 'log-scan', nonce });
    rememberToken(idToken);
    const s = (await gw.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken, nonce })).body.data!.signInWithGoogle;
    remember(s.accessToken, s.refreshToken);
    rememberToken(s.accessToken);
    const r1 = (await strict.gql<{ refreshSession: AuthPayloadShape }>(REFRESH, { refreshToken: s.refreshToken }, { 'x-forwarded-for': '192.0.2.99' })).body.data!.refreshSession;
    remember(r1.accessToken, r1.refreshToken);
    const limited = await strict.gql(REFRESH, { refreshToken: r1.refreshToken }, { 'x-forwarded-for': '192.0.2.99' });
    expect(limited.status).toBe(429);
    await gw.gql(ME, undefined, bearer(r1.accessToken));
    await gw.gql(SIGN_OUT, undefined, bearer(r1.accessToken));
    // The same with Apple: a nonce (hashed in the token), names, an authorization code.
    const appleNonce = 'apple-log-scan-nonce-91be';
    const appleCode = 'c1a2b3.0.apple-authorization-code';
    remember(appleNonce, createHash('sha256').update(appleNonce).digest('hex'), appleCode);
    const appleToken = await apple.mint({ sub: '001111.log-scan.0001', nonce: createHash('sha256').update(appleNonce).digest('hex') });
    rememberToken(appleToken);
    const a = (await gw.gql<{ signInWithApple: AuthPayloadShape }>(SIGN_IN_APPLE, { identityToken: appleToken, nonce: appleNonce, authorizationCode: appleCode, givenName: 'Ada' })).body.data!
      .signInWithApple;
    remember(a.accessToken, a.refreshToken);
    rememberToken(a.accessToken);
    // Hostile tokens (both issuers') against the strict instance until it rate-limits.
    const hostile = [google, apple].flatMap((issuer) => [
      () => issuer.hostile.algNone(),
      () => issuer.hostile.hs256WithPublicKey(),
      () => issuer.hostile.wrongKey(),
      () => issuer.hostile.tamperedPayload(),
      () => issuer.hostile.unknownKid(),
    ]);
    for (const [i, make] of hostile.entries()) {
      const token = await make();
      rememberToken(token);
      const r = i < 5 ? await strict.gql(SIGN_IN, { idToken: token, nonce }, { 'x-forwarded-for': '192.0.2.98' }) : await strict.gql(SIGN_IN_APPLE, { identityToken: token, nonce }, { 'x-forwarded-for': '192.0.2.97' });
      expect(['UNAUTHENTICATED', 'RATE_LIMITED']).toContain(r.body.errors?.[0]?.extensions?.code);
    }

    const logs = [...gw.logs, ...strict.logs].join('');
    expect(secrets.size).toBeGreaterThan(300);
    const leaked = [...secrets].filter((secret) => logs.includes(secret));
    expect(leaked).toEqual([]);
    expect(logs).toContain('rate limited'); // the scan covered the rate-limited path too
    expect(logs).toContain('"path":"/graphql"'); // request lines carry the path only
    // Nothing shaped like one either (a JWT, a refresh token).
    expect(logs).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
    expect(logs).not.toMatch(/[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}/);
    for (const line of logs.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  });
});
