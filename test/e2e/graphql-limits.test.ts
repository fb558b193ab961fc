import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeGoogle } from '../support/fake-google.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { startTestGateway, type GqlResponse, type TestGateway } from '../support/gateway.js';

/**
 * The per-operation GraphQL limits with their documented defaults (depth 6, aliases 15,
 * tokens 1000, cost 5000, directives 50, one sign-in/refresh per operation), over HTTP.
 * Every refusal is a 400 with a client error code, before anything executes.
 */
const redis = usePrivateRedis();
let google: FakeGoogle;
let prod: TestGateway;
let dev: TestGateway;

beforeAll(async () => {
  google = await FakeGoogle.start();
  prod = await startTestGateway({ redisUrl: redis.url, prefix: uniquePrefix(), google });
  // Development mode (suggestions shown); the development issuer stays off (it writes a key file).
  dev = await startTestGateway({ redisUrl: redis.url, prefix: uniquePrefix(), google, env: { NODE_ENV: 'development', DEV_ISSUER: 'false' } });
});
afterAll(async () => {
  await prod?.close();
  await dev?.close();
  await google?.close();
});

function expectRefused(r: GqlResponse, code: 'GRAPHQL_VALIDATION_FAILED' | 'GRAPHQL_PARSE_FAILED', message: RegExp) {
  expect({ status: r.status, data: r.body.data, codes: r.body.errors?.map((e) => e.extensions?.code) }).toEqual({ status: 400, data: undefined, codes: [code] });
  expect(r.body.errors![0]!.message).toMatch(message);
  expect(r.raw).not.toContain('INTERNAL_SERVER_ERROR');
}

/** `{ me { … on User { … on User { … id } } } }` with `n` nested inline fragments: depth n + 2. */
const nested = (n: number, inner = 'id') => `{ me { ${'... on User { '.repeat(n)}${inner}${' }'.repeat(n)} } }`;

describe('GraphQL limits (defaults)', () => {
  it('depth: 6 passes, 7 is refused', async () => {
    expect((await prod.gql(nested(4))).body).toEqual({ data: { me: null } });
    expectRefused(await prod.gql(nested(5)), 'GRAPHQL_VALIDATION_FAILED', /^Query depth limit of 6 exceeded, found 7\.$/);
  });

  it('aliases: 15 pass, 16 are refused', async () => {
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
    expect((await prod.gql(aliases(15))).body.errors).toBeUndefined();
    expectRefused(await prod.gql(aliases(16)), 'GRAPHQL_VALIDATION_FAILED', /^Aliases limit of 15 exceeded, found 16\.$/);
  });

  it('tokens: refused while parsing, including a nesting bomb that would otherwise recurse deeply', async () => {
    // 5 + 6n tokens.
    const fragments = (n: number) => `{ me { ${'... on User { id } '.repeat(n)}} }`;
    expect((await prod.gql(fragments(165))).body.errors).toBeUndefined(); // 995 tokens
    expectRefused(await prod.gql(fragments(166)), 'GRAPHQL_PARSE_FAILED', /more that 1000 tokens/);
    const bomb = `${'{a'.repeat(20_000)}${'}'.repeat(20_000)}`; // 60 KB, under the body limit
    expectRefused(await prod.gql(bomb), 'GRAPHQL_PARSE_FAILED', /tokens/);
  });

  it('cost: refused above 5000 even within the depth, alias and token limits', async () => {
    // Every User field, n times, under four inline fragments: depth 6, 11n + 14 tokens, and
    // each scalar weighs 1.5^5 at that depth.
    const fields = 'id email emailVerified name givenName familyName picture locale hostedDomain createdAt lastSignInAt ';
    expectRefused(await prod.gql(nested(4, fields.repeat(65))), 'GRAPHQL_VALIDATION_FAILED', /^Query Cost limit of 5000 exceeded, found \d+/);
    expect((await prod.gql(nested(4, fields.repeat(30)))).body.errors).toBeUndefined();
  });

  it('directives: 50 pass, 51 are refused', async () => {
    const directives = (n: number) => `{ me { ${'... on User @include(if: true) { id } '.repeat(n)}} }`;
    expect((await prod.gql(directives(50))).body.errors).toBeUndefined();
    expectRefused(await prod.gql(directives(51)), 'GRAPHQL_VALIDATION_FAILED', /^Directives limit of 50 exceeded, found 51\.$/);
  });

  it('fragment expansion bombs are refused (each level doubles the selections)', async () => {
    const levels = 26;
    const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i} on Query { ${i === levels - 1 ? 'me { id }' : `...F${i + 1} ...F${i + 1}`} }`);
    const r = await prod.gql(`{ ...F0 } ${fragments.join(' ')}`);
    expectRefused(r, 'GRAPHQL_VALIDATION_FAILED', /recursively requests too many selections/);
  });

  it('at most one signInWithGoogle, signInWithApple, linkIdentity or refreshSession per operation, aliases and fragments included', async () => {
    const message = /^An operation may contain at most one signInWithGoogle, signInWithApple, linkIdentity or refreshSession field \(aliases included\); found 2\.$/;
    const t = { t: 'x' };
    const bad = [
      'mutation($t: String!) { a: signInWithGoogle(idToken: $t) { accessToken } b: signInWithGoogle(idToken: $t) { accessToken } }',
      'mutation($t: String!) { signInWithGoogle(idToken: $t) { accessToken } refreshSession(refreshToken: $t) { accessToken } }',
      'mutation($t: String!) { ...A b: refreshSession(refreshToken: $t) { accessToken } } fragment A on Mutation { a: refreshSession(refreshToken: $t) { accessToken } }',
      'mutation($t: String!) { ... on Mutation { a: signInWithGoogle(idToken: $t) { accessToken } } ... @skip(if: true) { b: signInWithGoogle(idToken: $t) { accessToken } } }',
      'mutation($t: String!) { signInWithApple(identityToken: $t) { accessToken } signInWithGoogle(idToken: $t) { accessToken } }',
      'mutation($t: String!) { a: signInWithApple(identityToken: $t) { accessToken } b: signInWithApple(identityToken: $t) { accessToken } }',
      'mutation($t: String!) { linkIdentity(provider: APPLE, idToken: $t) { id } refreshSession(refreshToken: $t) { accessToken } }',
    ];
    for (const q of bad) expectRefused(await prod.gql(q, t), 'GRAPHQL_VALIDATION_FAILED', message);
    // The same field twice under one response key is merged by GraphQL and runs once: allowed.
    const merged = await prod.gql('mutation($t: String!) { signInWithGoogle(idToken: $t) { accessToken } signInWithGoogle(idToken: $t) { refreshToken } }', t);
    expect(merged.status).toBe(200);
    expect(merged.body.errors?.map((e) => e.extensions)).toEqual([{ code: 'UNAUTHENTICATED', reason: 'malformed' }]);
  });

  it('hides field suggestions in production only', async () => {
    const p = await prod.gql('{ mee { id } }');
    expect(p.body.errors?.[0]?.message).toBe('Cannot query field "mee" on type "Query".');
    const d = await dev.gql('{ mee { id } }');
    expect(d.body.errors?.[0]?.message).toBe('Cannot query field "mee" on type "Query". Did you mean "me"?');
  });

  it('leaves introspection outside depth and cost in development (it is off in production)', async () => {
    const { getIntrospectionQuery } = await import('graphql');
    const r = await dev.gql(getIntrospectionQuery());
    expect(r.body.errors).toBeUndefined();
    expect((r.body.data as { __schema: { types: unknown[] } }).__schema.types.length).toBeGreaterThan(5);
  });
});
