import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeClock, FakeGoogle } from '../support/fake-google.js';
import { uniquePrefix } from '../support/env.js';
import { RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';
import { SIGN_IN, startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * The receiver while Google's discovery document or keys, or Redis, are unavailable: stale
 * keys keep working within their grace; with nothing usable, and while Redis is down, the
 * answer is 503 (so Google retries), never 400 (Google would drop the event) or a crash.
 */
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';
const HOUR = 3_600_000;
let server: RedisServer;
let google: FakeGoogle;
const clock = new FakeClock();

async function deliver(g: TestGateway, token: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${g.url}/notifications/google-risc`, { method: 'POST', headers: { 'content-type': 'application/secevent+jwt' }, body: token });
  return { status: res.status, body: await res.text() };
}

beforeAll(async () => {
  server = await RedisServer.start();
  google = await FakeGoogle.start({ now: clock.now });
});
afterAll(async () => {
  await google?.close();
  await server?.destroy();
});

function gateway(): Promise<TestGateway> {
  return startTestGateway({ redisUrl: server.url, prefix: uniquePrefix(), google, now: clock.now, env: { GOOGLE_RISC_CONFIG_URI: google.riscConfigUri } });
}

describe('discovery and key outages', () => {
  it('stale discovery and keys are used while Google fails; with nothing cached: 503, then 202 once Google is back', async () => {
    const g = await gateway();
    try {
      google.discoveryMode = 'down';
      const first = await deliver(g, await google.mintSet({ [`${RISC}verification`]: { state: 'a' } }));
      expect(first.status).toBe(503);
      expect(JSON.parse(first.body)).toEqual({ err: 'temporarily_unavailable', description: expect.any(String) });

      google.discoveryMode = 'ok';
      clock.advance(10_000); // past the failure back-off
      expect((await deliver(g, await google.mintSet({ [`${RISC}verification`]: { state: 'b' } }))).status).toBe(202);

      // Both documents fail for two hours: the cached ones are past their freshness, within the grace.
      google.discoveryMode = 'down';
      google.mode = 'down';
      clock.advance(2 * HOUR);
      expect((await deliver(g, await google.mintSet({ [`${RISC}verification`]: { state: 'c' } }))).status).toBe(202);
      await g.gateway.settled();
      expect(g.logs.some((l) => l.includes('Fetching Google RISC signing keys failed; verifying with the last good keys'))).toBe(true);
    } finally {
      google.discoveryMode = 'ok';
      google.mode = 'ok';
      await g.close();
    }
  });
});

describe('Redis outage', () => {
  it('answers 503 while Redis is down, and acts on the retry once it is back', async () => {
    const g = await gateway();
    try {
      const signIn = await g.gql<{ signInWithGoogle: { accessToken: string } }>(SIGN_IN, { idToken: await google.mint({ sub: '424242' }) });
      expect(signIn.body.errors).toBeUndefined();
      const token = await google.mintSet({ [`${RISC}sessions-revoked`]: { subject: { subject_type: 'iss-sub', iss: 'https://accounts.google.com/', sub: '424242' } } });
      await server.stop();
      const down = await deliver(g, token);
      expect(down.status).toBe(503);
      expect(JSON.parse(down.body)).toMatchObject({ err: 'temporarily_unavailable' });
      await server.start();
      // The client reconnects in the background: Google's retries may come before it has.
      const retried = await waitFor('a retry accepted', async () => {
        const r = await deliver(g, token);
        return r.status === 503 ? null : r;
      });
      expect(retried).toEqual({ status: 202, body: '' });
      const me = await g.gql('{ me { id } }', {}, { authorization: `Bearer ${signIn.body.data!.signInWithGoogle.accessToken}` });
      expect(me.body.errors?.[0]?.extensions?.reason).toBe('session_revoked');
    } finally {
      await g.close();
    }
  });
});
