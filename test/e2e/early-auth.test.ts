import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeGoogle } from '../support/fake-google.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { bearer, ME, SIGN_IN, SIGN_OUT, startTestGateway, type AuthPayloadShape, type TestGateway } from '../support/gateway.js';

/**
 * The caller of a request that carries a token is looked up before its operation executes
 * (src/graphql/early-auth.ts). What a client sees must not change: only the resolvers that ask
 * see a failed lookup, operations that need no caller never look the token up, and a session
 * ended on one instance is refused on the next request to the other.
 */
describe('looking the caller up before execution', () => {
  const redis = usePrivateRedis();
  let google: FakeGoogle;
  let a: TestGateway;
  let b: TestGateway;
  let n = 0;

  beforeAll(async () => {
    google = await FakeGoogle.start();
    const prefix = uniquePrefix();
    [a, b] = await Promise.all([startTestGateway({ redisUrl: redis.url, prefix, google }), startTestGateway({ redisUrl: redis.url, prefix, google })]);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await google?.close();
  });

  async function signIn(gw: TestGateway, headers?: Record<string, string>): Promise<AuthPayloadShape> {
    const res = await gw.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub: `early-${Date.now()}-${n++}` }) }, headers);
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.signInWithGoogle;
  }

  /** Session and user reads (HGETALL) the gateway has sent so far, from its own metrics. */
  async function sessionReads(gw: TestGateway): Promise<number> {
    const text = await gw.gateway.metrics.text();
    return Number(/^authgw_redis_command_duration_seconds_count\{command="hgetall"\} (\d+)$/m.exec(text)?.[1] ?? 0);
  }

  it('an operation that needs no caller does not look up the token attached to it', async () => {
    const session = await signIn(a);
    const before = await sessionReads(a);
    await signIn(a, bearer(session.accessToken));
    expect(await sessionReads(a)).toBe(before);
    // An operation that asks does read it: the count moves, so the assertion above can fail.
    expect((await a.gql(ME, undefined, bearer(session.accessToken))).body.errors).toBeUndefined();
    expect(await sessionReads(a)).toBeGreaterThan(before);
  });

  it('a failed lookup reaches only the fields that ask; the rest of the operation runs', async () => {
    const session = await signIn(a);
    await a.gql(SIGN_OUT, undefined, bearer(session.accessToken));
    const res = await a.gql<{ me: null; _service: { sdl: string } }>('{ me { id } _service { sdl } }', undefined, bearer(session.accessToken));
    expect(res.status).toBe(200);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: ['me'], extensions: { code: 'UNAUTHENTICATED', reason: 'session_revoked' } })]);
    expect(res.body.data!.me).toBeNull();
    expect(res.body.data!._service.sdl).toContain('type User');
  });

  it('a session ended on one instance is refused on the very next request to the other', async () => {
    const session = await signIn(a);
    for (let i = 0; i < 3; i++) expect((await b.gql(ME, undefined, bearer(session.accessToken))).body.errors).toBeUndefined();
    expect((await a.gql(SIGN_OUT, undefined, bearer(session.accessToken))).body).toEqual({ data: { signOut: true } });
    const me = await b.gql(ME, undefined, bearer(session.accessToken));
    expect(me.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'session_revoked' });
    const out = await b.gql(SIGN_OUT, undefined, bearer(session.accessToken));
    expect(out.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'session_revoked' });
  });
});
