import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { FakeGoogle } from '../support/fake-google.js';
import { ME, SIGN_IN, startTestGateway, type AuthPayloadShape, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/wait-for.js';

/** One request on a fresh connection; resolves with status and headers, or the socket error. */
function get(url: string): Promise<{ status: number; headers: Record<string, unknown> } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

/** Waits until the gateway has accepted (routed) a GraphQL request: it logs `request received` at debug level. */
function accepted(gw: TestGateway): Promise<true> {
  return waitFor('the gateway to accept the request', () => gw.logs.some((l) => /"msg":"request received"/.test(l) && /"path":"\/graphql"/.test(l)) || null);
}

/**
 * Graceful shutdown (src/http/lifecycle.ts) in process: readiness first, in-flight requests
 * finish, new connections are refused, and SHUTDOWN_TIMEOUT bounds the wait. The real
 * SIGTERM path (node dist/main.js, exit code) is covered by test/faults/rolling-restart.
 */
describe('graceful shutdown', () => {
  let google: FakeGoogle;
  beforeAll(async () => {
    google = await FakeGoogle.start();
  });
  afterAll(async () => {
    await google?.close();
  });
  const redis = usePrivateRedis();

  it('turns readiness 503 at once, keeps serving through SHUTDOWN_DELAY with Connection: close, then refuses connections', async () => {
    google.mode = 'ok';
    const gw = await startTestGateway({ redisUrl: redis.url, prefix: uniquePrefix(), google, env: { SHUTDOWN_DELAY: '800ms' } });
    expect(await get(`${gw.url}/readyz`)).toMatchObject({ status: 200 });
    expect(gw.gateway.draining).toBe(false);

    const t0 = performance.now();
    const closing = gw.gateway.close();
    expect(gw.gateway.draining).toBe(true);
    expect(await get(`${gw.url}/readyz`)).toMatchObject({ status: 503, headers: { connection: 'close' } });
    expect(await get(`${gw.url}/healthz`)).toMatchObject({ status: 200, headers: { connection: 'close' } });
    const me = await gw.gql(ME);
    expect(me.body).toEqual({ data: { me: null } });

    expect(await closing).toEqual({ forced: false });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(750);
    expect(await get(`${gw.url}/healthz`)).toEqual({ error: 'ECONNREFUSED' });
    expect(await gw.gateway.close()).toEqual({ forced: false }); // idempotent
    const msgs = gw.logs.map((l) => JSON.parse(l).msg);
    expect(msgs).toEqual(expect.arrayContaining(['shutdown started: readiness is 503', 'shutdown complete']));
  });

  it('lets a request in flight finish after the listener has closed', async () => {
    // A cold key cache and a slow Google: the first sign-in takes ~1 s.
    google.mode = 'slow';
    google.slowMs = 1_000;
    const gw = await startTestGateway({ redisUrl: redis.url, prefix: uniquePrefix(), google, env: { LOG_LEVEL: 'debug' } });
    let answered = false;
    const signIn = gw.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub: `7000${Date.now()}` }) }).finally(() => (answered = true));
    await accepted(gw);
    const closing = gw.gateway.close();
    // No SHUTDOWN_DELAY: the listener closes at once, while the sign-in still waits for Google.
    await waitFor('the listener to close', () => !gw.gateway.app.server.listening);
    expect(await get(`${gw.url}/healthz`)).toEqual({ error: 'ECONNREFUSED' });
    expect(answered).toBe(false);
    const res = await signIn;
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.signInWithGoogle.isNewUser).toBe(true);
    expect(await closing).toEqual({ forced: false });
  });

  it('cuts what is still running after SHUTDOWN_TIMEOUT, and says so', async () => {
    // Google hangs and nothing is cached: a sign-in would wait 2 s (keyWaitMs) for keys.
    google.mode = 'hang';
    const gw = await startTestGateway({ redisUrl: redis.url, prefix: uniquePrefix(), google, env: { SHUTDOWN_TIMEOUT: '1s', LOG_LEVEL: 'debug' } });
    const signIn = gw.gql(SIGN_IN, { idToken: await google.mint({ sub: `7001${Date.now()}` }) }).then(
      (r) => ({ status: r.status }),
      (err: Error) => ({ error: err.message }),
    );
    await accepted(gw);
    const t0 = performance.now();
    expect(await gw.gateway.close()).toEqual({ forced: true });
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(950);
    expect(took).toBeLessThan(1_800);
    expect(await signIn).toEqual({ error: 'fetch failed' });
    expect(gw.logs.some((l) => /did not finish within SHUTDOWN_TIMEOUT/.test(l))).toBe(true);
    google.mode = 'ok';
  });
});
