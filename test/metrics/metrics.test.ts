import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuthError, BadUserInputError, RateLimitedError, ServiceUnavailableError } from '../../src/errors.js';
import { GatewayMetrics, classify, redisErrorKind } from '../../src/metrics/index.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { FakeGoogle } from '../support/fake-google.js';
import { REFRESH, SIGN_IN, startTestGateway, type AuthPayloadShape, type TestGateway } from '../support/gateway.js';

/** The value of one sample in Prometheus text format, or null when absent. */
function sample(text: string, name: string, labels = ''): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('GET /metrics, two instances in one process', () => {
  let google: FakeGoogle;
  let a: TestGateway;
  let b: TestGateway;
  beforeAll(async () => {
    google = await FakeGoogle.start();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await google?.close();
  });
  const redis = usePrivateRedis();
  /** Both instances' clock: real time plus `skew`, which a test moves forward instead of sleeping. */
  let skew = 0;
  const now = () => Date.now() + skew;
  beforeAll(async () => {
    const prefix = uniquePrefix();
    const env = { REFRESH_GRACE_PERIOD: '1s' };
    [a, b] = await Promise.all([startTestGateway({ redisUrl: redis.url, prefix, google, env, now }), startTestGateway({ redisUrl: redis.url, prefix, google, env, now })]);
  });
  const scrape = async (gw: TestGateway) => {
    const res = await fetch(`${gw.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  it('counts sign-ins and refreshes by outcome and reason, per instance', async () => {
    const sign = (claims: Record<string, unknown> = {}, opts = {}) => google.mint({ sub: 'metrics-user', ...claims }, {}, opts);
    const first = await a.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await sign() });
    const again = await a.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await sign() });
    await a.gql(SIGN_IN, { idToken: 'garbage' });
    await a.gql(SIGN_IN, { idToken: await sign({}, { iat: Math.floor(Date.now() / 1000) - 7200 }) });
    await a.gql(SIGN_IN, { idToken: await sign({ aud: 'someone-else' }) });
    expect(first.body.data!.signInWithGoogle.isNewUser).toBe(true);
    expect(again.body.data!.signInWithGoogle.isNewUser).toBe(false);
    const spent = again.body.data!.signInWithGoogle.refreshToken;
    expect((await a.gql(REFRESH, { refreshToken: spent })).body.errors).toBeUndefined();
    skew += 2_000; // past REFRESH_GRACE_PERIOD (1 s): a replay is reuse
    await a.gql(REFRESH, { refreshToken: spent });
    await a.gql(REFRESH, { refreshToken: 'x.y.z' });

    const text = await scrape(a);
    const signIns = (labels: string) => sample(text, 'authgw_sign_ins_total', labels);
    expect(signIns('{provider="google",outcome="success",reason="new_user"}')).toBe(1);
    expect(signIns('{provider="google",outcome="success",reason="returning_user"}')).toBe(1);
    expect(signIns('{provider="google",outcome="rejected",reason="malformed"}')).toBe(1);
    expect(signIns('{provider="google",outcome="rejected",reason="expired"}')).toBe(1);
    expect(signIns('{provider="google",outcome="rejected",reason="wrong_audience"}')).toBe(1);
    const refreshes = (labels: string) => sample(text, 'authgw_refreshes_total', labels);
    expect(refreshes('{outcome="success",reason="rotated"}')).toBe(1);
    expect(refreshes('{outcome="rejected",reason="refresh_token_reused"}')).toBe(1);
    expect(refreshes('{outcome="rejected",reason="invalid_refresh_token"}')).toBe(1);
    // Every ID token went through the verifier, timed.
    expect(sample(text, 'authgw_id_token_verification_seconds_count', '{provider="google",outcome="valid"}')).toBe(2);
    expect(sample(text, 'authgw_id_token_verification_seconds_count', '{provider="google",outcome="rejected"}')).toBe(3);
    // The other instance has its own registry: none of this is counted there.
    const other = await scrape(b);
    expect(other).toMatch(/^# TYPE authgw_sign_ins_total counter$/m);
    expect(sample(other, 'authgw_sign_ins_total', '{provider="google",outcome="success",reason="new_user"}')).toBeNull();
  });

  it("counts Google key fetches: two cold instances on one Redis fetched once between them", async () => {
    const [ta, tb] = await Promise.all([scrape(a), scrape(b)]);
    const fetches = (sample(ta, 'authgw_provider_key_fetches_total', '{provider="google"}') ?? 0) + (sample(tb, 'authgw_provider_key_fetches_total', '{provider="google"}') ?? 0);
    expect(fetches).toBe(google.fetchCount);
    expect(fetches).toBe(1);
    expect(sample(ta, 'authgw_provider_key_fetch_failures_total', '{provider="google"}')).toBeNull(); // never failed: no series
  });

  it('estimates active sessions across instances (HyperLogLog in Redis)', async () => {
    const before = sample(await scrape(a), 'authgw_active_sessions')!;
    const payloads = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => (await (i % 2 ? a : b).gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub: `active-${i}` }) })).body.data!.signInWithGoogle),
    );
    // A refresh of an already-counted session does not count it twice.
    for (const p of payloads.slice(0, 10)) expect((await b.gql(REFRESH, { refreshToken: p.refreshToken })).body.errors).toBeUndefined();
    await Promise.all([a.gateway.settled(), b.gateway.settled()]); // recording is fire-and-forget
    for (const gw of [a, b]) {
      const estimate = sample(await scrape(gw), 'authgw_active_sessions')!;
      expect(Math.abs(estimate - before - 30)).toBeLessThanOrEqual(1);
    }
  });

  it('reports Redis as up, times its commands, and serves the default process metrics', async () => {
    const text = await scrape(a);
    expect(sample(text, 'authgw_redis_up')).toBe(1);
    expect(sample(text, 'authgw_redis_command_duration_seconds_count', '{command="evalsha"}')).toBeGreaterThan(0);
    expect(sample(text, 'authgw_redis_command_duration_seconds_count', '{command="pfadd"}')).toBeGreaterThan(0);
    expect(text).not.toMatch(/^authgw_redis_command_errors_total\{/m);
    expect(text).not.toMatch(/command="client"/); // ioredis' own handshake is not counted
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes']) {
      expect([name, sample(text, name)]).toEqual([name, expect.any(Number)]);
      expect(sample(text, name)).toBeGreaterThan(0);
    }
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('counts rate-limit hits by kind through rateLimitHit()', async () => {
    a.gateway.metrics.rateLimitHit('sign-in-addr');
    a.gateway.metrics.rateLimitHit('sign-in-addr');
    a.gateway.metrics.rateLimitHit('Not A Label!'); // never a client-chosen label value
    const text = await scrape(a);
    expect(sample(text, 'authgw_rate_limit_hits_total', '{kind="sign-in-addr"}')).toBe(2);
    expect(sample(text, 'authgw_rate_limit_hits_total', '{kind="other"}')).toBe(1);
  });
});

describe('metric labels', () => {
  it('classifies every public error by its code and reason, and anything else as internal', () => {
    expect(classify(new AuthError('expired'))).toEqual({ outcome: 'rejected', reason: 'expired' });
    expect(classify(new ServiceUnavailableError('keys_unavailable'))).toEqual({ outcome: 'unavailable', reason: 'keys_unavailable' });
    expect(classify(new RateLimitedError(30))).toEqual({ outcome: 'rate_limited', reason: 'rate_limited' });
    expect(classify(new BadUserInputError('no'))).toEqual({ outcome: 'rejected', reason: 'bad_user_input' });
    expect(classify(new Error('boom'))).toEqual({ outcome: 'error', reason: 'internal' });
  });

  it('sorts Redis errors into connection, timeout, reply and other', () => {
    expect(redisErrorKind(new Error('Command timed out'))).toBe('timeout');
    expect(redisErrorKind(new Error('Connection is closed.'))).toBe('connection');
    expect(redisErrorKind(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toBe('connection');
    expect(redisErrorKind(new Error("Cluster isn't ready and enableOfflineQueue options is false"))).toBe('connection');
    expect(redisErrorKind(Object.assign(new Error('WRONGTYPE Operation against a key'), { name: 'ReplyError' }))).toBe('reply');
    expect(redisErrorKind(new Error('something else'))).toBe('other');
  });

  it('keeps two metric sets apart (one registry each)', async () => {
    const one = new GatewayMetrics({ defaultMetrics: false });
    const two = new GatewayMetrics({ defaultMetrics: false });
    one.rateLimitHit('x');
    expect(await one.text()).toMatch(/^authgw_rate_limit_hits_total\{kind="x"\} 1$/m);
    expect(await two.text()).not.toMatch(/^authgw_rate_limit_hits_total\{/m);
  });
});
