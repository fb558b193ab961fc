import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { startOrdersSubgraph, type OrdersSubgraph } from '../../examples/supergraph/orders/server.js';
import { endpoint } from '../../src/events/webhooks/endpoint.js';
import { groupName } from '../../src/store/redis/deliveries.js';
import { keyLayout } from '../../src/store/keys.js';
import { uniquePrefix } from '../support/env.js';
import { FakeGoogle } from '../support/fake-google.js';
import { SIGN_IN, bearer, postGraphql, type AuthPayloadShape } from '../support/gateway.js';
import { GatewayProcess } from '../support/gateway-process.js';
import { RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';
import { TEST_WEBHOOK_SECRET } from '../support/webhook-receiver.js';

/**
 * Webhooks under faults, all real processes: two gateway processes (`node dist/main.js`) on one
 * redis-server (append-only file, `appendfsync always`), delivering to the example orders
 * subgraph's account-events receiver (it verifies with `standardwebhooks` and erases a deleted
 * user's orders). Between them sits a pass-through that can hold requests or answer 503, so the
 * test decides when a delivery is "in the middle".
 *
 * WEBHOOK_TIMEOUT=1s: an event left unacknowledged by a dead instance is taken over by the
 * other after 2 s idle (twice the timeout); WEBHOOK_RETRY_INITIAL=3s.
 */
const ISSUER = 'https://auth.gateway.test';

/** Forwards to `target`, unless `mode` says to hold the request (it is never answered) or to fail it. */
class Gate {
  mode: 'pass' | 'hold' | 'fail' = 'pass';
  held: string[] = [];
  forwarded: string[] = [];
  private constructor(
    private readonly server: Server,
    readonly target: URL,
  ) {}

  static async start(target: string): Promise<Gate> {
    let gate!: Gate;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const type = (JSON.parse(body.toString()) as { type: string }).type;
        if (gate.mode === 'hold' && type === 'user.deleted') {
          gate.held.push(String(req.headers['webhook-id']));
          return; // never answered: the sender is "mid-delivery"
        }
        if (gate.mode === 'fail') {
          res.writeHead(503).end();
          return;
        }
        const fwd = request(gate.target, { method: 'POST', headers: req.headers }, (up) => {
          gate.forwarded.push(String(req.headers['webhook-id']));
          res.writeHead(up.statusCode ?? 502).end();
          up.resume();
        });
        fwd.on('error', () => res.writeHead(502).end());
        fwd.end(body);
      });
    });
    gate = new Gate(server, new URL(target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return gate;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/account-events`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('webhooks under faults (real processes)', () => {
  let redis: RedisServer;
  let google: FakeGoogle;
  let orders: OrdersSubgraph;
  let gate: Gate;
  let raw: Redis;
  const prefix = uniquePrefix();
  const gateways: GatewayProcess[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    redis = await RedisServer.start();
    raw = new Redis(redis.url);
    google = await FakeGoogle.start();
    orders = await startOrdersSubgraph({ port: 0, jwksUrl: 'http://127.0.0.1:1/unused', issuer: ISSUER, audience: 'graphql-auth-gateway', accountEvents: { secret: TEST_WEBHOOK_SECRET, port: 0 } });
    gate = await Gate.start(orders.accountEventsUrl!);
    env = {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      GOOGLE_CLIENT_IDS: google.clientId,
      GOOGLE_JWKS_URI: google.jwksUri,
      GOOGLE_RISC_CONFIG_URI: google.riscConfigUri,
      WEBHOOK_ENDPOINTS: gate.url,
      WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
      WEBHOOK_TIMEOUT: '1s',
      WEBHOOK_RETRY_INITIAL: '3s',
    };
    gateways.push(await GatewayProcess.start(env), await GatewayProcess.start(env));
  }, 60_000);
  afterAll(async () => {
    for (const g of gateways) await g.kill();
    raw?.disconnect();
    await gate?.close();
    await orders?.stop();
    await google?.close();
    await redis?.destroy();
  });

  const live = () => gateways.filter((g) => g.alive);
  async function signIn(gw: GatewayProcess, sub: string): Promise<AuthPayloadShape> {
    const res = await gw.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub }) });
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.signInWithGoogle;
  }

  it('a gateway killed in the middle of delivering user.deleted: the other instance takes the event over and orders erases the user’s orders', async () => {
    const [a, b] = gateways as [GatewayProcess, GatewayProcess];
    const doomed = await signIn(a, 'fault-wh-1');
    const bystander = await signIn(b, 'fault-wh-2');
    orders.book.place(doomed.user.id, 'tea', 2);
    orders.book.place(bystander.user.id, 'coffee', 1);

    gate.mode = 'hold';
    expect((await b.gql('mutation { deleteMyAccount }', undefined, bearer(doomed.accessToken))).body).toEqual({ data: { deleteMyAccount: true } });
    const heldId = await waitFor('an instance to be in the middle of delivering user.deleted', () => gate.held[0]);
    // The instance holding it: the consumer its group lists as owning that stream entry (its name
    // carries the pid). Other entries may still be pending too (the two user.created events, when
    // their acknowledgement has not landed yet), so the held one is looked up by its event id.
    const entries = await raw.xrange(keyLayout(prefix).events(), '-', '+');
    const streamId = entries.find(([, fields]) => (JSON.parse(fields[1]!) as { id: string }).id === heldId)?.[0];
    expect(streamId).toMatch(/^\d+-\d+$/);
    const pending = (await raw.xpending(keyLayout(prefix).events(), groupName(endpoint(gate.url).id), streamId!, streamId!, 1)) as [string, string, number, number][];
    const owner = pending.map(([, consumer]) => consumer);
    expect(owner).toHaveLength(1);
    const victim = gateways.find((g) => owner[0]!.split(':')[1] === String(g.pid))!;
    expect(victim).toBeDefined();
    gate.mode = 'pass';
    await victim.kill();
    expect(orders.book.of(doomed.user.id)).toHaveLength(1); // not erased: the delivery never completed

    await waitFor('the surviving instance to deliver it', () => gate.forwarded.includes(heldId), { timeoutMs: 20_000 });
    expect(orders.book.of(doomed.user.id)).toEqual([]);
    expect(orders.book.of(bystander.user.id)).toHaveLength(1);
    const survivor = live()[0]!;
    const metrics = await (await fetch(`${survivor.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`authgw_webhook_deliveries_total\\{endpoint="${endpoint(gate.url).id}",outcome="claimed"\\} [1-9]`));
    gateways.splice(gateways.indexOf(victim), 1, await GatewayProcess.start(env));
  }, 60_000);

  it('Redis killed and restarted from its append-only file: the events, pending deliveries and retries are all there, and every event is then delivered', async () => {
    gate.mode = 'fail';
    const users = await Promise.all(Array.from({ length: 6 }, (_, i) => signIn(live()[i % 2]!, `fault-wh-aof-${i}`)));
    const k = keyLayout(prefix);
    const ep = endpoint(gate.url).id;
    // Each first attempt has failed and become a retry (or is in flight): nothing delivered yet.
    await waitFor('six retries recorded', async () => (await raw.zcard(k.webhook(ep, 'retry'))) === 6);
    const snapshot = async () => ({
      stream: await raw.xrange(k.events(), '-', '+'),
      pending: await raw.xpending(k.events(), groupName(ep)),
      retry: await raw.zrange(k.webhook(ep, 'retry'), 0, -1, 'WITHSCORES'),
      records: await raw.hgetall(k.webhook(ep, 'pending')),
    });
    // The gateways keep working on their deliveries (claims, acknowledgements, retries): freeze
    // them while Redis dies and comes back, so the state before and after is one state.
    for (const g of live()) process.kill(g.pid, 'SIGSTOP');
    let before: Awaited<ReturnType<typeof snapshot>>;
    try {
      before = await snapshot();
      raw.disconnect();
      await redis.kill();
      await redis.start();
      raw = new Redis(redis.url);
      expect(await snapshot()).toEqual(before);
    } finally {
      for (const g of live()) process.kill(g.pid, 'SIGCONT');
    }

    gate.mode = 'pass';
    const created = new Set(users.map((u) => u.user.id));
    await waitFor(
      'every user.created delivered once Redis and the receiver are back',
      async () => (await raw.zcard(k.webhook(ep, 'retry'))) === 0 && (await raw.hlen(k.webhook(ep, 'pending'))) === 0,
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const delivered = gate.forwarded.filter((id) => before.stream.some(([, f]) => (JSON.parse(f[1]!) as { id: string; userId: string }).id === id));
    const deliveredUsers = new Set(
      before.stream.map(([, f]) => JSON.parse(f[1]!) as { id: string; userId: string; type: string }).filter((e) => delivered.includes(e.id) && e.type === 'user.created').map((e) => e.userId),
    );
    for (const uid of created) expect(deliveredUsers.has(uid)).toBe(true);
    expect(await raw.hlen(k.webhook(ep, 'failed'))).toBe(0);
  }, 60_000);
});
