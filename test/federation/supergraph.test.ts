import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'graphql';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { createRedisClient, createRedisStores, whenReady } from '../../src/store/redis/index.js';
import type { Stores } from '../../src/store/types.js';
import { CompositionError, composeSupergraph, exampleSubgraphs } from '../../examples/supergraph/compose.js';
import { startSupergraphGateway } from '../../examples/supergraph/gateway.js';
import { startOrdersSubgraph, type OrdersSubgraph } from '../../examples/supergraph/orders/server.js';
import { sessionCheck } from '../../examples/supergraph/session-check.js';
import { ordersSdl } from '../../examples/supergraph/orders/schema.js';
import { FakeGoogle } from '../support/fake-google.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { SIGN_IN, bearer, postGraphql, startTestGateway, type AuthPayloadShape, type GqlResponse, type TestGateway } from '../support/gateway.js';
import { RoundTripProxy } from '../store/round-trip-proxy.js';

/**
 * The gateway as the identity provider of a supergraph, all real and on loopback: our
 * subgraph (Redis behind a round-trip-counting relay) and the example orders subgraph,
 * composed with @apollo/composition and served by @apollo/gateway, the stand-in for Apollo
 * Router (router.yaml): a router that verifies nothing itself, so orders asks our
 * introspection endpoint about each token's session (the set-up router.yaml documents).
 * Clients talk GraphQL over HTTP to the supergraph; the router-side requests go straight to
 * our subgraph. (The Hive Gateway set-up, where the router introspects: test/router/.)
 */
const ROUTER_SECRET = 'test-router-secret-0123456789abcdefghijklmnop';
const ISSUER = 'https://auth.gateway.test';
const AUDIENCE = 'graphql-auth-gateway';

const ENTITIES = `query Entities($r: [_Any!]!) { _entities(representations: $r) { ... on User { id name picture createdAt email } } }`;

/** POST to a full GraphQL endpoint URL (the supergraph's or a subgraph's). */
const gqlAt = postGraphql;

const userRef = (id: string) => ({ __typename: 'User', id });

describe('federation: our subgraph + the orders example behind @apollo/gateway (the Apollo Router stand-in)', () => {
  const redis = usePrivateRedis();
  let google: FakeGoogle;
  let relay: RoundTripProxy;
  let stores: Stores;
  const getUsersCalls: string[][] = [];
  let auth: TestGateway;
  let orders: OrdersSubgraph;
  let supergraph: { url: string; stop(): Promise<void> };
  let subCounter = 0;

  beforeAll(async () => {
    google = await FakeGoogle.start();
    relay = new RoundTripProxy(redis.server.port, 10);
    await relay.start();
    const client = createRedisClient(relay.url);
    await whenReady(client);
    stores = createRedisStores({ client, keyPrefix: uniquePrefix(), ownsClient: true });
    const getUsers = stores.accounts.getUsers.bind(stores.accounts);
    stores.accounts.getUsers = (ids) => {
      getUsersCalls.push([...ids]);
      return getUsers(ids);
    };
    auth = await startTestGateway({ redisUrl: relay.url, prefix: 'unused:', google, stores, env: { ROUTER_SHARED_SECRET: ROUTER_SECRET, INTROSPECTION_SECRETS: ROUTER_SECRET } });
    orders = await startOrdersSubgraph({
      port: 0,
      jwksUrl: `${auth.url}/.well-known/jwks.json`,
      issuer: ISSUER,
      audience: AUDIENCE,
      sessionCheck: sessionCheck({ url: `${auth.url}/oauth/introspect`, secret: ROUTER_SECRET }),
    });
    // Compose from what our subgraph serves, as IntrospectAndCompose or `rover … subgraph_url` would.
    const live = await auth.gql<{ _service: { sdl: string } }>('{ _service { sdl } }');
    const supergraphSdl = composeSupergraph(exampleSubgraphs(live.body.data!._service.sdl, { auth: `${auth.url}/graphql`, orders: orders.url }));
    supergraph = await startSupergraphGateway({ supergraphSdl, port: 0, routerSecret: ROUTER_SECRET });
  });
  afterAll(async () => {
    await supergraph?.stop();
    await orders?.stop();
    await auth?.close();
    await stores?.close();
    await relay?.stop();
    await google?.close();
  });

  async function signInThroughSupergraph(claims: Record<string, unknown> = {}): Promise<AuthPayloadShape> {
    const idToken = await google.mint({ sub: `fed-${Date.now()}-${subCounter++}`, ...claims });
    const res = await gqlAt<{ signInWithGoogle: AuthPayloadShape }>(supergraph.url, SIGN_IN, { idToken });
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.signInWithGoogle;
  }

  /** What a router sends our subgraph to resolve users other subgraphs referenced. */
  function entities(ids: string[], headers: Record<string, string> = {}, query = ENTITIES) {
    return auth.gql<{ _entities: Array<Record<string, unknown> | null> }>(query, { r: ids.map(userRef) }, headers);
  }

  describe('composition', () => {
    it('serves a Federation 2 subgraph SDL with User as an entity', async () => {
      const { body } = await auth.gql<{ _service: { sdl: string } }>('{ _service { sdl } }');
      const sdl = body.data!._service.sdl;
      expect(sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])');
      expect(sdl).toMatch(/type User @key\(fields: "id"\)/);
    });

    it('composes schema.graphql with the orders subgraph into the committed supergraph.graphql, with no hints', () => {
      const composed = composeSupergraph(exampleSubgraphs(readFileSync('schema.graphql', 'utf8')));
      // Stale? Run `npm run example:compose`.
      expect(readFileSync('examples/supergraph/supergraph.graphql', 'utf8')).toBe(composed + '\n');
      expect(composed).toContain('type User');
      expect(composed).toMatch(/orders: \[Order!\]!\s+@join__field\(graph: ORDERS\)/);
    });

    it('refuses a composition that leaves a hint unexplained', () => {
      // Orders describing User too is legal, but composition has to pick one description: a hint.
      const subgraphs = exampleSubgraphs(readFileSync('schema.graphql', 'utf8'));
      subgraphs[1]!.typeDefs = parse(ordersSdl.replace('type User @key', '"Someone who buys." type User @key'));
      expect(() => composeSupergraph(subgraphs)).toThrow(CompositionError);
      expect(() => composeSupergraph(subgraphs)).toThrow(/INCONSISTENT_DESCRIPTION/);
    });
  });

  describe('through the supergraph', () => {
    it('signs in, then resolves me { id orders } across both subgraphs with Authorization propagated', async () => {
      const ada = await signInThroughSupergraph({ email: 'ada@example.com', name: 'Ada' });
      expect(ada.isNewUser).toBe(true);
      for (const item of ['tea', 'scones']) {
        const placed = await gqlAt(supergraph.url, 'mutation($i: String!) { placeOrder(item: $i) { id } }', { i: item }, bearer(ada.accessToken));
        expect(placed.body.errors).toBeUndefined();
      }

      const me = await gqlAt<{ me: { id: string; email: string; orders: Array<{ id: string; item: string; buyer: { id: string; name: string; email: string } }> } }>(
        supergraph.url,
        '{ me { id email orders { id item buyer { id name email } } } }',
        undefined,
        bearer(ada.accessToken),
      );
      expect(me.body.errors).toBeUndefined();
      const data = me.body.data!.me;
      expect(data.id).toBe(ada.user.id);
      expect(data.email).toBe('ada@example.com');
      expect(data.orders.map((o) => o.item)).toEqual(['scones', 'tea']);
      // buyer is a reference back into our subgraph (`_entities`), and the caller is that user.
      for (const o of data.orders) expect(o.buyer).toEqual({ id: ada.user.id, name: 'Ada', email: 'ada@example.com' });
    });

    it('without Authorization, me is null and orders refuses to place an order', async () => {
      const anon = await gqlAt(supergraph.url, '{ me { id orders { id } } }');
      expect(anon.body).toEqual({ data: { me: null } });
      const place = await gqlAt(supergraph.url, 'mutation { placeOrder(item: "x") { id } }');
      expect(place.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });

    it('orders checks each token’s session: after signOut or deleteMyAccount, placeOrder is refused at once', async () => {
      const place = (token: string) => gqlAt(supergraph.url, 'mutation { placeOrder(item: "tea") { item } }', undefined, bearer(token));
      const ended = { data: null, errors: [{ code: 'UNAUTHENTICATED', message: 'The session has ended; sign in again.' }] };
      const outcome = (r: GqlResponse) => ({ data: r.body.data, errors: r.body.errors?.map((e) => ({ code: e.extensions?.code, message: e.message })) });

      const a = await signInThroughSupergraph();
      expect((await place(a.accessToken)).body).toEqual({ data: { placeOrder: { item: 'tea' } } });
      expect((await gqlAt(supergraph.url, 'mutation { signOut }', undefined, bearer(a.accessToken))).body).toEqual({ data: { signOut: true } });
      expect(outcome(await place(a.accessToken))).toEqual(ended);

      const b = await signInThroughSupergraph();
      expect((await gqlAt(supergraph.url, 'mutation { deleteMyAccount }', undefined, bearer(b.accessToken))).body).toEqual({ data: { deleteMyAccount: true } });
      expect(outcome(await place(b.accessToken))).toEqual(ended);
    });

    it('the orders subgraph sees who is calling: one user cannot read another user’s orders', async () => {
      const a = await signInThroughSupergraph();
      const b = await signInThroughSupergraph();
      const query = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { orders { id } } } }';
      const asB = await gqlAt(orders.url, query, { r: [userRef(a.user.id)] }, bearer(b.accessToken));
      expect(asB.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const anonymous = await gqlAt(orders.url, query, { r: [userRef(a.user.id)] });
      expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const forged = await gqlAt(orders.url, query, { r: [userRef(a.user.id)] }, bearer(`${b.accessToken.slice(0, -4)}AAAA`));
      expect(forged.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const asA = await gqlAt(orders.url, query, { r: [userRef(a.user.id)] }, bearer(a.accessToken));
      expect(asA.body).toEqual({ data: { _entities: [{ orders: [] }] } });
    });
  });

  describe('entity resolution in our subgraph', () => {
    it('resolves N users in one _entities request with one store call and one Redis round trip', async () => {
      const a = await signInThroughSupergraph({ name: 'A' });
      const b = await signInThroughSupergraph({ name: 'B' });
      getUsersCalls.length = 0;
      let res!: GqlResponse<{ _entities: Array<Record<string, unknown> | null> }>;
      const turns = await relay.count(async () => {
        res = await entities([a.user.id, b.user.id, a.user.id], { 'router-authorization': ROUTER_SECRET });
      });
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data!._entities.map((u) => u?.name)).toEqual(['A', 'B', 'A']);
      expect(getUsersCalls).toEqual([[a.user.id, b.user.id]]);
      expect(turns).toBe(1);
    });

    it('resolves unknown ids and ids that cannot be ours to null, and refuses malformed representations', async () => {
      const unknown = await entities(['A'.repeat(22), 'not-an-id']);
      expect(unknown.body).toEqual({ data: { _entities: [null, null] } });
      for (const r of [[{ __typename: 'User' }], [{ __typename: 'User', id: 5 }], [{ __typename: 'AuthPayload', accessToken: 'x' }], [{ __typename: 'Nope' }], ['User'], [null]]) {
        const bad = await auth.gql('query($r: [_Any!]!) { _entities(representations: $r) { __typename } }', { r });
        expect({ r, code: bad.body.errors?.[0]?.extensions?.code }).toEqual({ r, code: 'BAD_USER_INPUT' });
        expect(bad.raw).not.toContain('INTERNAL_SERVER_ERROR');
      }
    });

    it('shows private fields only to the user themself or the trusted router', async () => {
      const a = await signInThroughSupergraph({ email: 'a@example.com', name: 'A' });
      const b = await signInThroughSupergraph({ email: 'b@example.com', name: 'B', locale: 'fr' });
      const emailOfB = async (headers: Record<string, string>) => {
        const r = await entities([b.user.id], headers);
        return { user: r.body.data?._entities[0], codes: r.body.errors?.map((e) => e.extensions?.code) };
      };
      const publicOnly = { id: b.user.id, name: 'B', picture: expect.any(String), createdAt: expect.any(String), email: null };

      expect(await emailOfB({})).toEqual({ user: publicOnly, codes: ['FORBIDDEN'] }); // anonymous
      expect(await emailOfB(bearer(a.accessToken))).toEqual({ user: publicOnly, codes: ['FORBIDDEN'] }); // another user
      expect(await emailOfB({ 'router-authorization': 'wrong-secret' })).toEqual({ user: publicOnly, codes: ['FORBIDDEN'] });
      expect(await emailOfB(bearer(b.accessToken))).toEqual({ user: { ...publicOnly, email: 'b@example.com' }, codes: undefined }); // themself
      expect(await emailOfB({ 'router-authorization': ROUTER_SECRET })).toEqual({ user: { ...publicOnly, email: 'b@example.com' }, codes: undefined });
      // A bad token is reported as such rather than as FORBIDDEN.
      expect(await emailOfB(bearer('not.a.token'))).toEqual({ user: publicOnly, codes: ['UNAUTHENTICATED'] });

      // A refused non-null private field nulls the entity (GraphQL's rule), with the reason.
      const strict = await entities([b.user.id], bearer(a.accessToken), 'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id emailVerified locale } } }');
      expect(strict.body.data!._entities).toEqual([null]);
      expect(strict.body.errors?.map((e) => e.extensions?.code)).toContain('FORBIDDEN');
      // Public fields need no token and cost no session lookup.
      const pub = await entities([b.user.id], {}, 'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id givenName familyName } } }');
      expect(pub.body.errors).toBeUndefined();

      expect(auth.logs.some((l) => l.includes('router secret does not match'))).toBe(true);
      expect(auth.logs.join('\n')).not.toContain('wrong-secret');
    });
  });

  it('answers Apollo inline-trace requests (ftv1) only from the trusted router', async () => {
    const ask = { 'apollo-federation-include-trace': 'ftv1' };
    const untrusted = await auth.gql<unknown>('{ me { id } }', undefined, ask);
    expect(untrusted.body).toEqual({ data: { me: null } });
    const wrong = await auth.gql<unknown>('{ me { id } }', undefined, { ...ask, 'router-authorization': ROUTER_SECRET.slice(1) });
    expect(wrong.raw).not.toContain('ftv1');
    const trusted = await auth.gql<unknown>('{ me { id } }', undefined, { ...ask, 'router-authorization': ROUTER_SECRET });
    const ftv1 = (trusted.body as { extensions?: { ftv1?: unknown } }).extensions?.ftv1;
    expect(typeof ftv1).toBe('string');
    expect(Buffer.from(ftv1 as string, 'base64').length).toBeGreaterThan(10);
  });

  it('issues access tokens that verify with jose createRemoteJWKSet against the running gateway', async () => {
    const { accessToken, user } = await signInThroughSupergraph();
    const jwks = createRemoteJWKSet(new URL(`${auth.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(accessToken, jwks, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], typ: 'at+jwt' });
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: expect.any(String), typ: 'at+jwt' });
    expect(payload).toEqual({ iss: ISSUER, aud: AUDIENCE, sub: user.id, sid: expect.any(String), iat: expect.any(Number), exp: expect.any(Number) });
    await expect(jwtVerify(accessToken, jwks, { issuer: ISSUER, audience: 'someone-else' })).rejects.toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'aud' });
  });
});
