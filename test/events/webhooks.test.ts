import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { runEventsCli } from '../../src/events/events-cli.js';
import { endpoint } from '../../src/events/webhooks/endpoint.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { FakeClock, FakeGoogle } from '../support/fake-google.js';
import { SIGN_IN, SIGN_OUT, bearer, startTestGateway, type AuthPayloadShape, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/wait-for.js';
import { TEST_WEBHOOK_SECRET, WebhookReceiver } from '../support/webhook-receiver.js';

const validate = new Ajv2020({ strict: true }).compile(JSON.parse(readFileSync(new URL('../../docs/events.schema.json', import.meta.url), 'utf8')) as object);

/**
 * Webhooks through the public surface: a real gateway (real Redis), GraphQL sign-ins and
 * sign-outs, receivers on loopback that verify every request with the `standardwebhooks`
 * package. The retry schedule runs on an injected clock: days pass without waiting.
 */
const redis = usePrivateRedis();
const HOUR = 3_600_000;

describe('webhooks', () => {
  let google: FakeGoogle;
  const open: { close(): Promise<void> }[] = [];
  beforeAll(async () => {
    google = await FakeGoogle.start();
  });
  afterEach(async () => {
    for (const x of open.splice(0).reverse()) await x.close();
  });
  afterAll(async () => {
    await google.close();
  });

  async function setup(opts: { receivers?: number; instances?: number; env?: Record<string, string> } = {}) {
    const receivers = await Promise.all(Array.from({ length: opts.receivers ?? 1 }, () => WebhookReceiver.start()));
    open.push(...receivers);
    const clock = new FakeClock();
    const prefix = uniquePrefix();
    const env = { WEBHOOK_ENDPOINTS: receivers.map((r) => r.url).join(','), WEBHOOK_SECRET: TEST_WEBHOOK_SECRET, ...opts.env };
    const gateways: TestGateway[] = [];
    for (let i = 0; i < (opts.instances ?? 1); i++) {
      const gw = await startTestGateway({ redisUrl: redis.url, prefix, google, env, now: clock.now });
      open.push(gw);
      gateways.push(gw);
    }
    const flush = () => Promise.all(gateways.map((g) => g.gateway.webhooks!.flush()));
    const cliEnv = { NODE_ENV: 'production', REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, GOOGLE_CLIENT_IDS: google.clientId, AUTH_ISSUER: 'https://auth.gateway.test', ...env };
    return { receivers, gateways, gw: gateways[0]!, clock, flush, prefix, cliEnv };
  }

  async function signIn(gw: TestGateway, sub: string, name = 'Alice Example'): Promise<AuthPayloadShape> {
    const res = await gw.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub, name }) });
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.signInWithGoogle;
  }

  it('delivers each event once, signed per Standard Webhooks, the body valid against the schema; an unchanged sign-in sends nothing', async () => {
    const { receivers, gw, flush } = await setup();
    const [rx] = receivers as [WebhookReceiver];
    const first = await signIn(gw, 'wh-1');
    await signIn(gw, 'wh-1'); // same profile: no event
    await signIn(gw, 'wh-1', 'Alice Renamed');
    expect((await gw.gql(SIGN_OUT, undefined, bearer(first.accessToken))).body).toEqual({ data: { signOut: true } });
    await flush();
    expect(rx.rejected).toBe(0);
    expect(rx.received.map((r) => r.event.type)).toEqual(['user.created', 'user.updated', 'session.revoked']);
    for (const r of rx.received) {
      expect(r.id).toBe(r.event.id);
      expect(Math.abs(Number(r.timestamp) - Date.now() / 1000)).toBeLessThan(60);
      expect(validate(r.event)).toBe(true);
      expect(r.event.userId).toBe(first.user.id);
    }
    expect(rx.received[1]!.event.data).toEqual({ changes: { name: 'Alice Renamed' } });
    expect(rx.received[2]!.event.data).toEqual({ sessionId: expect.any(String), reason: 'sign_out' });
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    const id = endpoint(rx.url).id;
    expect(metrics).toContain(`authgw_webhook_deliveries_total{endpoint="${id}",outcome="delivered"} 3`);
    expect(metrics).toContain(`authgw_webhook_backlog{endpoint="${id}",state="unread"} 0`);
  });

  it('retries with exponential backoff on the injected clock, then delivers', async () => {
    const { receivers, gw, flush, clock } = await setup();
    const [rx] = receivers as [WebhookReceiver];
    let failures = 3;
    rx.answer = () => (failures-- > 0 ? 503 : 200);
    await signIn(gw, 'wh-2');
    await flush(); // attempt 1 fails: retry in 30 s
    expect(rx.received).toEqual([]);
    clock.advance(29_999);
    await flush();
    expect(failures).toBe(2); // not due yet: no attempt
    clock.advance(1);
    await flush(); // attempt 2 fails: retry 60 s later
    clock.advance(59_999);
    await flush();
    expect(failures).toBe(1);
    clock.advance(1);
    await flush(); // attempt 3 fails: 120 s
    clock.advance(120_000);
    await flush();
    expect(rx.events.map((e) => e.type)).toEqual(['user.created']);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toContain(`authgw_webhook_deliveries_total{endpoint="${endpoint(rx.url).id}",outcome="retry"} 3`);
    expect(metrics).toContain(`authgw_webhook_backlog{endpoint="${endpoint(rx.url).id}",state="retrying"} 0`);
  });

  it('keeps a delivery failing past WEBHOOK_RETRY_FOR as failed, visible and replayable, never dropped', async () => {
    const { receivers, gw, flush, clock, cliEnv } = await setup();
    const [rx] = receivers as [WebhookReceiver];
    rx.answer = () => 500;
    const p = await signIn(gw, 'wh-3');
    await flush();
    // Three days of retries (the default WEBHOOK_RETRY_FOR), 4 h apart at most.
    for (let t = 0; t <= 73 * HOUR; t += HOUR) {
      clock.advance(HOUR);
      await flush();
    }
    const id = endpoint(rx.url).id;
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toContain(`authgw_webhook_deliveries_total{endpoint="${id}",outcome="failed"} 1`);
    expect(metrics).toContain(`authgw_webhook_backlog{endpoint="${id}",state="failed"} 1`);
    const out: string[] = [];
    const err: string[] = [];
    const io = (to: string[]) => ({ write: (s: string) => to.push(s) });
    expect(await runEventsCli(['failed'], cliEnv, io(out), io(err))).toBe(0);
    const [line] = out.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(line).toMatchObject({ endpoint: id, origin: new URL(rx.url).origin, type: 'user.created', userId: p.user.id, lastError: 'HTTP 500' });
    expect(line!.attempts).toBeGreaterThan(15);
    expect(out.join('')).not.toContain('receiver-path-secret');
    // Replay: the receiver works again; the delivery goes through.
    rx.answer = () => 200;
    out.length = 0;
    expect(await runEventsCli(['replay', String(line!.eventId)], cliEnv, io(out), io(err), clock.now)).toBe(0);
    expect(out.join('')).toBe(`replaying 1 delivery(ies) to ${id} (${new URL(rx.url).origin})\n`);
    await flush();
    expect(rx.events.map((e) => e.id)).toEqual([line!.eventId]);
    expect(await runEventsCli(['replay', '--all'], cliEnv, io(out), io(err), clock.now)).toBe(1);
    expect(err.join('')).toBe('events: no failed deliveries\n');
    expect(await runEventsCli(['replay'], cliEnv, io(out), io(err))).toBe(2);
  }, 60_000);

  it('a slow endpoint holds up neither the other endpoint nor requests', async () => {
    const { receivers, gw, gateways } = await setup({ receivers: 2 });
    const [slow, fast] = receivers as [WebhookReceiver, WebhookReceiver];
    let release!: () => void;
    const held = new Promise<number>((resolve) => (release = () => resolve(204)));
    slow.answer = () => held;
    for (let i = 0; i < 12; i++) await signIn(gw, `wh-4-${i}`);
    await waitFor('the fast endpoint to receive every event', () => fast.events.length === 12);
    // The slow one is holding at most its per-endpoint share of attempts; requests still run.
    expect(slow.holding).toBeGreaterThan(0);
    expect(slow.holding).toBeLessThanOrEqual(8);
    await signIn(gw, 'wh-4-late');
    release();
    await gateways[0]!.gateway.webhooks!.flush();
    await waitFor('the slow endpoint to catch up', async () => {
      await gateways[0]!.gateway.webhooks!.flush();
      return slow.events.length === 13;
    });
  });

  it('two instances deliver every event exactly once between them when nothing fails; no secret reaches a log', async () => {
    const { receivers, gateways, flush } = await setup({ instances: 2 });
    const [rx] = receivers as [WebhookReceiver];
    const payloads = await Promise.all(Array.from({ length: 20 }, (_, i) => signIn(gateways[i % 2]!, `wh-5-${i}`)));
    await Promise.all(payloads.map((p, i) => gateways[(i + 1) % 2]!.gql(SIGN_OUT, undefined, bearer(p.accessToken))));
    await waitFor('40 events delivered', async () => {
      await flush();
      return rx.received.length >= 40;
    });
    await flush();
    expect(rx.received).toHaveLength(40);
    expect(new Set(rx.received.map((r) => r.id)).size).toBe(40);
    const logs = gateways.flatMap((g) => g.logs).join('\n');
    expect(logs).not.toContain(TEST_WEBHOOK_SECRET.slice(6));
    expect(logs).not.toContain('receiver-path-secret');
  });
});
