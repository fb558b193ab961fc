import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { FakeClock, FakeGoogle } from '../support/fake-google.js';
import { keyLayout } from '../../src/store/keys.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { bearer, ME, REFRESH, SIGN_IN, startTestGateway, type AuthPayloadShape, type GqlResponse, type TestGateway } from '../support/gateway.js';

/**
 * Every rate limit tripping and resetting on a real Redis, with two gateway instances on one
 * key prefix sharing the counts. Client addresses come from X-Forwarded-For (TRUST_PROXY=
 * loopback: the tests are the proxy); each test uses its own addresses and accounts. The
 * gateways share a fake clock, so "wait for the window" is a clock step, not a sleep.
 *
 * Limits here (GCRA: a burst of `limit`, then one per window/limit):
 *   sign-in per address 4/1m (one per 15 s), failures per address 2/1m (30 s),
 *   sign-ins per account 2/1m (30 s), refreshes per session 2/1m (30 s).
 */
const LIMITS = {
  TRUST_PROXY: 'loopback',
  RATE_LIMIT_SIGN_IN_PER_ADDRESS: '4/1m',
  RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS: '2/1m',
  RATE_LIMIT_SIGN_IN_PER_ACCOUNT: '2/1m',
  RATE_LIMIT_REFRESH_PER_SESSION: '2/1m',
};

const redis = usePrivateRedis();
let google: FakeGoogle;
let clock: FakeClock;
let prefix: string;
let a: TestGateway;
let b: TestGateway;
let raw: Redis;
let counter = 0;
const newSub = () => `2000${Date.now()}${counter++}`;

beforeAll(async () => {
  clock = new FakeClock();
  google = await FakeGoogle.start({ now: clock.now });
  prefix = uniquePrefix();
  [a, b] = await Promise.all([
    startTestGateway({ redisUrl: redis.url, prefix, google, now: clock.now, env: LIMITS }),
    startTestGateway({ redisUrl: redis.url, prefix, google, now: clock.now, env: LIMITS }),
  ]);
  raw = new Redis(redis.url);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await google?.close();
  raw?.disconnect();
});

const from = (address: string, headers: Record<string, string> = {}) => ({ 'x-forwarded-for': address, ...headers });

async function signIn(gw: TestGateway, address: string, claims: Record<string, unknown> = {}) {
  return gw.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub: newSub(), ...claims }) }, from(address));
}

function expectOk(r: GqlResponse<Record<string, unknown>>) {
  expect({ status: r.status, errors: r.body.errors }).toEqual({ status: 200, errors: undefined });
}

/** Refused as a whole: 429, Retry-After, RATE_LIMITED with the same retryAfter, no data. */
function expectRefused(r: GqlResponse<Record<string, unknown>>, retryAfter: number) {
  expect({ status: r.status, header: r.headers.get('retry-after'), data: r.body.data ?? null, errors: r.body.errors?.map((e) => e.extensions) }).toEqual({
    status: 429,
    header: String(retryAfter),
    data: null,
    errors: [{ code: 'RATE_LIMITED', retryAfter }],
  });
  expect(r.body.errors![0]!.message).toMatch(/Too many|too often/);
}

describe('rate limits on real Redis, shared by two instances', () => {
  it('sign-in attempts per address: trip on the shared count, answer 429 with Retry-After, refill and reset', async () => {
    const addr = '203.0.113.10';
    expectOk(await signIn(a, addr));
    expectOk(await signIn(b, addr));
    expectOk(await signIn(a, addr));
    expectOk(await signIn(b, addr));
    expectRefused(await signIn(a, addr), 15);
    expectRefused(await signIn(b, addr), 15);
    // Each refusal is counted in the instance's metrics.
    for (const gw of [a, b]) {
      const text = await (await fetch(`${gw.url}/metrics`)).text();
      expect(text).toMatch(/^authgw_rate_limit_hits_total\{kind="sign-in-addr"\} 1$/m);
    }
    // Another address is not affected.
    expectOk(await signIn(b, '203.0.113.11'));
    // One more every 15 s.
    clock.advance(14_000);
    expectRefused(await signIn(a, addr), 1);
    clock.advance(1_000);
    expectOk(await signIn(a, addr));
    expectRefused(await signIn(b, addr), 15);
    // A window after the last attempt: a full burst again.
    clock.advance(60_000);
    for (const gw of [a, b, a, b]) expectOk(await signIn(gw, addr));
    expectRefused(await signIn(a, addr), 15);
  });

  it('server-issued nonces per address: same rule as sign-in attempts, their own count', async () => {
    const addr = '203.0.113.30';
    const NONCE = 'mutation { createSignInNonce { nonce expiresAt } }';
    for (const gw of [a, b, a, b]) expectOk(await gw.gql(NONCE, undefined, from(addr)));
    expectRefused(await a.gql(NONCE, undefined, from(addr)), 15);
    // Sign-in attempts from that address are counted separately and still allowed.
    expectOk(await signIn(b, addr));
    clock.advance(15_000);
    expectOk(await b.gql(NONCE, undefined, from(addr)));
  });

  it('failed verifications per address: stricter, and once spent even a valid token is refused unverified', async () => {
    const addr = '203.0.113.20';
    for (const gw of [a, b]) {
      const r = await gw.gql(SIGN_IN, { idToken: 'not.a.token' }, from(addr));
      expect(r.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'malformed' });
    }
    expectRefused(await signIn(a, addr), 30);
    expectRefused(await b.gql(REFRESH, { refreshToken: 'x' }, from(addr)), 30);
    clock.advance(30_000);
    expectOk(await signIn(b, addr));
    // The same budget counts rejected refresh tokens.
    const addr2 = '203.0.113.21';
    const session = (await signIn(a, '203.0.113.22')).body.data!.signInWithGoogle;
    for (const gw of [a, b]) {
      const r = await gw.gql(REFRESH, { refreshToken: `${session.refreshToken.slice(0, -4)}AAAA` }, from(addr2));
      expect(r.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'invalid_refresh_token' });
    }
    expectRefused(await a.gql(REFRESH, { refreshToken: session.refreshToken }, from(addr2)), 30);
    // Refused before rotation: the token was not spent.
    clock.advance(30_000);
    expectOk(await b.gql(REFRESH, { refreshToken: session.refreshToken }, from(addr2)));
  });

  it('sign-ins per Google account: only verified sign-ins count, from any address', async () => {
    const sub = newSub();
    // Forged tokens naming the account (bad signature) from other addresses spend nothing of it.
    for (const [i, gw] of [a, b, a].entries()) {
      const r = await gw.gql(SIGN_IN, { idToken: await google.hostile.wrongKey({ sub }) }, from(`198.51.100.${i + 1}`));
      expect(r.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'bad_signature' });
    }
    const first = await signIn(a, '198.51.100.10', { sub });
    expectOk(first);
    const sessionIndex = keyLayout(prefix).sessionIndex(first.body.data!.signInWithGoogle.user.id);
    expectOk(await signIn(b, '198.51.100.11', { sub }));
    expectRefused(await signIn(a, '198.51.100.12', { sub }), 30);
    // A refused sign-in writes nothing: the account holds the sessions it was admitted for.
    expect(await raw.zcard(sessionIndex)).toBe(2);
    expectOk(await signIn(b, '198.51.100.12')); // another account, same address
    clock.advance(30_000);
    expectOk(await signIn(b, '198.51.100.13', { sub }));
    expectRefused(await signIn(a, '198.51.100.14', { sub }), 30);
    expect(await raw.zcard(sessionIndex)).toBe(3);
  });

  it('refreshes per session: counted on success only; an over-budget refresh does not spend the token', async () => {
    let token = (await signIn(a, '192.0.2.1')).body.data!.signInWithGoogle.refreshToken;
    // Guesses naming this session, from other addresses, spend nothing of its budget.
    const [uid, sid] = token.split('.');
    for (const [i, gw] of [a, b].entries()) {
      const r = await gw.gql(REFRESH, { refreshToken: `${uid}.${sid}.${'B'.repeat(43)}` }, from(`192.0.2.${10 + i}`));
      expect(r.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'invalid_refresh_token' });
    }
    for (const gw of [b, a]) {
      const r = await gw.gql<{ refreshSession: AuthPayloadShape }>(REFRESH, { refreshToken: token }, from('192.0.2.1'));
      expectOk(r);
      token = r.body.data!.refreshSession.refreshToken;
    }
    expectRefused(await b.gql(REFRESH, { refreshToken: token }, from('192.0.2.1')), 30);
    clock.advance(30_000);
    const r = await a.gql<{ refreshSession: AuthPayloadShape }>(REFRESH, { refreshToken: token }, from('192.0.2.1'));
    expectOk(r);
    expectRefused(await b.gql(REFRESH, { refreshToken: r.body.data!.refreshSession.refreshToken }, from('192.0.2.1')), 30);
  });

  it('counts IPv6 clients per /64', async () => {
    const net = '2001:db8:5:6';
    for (let i = 1; i <= 4; i++) expectOk(await signIn(i % 2 ? a : b, `${net}::${i.toString(16)}`));
    expectRefused(await signIn(a, `${net}:ffff:ffff:ffff:ffff`), 15);
    expectOk(await signIn(b, '2001:db8:5:7::1'));
  });

  it('answers 200 with the error at its path when other root fields ran', async () => {
    const addr = '203.0.113.30';
    const session = (await signIn(a, addr)).body.data!.signInWithGoogle;
    for (let i = 0; i < 3; i++) expectOk(await signIn(b, addr));
    const mixed = await a.gql(
      'mutation($t: String!) { signOut signInWithGoogle(idToken: $t) { accessToken } }',
      { t: await google.mint({ sub: newSub() }) },
      from(addr, bearer(session.accessToken)),
    );
    expect(mixed.status).toBe(200);
    expect(mixed.body.errors?.map((e) => [e.path, e.extensions])).toEqual([[['signInWithGoogle'], { code: 'RATE_LIMITED', retryAfter: 15 }]]);
    // signOut did run: the session is gone.
    expect((await b.gql(ME, undefined, bearer(session.accessToken))).body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'session_revoked' });
    // Through a fragment and an alias, the only root field refused: 429.
    const viaFragment = await b.gql(
      'mutation($t: String!) { ...F } fragment F on Mutation { s: signInWithGoogle(idToken: $t) { accessToken } }',
      { t: await google.mint({ sub: newSub() }) },
      from(addr),
    );
    expectRefused(viaFragment, 15);
  });

  it('keeps rate-limit keys hashed, bounded and expiring, whatever the client sends', async () => {
    expectOk(await signIn(a, `not-an-address-${'x'.repeat(4000)}`));
    const keys: string[] = [];
    for (let cursor = '0'; ; ) {
      const [next, batch] = await raw.scan(cursor, 'MATCH', `${prefix}rl:*`, 'COUNT', 1000);
      keys.push(...batch);
      if ((cursor = next) === '0') break;
    }
    expect(keys.length).toBeGreaterThan(10);
    const kinds = new Set<string>();
    for (const key of keys) {
      const m = new RegExp(`^${prefix}rl:([a-z-]+):[A-Za-z0-9_-]{22}$`).exec(key);
      expect({ key, ok: !!m }).toEqual({ key, ok: true });
      kinds.add(m![1]!);
      const ttl = await raw.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
    expect([...kinds].sort()).toEqual(['auth-fail-addr', 'nonce-addr', 'sign-in-addr']);
    expect(keys.join('\n')).not.toMatch(/203\.0\.113|2001:db8|not-an-address/);
    // The per-account and per-session budgets are not keys: they are fields of the account's and
    // the session's own records (`sb`, `rb`), so they end with them.
    const records = async (kind: string) => {
      const found: string[] = [];
      for (let cursor = '0'; ; ) {
        const [next, batch] = await raw.scan(cursor, 'MATCH', `${prefix}${kind}:*`, 'COUNT', 1000);
        found.push(...batch);
        if ((cursor = next) === '0') break;
      }
      return found;
    };
    const budgets = async (kind: string, field: string) => (await Promise.all((await records(kind)).map((k) => raw.hexists(k, field)))).filter((x) => x === 1).length;
    expect(await budgets('user', 'sb')).toBeGreaterThan(10);
    expect(await budgets('sess', 'rb')).toBeGreaterThan(0);
  });
});

describe('TRUST_PROXY decides the client address that limits and sessions use', () => {
  const sessionAddress = async (gw: TestGateway, payload: AuthPayloadShape) => {
    const sessions = await gw.gateway.stores.accounts.listSessions(payload.user.id, clock.now());
    return sessions.map((s) => s.clientAddress);
  };

  it('unset: X-Forwarded-For is ignored, every request counts as its TCP peer', async () => {
    const gw = await startTestGateway({
      redisUrl: redis.url,
      prefix: uniquePrefix(),
      google,
      now: clock.now,
      env: { RATE_LIMIT_SIGN_IN_PER_ADDRESS: '2/1m' },
    });
    try {
      const first = await signIn(gw, '198.51.100.77');
      expectOk(first);
      expect(await sessionAddress(gw, first.body.data!.signInWithGoogle)).toEqual(['127.0.0.1']);
      expectOk(await signIn(gw, '198.51.100.78'));
      expectRefused(await signIn(gw, '198.51.100.79'), 30);
    } finally {
      await gw.close();
    }
  });

  it('loopback: the address our (loopback) proxy reports is the client; a hop count picks from the right', async () => {
    const viaLoopback = await signIn(a, '198.51.100.80');
    expect(await sessionAddress(a, viaLoopback.body.data!.signInWithGoogle)).toEqual(['198.51.100.80']);

    const gw = await startTestGateway({ redisUrl: redis.url, prefix: uniquePrefix(), google, now: clock.now, env: { TRUST_PROXY: '2' } });
    try {
      // Peer (127.0.0.1) and the last header entry are proxies; the client is the one before.
      const r = await signIn(gw, '10.9.9.9, 198.51.100.81, 192.168.0.2');
      expectOk(r);
      expect(await sessionAddress(gw, r.body.data!.signInWithGoogle)).toEqual(['198.51.100.81']);
    } finally {
      await gw.close();
    }
  });
});
