import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { composeSupergraph, exampleSubgraphs } from '../../examples/supergraph/compose.js';
import { startOrdersSubgraph, type OrdersSubgraph } from '../../examples/supergraph/orders/server.js';
import { AccessTokens } from '../../src/sessions/access-token.js';
import { FakeGoogle } from '../support/fake-google.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { REFRESH, SIGN_IN, bearer, postGraphql, startTestGateway, type AuthPayloadShape, type GqlResponse, type TestGateway } from '../support/gateway.js';
import { runUserCli } from '../support/user-cli.js';
import { waitFor } from '../support/wait-for.js';
import { HiveRouter } from './hive-router.js';
import { RecordingProxy } from './recording-proxy.js';

/**
 * The example supergraph behind a real router from npm — Hive Gateway with
 * examples/supergraph/router/gateway.config.ts — in front of our gateway (real Redis) and the
 * example orders subgraph, all on loopback. The guarantee under test: a token whose session
 * has ended is refused by every subgraph from the moment the mutation that ended it answered.
 * Each subgraph sits behind a relay that records what the router sent it.
 */
const SECRET = 'router-and-introspection-secret-0123456789abcdefgh';
const ISSUER = 'https://auth.gateway.test';
const AUDIENCE = 'graphql-auth-gateway';
const HOUR = 3_600_000;

const PLACE = 'mutation($i: String!) { placeOrder(item: $i) { id item } }';
const ME_WITH_ORDERS = '{ me { id email orders { item buyer { id name email } } } }';
const codesOf = (r: GqlResponse) => r.body.errors?.map((e) => ({ path: e.path?.join('.'), code: e.extensions?.code, reason: e.extensions?.reason }));

describe('Hive Gateway in front of the auth gateway and orders: sign-out means the same in every subgraph', () => {
  const redis = usePrivateRedis();
  const prefix = uniquePrefix();
  let google: FakeGoogle;
  let auth: TestGateway;
  let orders: OrdersSubgraph;
  let authRelay: RecordingProxy;
  let ordersRelay: RecordingProxy;
  let router: HiveRouter;
  let dir: string;
  let subCounter = 0;

  beforeAll(async () => {
    google = await FakeGoogle.start();
    auth = await startTestGateway({
      redisUrl: redis.url,
      prefix,
      google,
      // debug: an active introspection is logged at debug (routine traffic); the test counts them.
      env: { ROUTER_SHARED_SECRET: SECRET, INTROSPECTION_SECRETS: SECRET, TRUST_PROXY: 'loopback', LOG_LEVEL: 'debug' },
    });
    orders = await startOrdersSubgraph({ port: 0, jwksUrl: `${auth.url}/.well-known/jwks.json`, issuer: ISSUER, audience: AUDIENCE });
    authRelay = new RecordingProxy(new URL(`${auth.url}/graphql`));
    ordersRelay = new RecordingProxy(new URL(orders.url));
    await authRelay.start();
    await ordersRelay.start();
    const sdl = (await auth.gql<{ _service: { sdl: string } }>('{ _service { sdl } }')).body.data!._service.sdl;
    dir = mkdtempSync(join(tmpdir(), 'hive-router-'));
    const supergraph = join(dir, 'supergraph.graphql');
    writeFileSync(supergraph, composeSupergraph(exampleSubgraphs(sdl, { auth: authRelay.url, orders: ordersRelay.url })));
    router = await HiveRouter.start(supergraph, { ROUTER_SHARED_SECRET: SECRET, AUTH_GATEWAY_URL: auth.url, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE });
  }, 60_000);

  afterAll(async () => {
    await router?.stop();
    await authRelay?.stop();
    await ordersRelay?.stop();
    await orders?.stop();
    await auth?.close();
    await google?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const viaRouter = <T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>) =>
    postGraphql<T>(router.url, query, variables, headers);

  async function signIn(sub = `router-${subCounter++}`, headers: Record<string, string> = {}): Promise<AuthPayloadShape> {
    const res = await viaRouter<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub, email: `${sub}@example.com` }) }, headers);
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.signInWithGoogle;
  }

  /** The answer of placeOrder through the router, and what orders received for it. */
  async function placeOrder(token: string, item = 'tea') {
    const before = ordersRelay.requests.length;
    const res = await viaRouter<{ placeOrder: { id: string; item: string } | null }>(PLACE, { i: item }, bearer(token));
    return { res, received: ordersRelay.requests.slice(before) };
  }
  const refusedOnOrders = [{ path: 'placeOrder', code: 'UNAUTHENTICATED', reason: undefined }];

  /** Introspection requests the gateway has served so far (its request log). */
  const introspections = () => auth.logs.filter((l) => l.includes('"path":"/oauth/introspect"') && l.includes('"msg":"request completed"')).length;

  it('sign in through the router, place an order, sign out: the next placeOrder is refused', async () => {
    const ada = await signIn('ada');
    const placed = await placeOrder(ada.accessToken);
    expect(placed.res.body).toEqual({ data: { placeOrder: { id: expect.any(String), item: 'tea' } } });
    // Orders got the client's token; the router secret went to the auth subgraph only.
    expect(placed.received.map((r) => r.headers.authorization)).toEqual([`Bearer ${ada.accessToken}`]);
    expect(ordersRelay.requests.some((r) => 'router-authorization' in r.headers)).toBe(false);
    expect(authRelay.requests.every((r) => r.headers['router-authorization'] === SECRET)).toBe(true);
    expect(authRelay.requests.at(-1)!.headers['x-forwarded-for']).toBe('127.0.0.1');

    // One introspection per client request, however many times it reaches orders.
    const before = introspections();
    const me = await viaRouter(ME_WITH_ORDERS, undefined, bearer(ada.accessToken));
    expect(me.body).toEqual({
      data: { me: { id: ada.user.id, email: 'ada@example.com', orders: [{ item: 'tea', buyer: { id: ada.user.id, name: 'Alice Example', email: 'ada@example.com' } }] } },
    });
    expect(introspections() - before).toBe(1);
    // A request for the auth subgraph alone needs none: the gateway checks the session itself.
    await viaRouter('{ me { id } }', undefined, bearer(ada.accessToken));
    expect(introspections() - before).toBe(1);

    expect((await viaRouter('mutation { signOut }', undefined, bearer(ada.accessToken))).body).toEqual({ data: { signOut: true } });
    const after = await placeOrder(ada.accessToken, 'coffee');
    expect({ data: after.res.body.data, errors: codesOf(after.res) }).toEqual({ data: null, errors: refusedOnOrders });
    // Orders saw an anonymous request: the ended session's token never reached it.
    expect(after.received.map((r) => r.headers.authorization)).toEqual([undefined]);
    expect(codesOf(await viaRouter('{ me { id } }', undefined, bearer(ada.accessToken)))).toEqual([{ path: 'me', code: 'UNAUTHENTICATED', reason: 'session_revoked' }]);
  });

  it('an expired token is refused by the router’s own check, without an introspection', async () => {
    const s = await signIn();
    const { sub, sid } = decodeJwt(s.accessToken) as { sub: string; sid: string };
    // Signed with the gateway's current key for the live session, an hour ago: only `exp` is wrong.
    const expired = (await new AccessTokens({ keys: auth.gateway.keys, issuer: ISSUER, audience: AUDIENCE, ttlMs: 15 * 60_000, now: () => Date.now() - HOUR }).sign(sub, sid)).token;
    const before = introspections();
    const placed = await placeOrder(expired);
    expect({ data: placed.res.body.data, errors: codesOf(placed.res) }).toEqual({ data: null, errors: refusedOnOrders });
    expect(placed.received.map((r) => r.headers.authorization)).toEqual([undefined]);
    expect(introspections()).toBe(before);
    expect(codesOf(await viaRouter('{ me { id } }', undefined, bearer(expired)))).toEqual([{ path: 'me', code: 'UNAUTHENTICATED', reason: 'token_expired' }]);
    expect((await placeOrder(s.accessToken)).res.body.errors).toBeUndefined(); // the session itself is fine
  });

  it('signInWithGoogle and refreshSession still work through the router with a stale token attached', async () => {
    const s = await signIn('stale');
    const { sub, sid } = decodeJwt(s.accessToken) as { sub: string; sid: string };
    const expired = (await new AccessTokens({ keys: auth.gateway.keys, issuer: ISSUER, audience: AUDIENCE, ttlMs: 15 * 60_000, now: () => Date.now() - HOUR }).sign(sub, sid)).token;
    await viaRouter('mutation { signOut }', undefined, bearer(s.accessToken)); // s.accessToken is now revoked

    for (const stale of [expired, s.accessToken, 'not-a-jwt']) {
      const again = await signIn('stale', bearer(stale));
      expect(again.isNewUser).toBe(false);
      const refreshed = await viaRouter<{ refreshSession: AuthPayloadShape }>(REFRESH, { refreshToken: again.refreshToken }, bearer(stale));
      expect(refreshed.body.errors).toBeUndefined();
      expect((await placeOrder(refreshed.body.data!.refreshSession.accessToken)).res.body.errors).toBeUndefined();
    }
  });

  it('revokeSession and signOutEverywhere: the ended sessions’ tokens are refused on orders at once', async () => {
    const phone = await signIn('two-devices');
    const laptop = await signIn('two-devices');
    const phoneSid = decodeJwt(phone.accessToken).sid as string;
    expect((await viaRouter('mutation($id: ID!) { revokeSession(id: $id) }', { id: phoneSid }, bearer(laptop.accessToken))).body).toEqual({ data: { revokeSession: true } });
    expect(codesOf((await placeOrder(phone.accessToken)).res)).toEqual(refusedOnOrders);
    expect((await placeOrder(laptop.accessToken)).res.body.errors).toBeUndefined();
    expect((await viaRouter('mutation { signOutEverywhere }', undefined, bearer(laptop.accessToken))).body).toEqual({ data: { signOutEverywhere: 1 } });
    expect(codesOf((await placeOrder(laptop.accessToken)).res)).toEqual(refusedOnOrders);
  });

  it('a disabled account and a deleted account are refused on orders at once', async () => {
    const disabled = await signIn();
    expect((await placeOrder(disabled.accessToken)).res.body.errors).toBeUndefined();
    const cli = await runUserCli(['disable', disabled.user.id], { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix });
    expect({ code: cli.code, stdout: cli.stdout.trim() }).toEqual({ code: 0, stdout: `disabled user ${disabled.user.id}; ended 1 session(s)` });
    expect(codesOf((await placeOrder(disabled.accessToken)).res)).toEqual(refusedOnOrders);

    const deleted = await signIn();
    expect((await placeOrder(deleted.accessToken)).res.body.errors).toBeUndefined();
    expect((await viaRouter('mutation { deleteMyAccount }', undefined, bearer(deleted.accessToken))).body).toEqual({ data: { deleteMyAccount: true } });
    expect(codesOf((await placeOrder(deleted.accessToken)).res)).toEqual(refusedOnOrders);
  });

  it('forged tokens, a key the gateway never published, garbage: refused, never a 5xx, never introspected', async () => {
    const s = await signIn();
    const [header, payload] = s.accessToken.split('.') as [string, string, string];
    const unknownKid = `${Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'never-published', typ: 'at+jwt' })).toString('base64url')}.${payload}.${s.accessToken.split('.')[2]}`;
    const forgedSig = `${header}.${payload}.${'A'.repeat(86)}`;
    const hs256 = `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')}.${payload}.c2lnbmF0dXJl`;
    const before = introspections();
    for (const token of [unknownKid, forgedSig, hs256, 'garbage', `${s.accessToken}x`]) {
      const placed = await placeOrder(token);
      expect({ token: token.slice(0, 16), status: placed.res.status, errors: codesOf(placed.res) }).toEqual({ token: token.slice(0, 16), status: 200, errors: refusedOnOrders });
    }
    const basic = await viaRouter(PLACE, { i: 'x' }, { authorization: 'Basic dXNlcjpwYXNz' });
    expect({ status: basic.status, errors: codesOf(basic) }).toEqual({ status: 200, errors: refusedOnOrders });
    expect(introspections()).toBe(before);
  });

  it('the router logs neither tokens nor secrets', () => {
    expect(router.output.length).toBeGreaterThan(0);
    expect(router.output).not.toContain(SECRET);
    expect(router.output).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
  });

  // Last: it stops Redis.
  it('Redis down: orders’ fields fail with SERVICE_UNAVAILABLE and orders is not called; once it is back, orders works again', async () => {
    const s = await signIn();
    expect((await placeOrder(s.accessToken)).res.body.errors).toBeUndefined();
    await redis.server.stop();
    try {
      const placed = await placeOrder(s.accessToken);
      expect({ data: placed.res.body.data, errors: codesOf(placed.res) }).toEqual({ data: null, errors: [{ path: 'placeOrder', code: 'SERVICE_UNAVAILABLE', reason: undefined }] });
      expect(placed.received).toEqual([]);
    } finally {
      await redis.server.start();
    }
    await waitFor('orders reachable again through the router', async () => (await placeOrder(s.accessToken)).res.body.errors === undefined, { timeoutMs: 15_000, intervalMs: 200 });
  });
});
