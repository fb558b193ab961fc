import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { FakeClock, FakeGoogle, type FakeGoogleMode } from '../support/fake-google.js';
import { SIGN_IN, startTestGateway, type AuthPayloadShape, type TestGateway } from '../support/gateway.js';

/**
 * Google's key endpoint slow, failing, answering garbage or hanging, seen through the gateway
 * over HTTP. One clock drives the fake Google (token times) and the gateways, so a test can
 * move past the keys' freshness (max-age 1 h) or past the 5 s failure back-off.
 */
const HOUR = 3_600_000;
const BACKOFF = 5_001;

describe('Google key endpoint outage', () => {
  const clock = new FakeClock();
  let google: FakeGoogle;
  const gateways: TestGateway[] = [];
  let subCounter = 0;
  const newSub = () => `5000${Date.now()}${subCounter++}`;

  beforeAll(async () => {
    google = await FakeGoogle.start({ now: clock.now });
  });
  // Declared before usePrivateRedis: afterAll hooks run in declaration order, and the gateways
  // must close before their Redis goes away.
  afterAll(async () => {
    for (const g of gateways) await g.close();
    await google?.close();
  });
  const redis = usePrivateRedis();

  async function gateway(): Promise<TestGateway> {
    const g = await startTestGateway({ redisUrl: redis.url, prefix: uniquePrefix(), google, now: clock.now });
    gateways.push(g);
    return g;
  }

  async function timedSignIn(g: TestGateway) {
    const idToken = await google.mint({ sub: newSub() });
    const t0 = performance.now();
    const res = await g.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken });
    return { res, ms: performance.now() - t0 };
  }

  it('keeps verifying with the cached keys, without waiting, whatever Google does', async () => {
    google.mode = 'ok';
    const g = await gateway();
    expect((await timedSignIn(g)).res.body.errors).toBeUndefined();
    google.slowMs = 1_000;
    for (const mode of ['slow', 'down', 'garbage', 'hang'] as FakeGoogleMode[]) {
      google.mode = mode;
      clock.advance(2 * HOUR); // past the keys' freshness: each mode gets a refetch attempt
      const fetchesBefore = google.fetchCount;
      for (let i = 0; i < 3; i++) {
        const { res, ms } = await timedSignIn(g);
        expect([mode, res.body.errors]).toEqual([mode, undefined]);
        expect(ms).toBeLessThan(1_000); // served from the stale cache, not after the fetch
      }
      // Let the background refresh finish ('slow' succeeds: fresh keys again; 'hang' times out
      // after 5 s): one refetch per mode (single flight; failures are remembered for 5 s).
      await g.gateway.settled();
      expect([mode, google.fetchCount - fetchesBefore]).toEqual([mode, 1]);
      clock.advance(BACKOFF);
    }
    const metrics = await (await fetch(`${g.url}/metrics`)).text();
    expect(metrics).toMatch(/^authgw_provider_key_cache_events_total\{provider="google",event="stale_served"\} (1[2-9]|[2-9]\d)/m);
    expect(metrics).toMatch(/^authgw_provider_key_fetch_failures_total\{provider="google"\} [2-9]/m);
    expect(metrics).toMatch(/^authgw_sign_ins_total\{provider="google",outcome="success",reason="new_user"\} 13$/m);
  }, 30_000);

  it('with no cached keys, refuses sign-in promptly with keys_unavailable, and recovers when Google does', async () => {
    // Hanging: start-up's fetch hangs (5 s timeout); sign-ins wait for it at most 2 s.
    google.mode = 'hang';
    const g = await gateway();
    const fetchesBefore = google.fetchCount;
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => timedSignIn(g)));
    for (const { res, ms } of concurrent) {
      expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', reason: 'keys_unavailable' });
      expect(res.body.data).toBeNull();
      expect(ms).toBeLessThan(3_000);
    }
    expect(google.fetchCount - fetchesBefore).toBeLessThanOrEqual(1);
    await g.gateway.settled(); // the hanging fetch times out (5 s after start-up)

    for (const mode of ['down', 'garbage'] as FakeGoogleMode[]) {
      google.mode = mode;
      clock.advance(BACKOFF);
      for (let i = 0; i < 3; i++) {
        const { res, ms } = await timedSignIn(g);
        expect([mode, res.body.errors?.[0]?.extensions]).toEqual([mode, { code: 'SERVICE_UNAVAILABLE', reason: 'keys_unavailable' }]);
        expect(ms).toBeLessThan(1_000);
      }
    }

    google.mode = 'ok';
    clock.advance(BACKOFF);
    const { res } = await timedSignIn(g);
    expect(res.body.errors).toBeUndefined();
    const metrics = await (await fetch(`${g.url}/metrics`)).text();
    expect(metrics).toMatch(/^authgw_sign_ins_total\{provider="google",outcome="unavailable",reason="keys_unavailable"\} 16$/m);
    expect(metrics).toMatch(/^authgw_provider_key_fetch_failures_total\{provider="google"\} [3-9]/m);
    expect(metrics).toMatch(/^authgw_id_token_verification_seconds_count\{provider="google",outcome="unavailable"\} 16$/m);
  }, 30_000);

  it('shutdown aborts a key fetch in flight instead of waiting for it (and logs no fetch failure)', async () => {
    google.mode = 'hang';
    const fetchesBefore = google.fetchCount;
    const g = await startTestGateway({ redisUrl: redis.url, prefix: uniquePrefix(), google, now: clock.now });
    // Start-up's fetch of Google's keys (production) is hanging.
    const deadline = Date.now() + 10_000;
    while (google.fetchCount === fetchesBefore) {
      if (Date.now() > deadline) throw new Error('the start-up fetch did not reach Google');
      await new Promise((r) => setTimeout(r, 5));
    }
    await g.close();
    // Nothing is in flight any more: close() aborted the fetch and waited for it to end.
    const afterClose = await Promise.race([g.gateway.settled().then(() => 'settled'), new Promise((r) => setImmediate(() => r('in flight')))]);
    expect(afterClose).toBe('settled');
    // Aborted, not failed: a shutdown is not a Google outage.
    expect(g.logs.filter((line) => /signing keys failed/.test(line))).toEqual([]);
  }, 30_000);
});
