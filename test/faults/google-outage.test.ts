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
      // One background refetch per mode (single flight; failures are remembered for 5 s).
      expect([mode, google.fetchCount - fetchesBefore]).toEqual([mode, 1]);
      if (mode === 'slow') await new Promise((r) => setTimeout(r, google.slowMs + 200)); // it completes: fresh keys again
      clock.advance(BACKOFF);
    }
    const metrics = await (await fetch(`${g.url}/metrics`)).text();
    expect(metrics).toMatch(/^authgw_google_key_cache_events_total\{event="stale_served"\} (1[2-9]|[2-9]\d)/m);
    expect(metrics).toMatch(/^authgw_google_key_fetch_failures_total [2-9]/m);
    expect(metrics).toMatch(/^authgw_sign_ins_total\{outcome="success",reason="new_user"\} 13$/m);
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
    await new Promise((r) => setTimeout(r, 3_500)); // let the hanging fetch time out

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
    expect(metrics).toMatch(/^authgw_sign_ins_total\{outcome="unavailable",reason="keys_unavailable"\} 16$/m);
    expect(metrics).toMatch(/^authgw_google_key_fetch_failures_total [3-9]/m);
    expect(metrics).toMatch(/^authgw_id_token_verification_seconds_count\{outcome="unavailable"\} 16$/m);
  }, 30_000);
});
