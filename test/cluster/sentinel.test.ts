import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { createRedisConnection, createRedisStores, whenReady } from '../../src/store/redis/index.js';
import { uniquePrefix } from '../support/env.js';
import { FakeGoogle } from '../support/fake-google.js';
import { ME, REFRESH, SIGN_IN, SIGN_OUT, bearer, startTestGateway, type AuthPayloadShape, type GqlResponse, type TestGateway } from '../support/gateway.js';
import { RedisSentinelSetup } from '../support/redis-sentinel.js';
import { waitFor } from '../support/wait-for.js';

/**
 * The gateway behind Redis Sentinel (REDIS_SENTINELS + REDIS_SENTINEL_NAME), on a real master,
 * replica and Sentinel started by the test; then a real failover: the master is stopped, the
 * Sentinel promotes the replica, and the gateway follows it by itself.
 */
describe('gateway on Redis Sentinel', () => {
  let setup: RedisSentinelSetup;
  let google: FakeGoogle;
  let gw: TestGateway;
  let subCounter = 0;
  const newSub = () => `3000${Date.now()}${subCounter++}`;

  beforeAll(async () => {
    setup = await RedisSentinelSetup.start();
    google = await FakeGoogle.start();
    gw = await startTestGateway({
      prefix: uniquePrefix(),
      google,
      env: { REDIS_SENTINELS: setup.seeds, REDIS_SENTINEL_NAME: setup.name },
    });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await google?.close();
    await setup?.destroy();
  });

  async function signIn(): Promise<AuthPayloadShape> {
    const res = await gw.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub: newSub() }) });
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.signInWithGoogle;
  }

  it('connects to the master the Sentinels name (not the replica)', async () => {
    const client = createRedisConnection({ kind: 'sentinel', sentinels: [{ host: '127.0.0.1', port: setup.sentinels[0]!.port }], name: setup.name, sentinelPassword: null, username: null, password: null });
    const stores = createRedisStores({ client, keyPrefix: uniquePrefix(), ownsClient: true });
    try {
      await whenReady(client, 10_000);
      expect(await client.call('ROLE').then((r) => (r as string[])[0])).toBe('master');
      expect(/tcp_port:(\d+)/.exec(await client.info('server'))?.[1]).toBe(String(setup.master.port));
      await stores.locks.acquire('x', 1000); // a write: would fail with READONLY on a replica
    } finally {
      await stores.close();
    }
  });

  it('reconnects when the failover detector drops the connection while the client is reconnecting', async () => {
    // The race behind a flaky crash-failover test, made deterministic: ioredis' failover
    // detector calls connector.disconnect() on +switch-master; arriving while the client is
    // asking a Sentinel for the master, it made connect() throw and the client end for good.
    const client = createRedisConnection({ kind: 'sentinel', sentinels: [{ host: '127.0.0.1', port: setup.sentinels[0]!.port }], name: setup.name, sentinelPassword: null, username: null, password: null });
    const stores = createRedisStores({ client, keyPrefix: uniquePrefix(), ownsClient: true });
    client.on('error', () => undefined); // the gateway logs these (instrumentRedis); here they are expected
    try {
      await whenReady(client, 10_000);
      const connector = (client as unknown as { connector: { disconnect(): void } }).connector;
      const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
      client.once('connecting', () => setImmediate(() => connector.disconnect())); // mid-connect, as the detector would
      client.disconnect(true); // drop the connection; the client starts reconnecting
      await ended; // what ioredis does on its own: the client gives up …
      await whenReady(client, 5_000); // … and we bring it back
      expect(await client.call('ROLE').then((r) => (r as string[])[0])).toBe('master');
    } finally {
      await stores.close();
    }
    // Closed on purpose: it ends (once the socket closes) and stays ended. "Stays" is a claim
    // about nothing happening, so it is watched for longer than the longest revive delay (1 s,
    // the reconnect schedule's cap in src/store/redis/client.ts): any connection attempt counts.
    await waitFor('the closed client to end', () => client.status === 'end', { timeoutMs: 2_000 });
    let attempts = 0;
    client.on('connecting', () => attempts++);
    await new Promise((r) => setTimeout(r, 1_200));
    expect({ status: client.status, attempts }).toEqual({ status: 'end', attempts: 0 });
  });

  it('signs in, refreshes and signs out', async () => {
    const p = await signIn();
    expect((await gw.gql(ME, undefined, bearer(p.accessToken))).body.errors).toBeUndefined();
    const r = await gw.gql<{ refreshSession: AuthPayloadShape }>(REFRESH, { refreshToken: p.refreshToken });
    expect(r.body.errors).toBeUndefined();
    expect((await gw.gql(SIGN_OUT, undefined, bearer(r.body.data!.refreshSession.accessToken))).body).toEqual({ data: { signOut: true } });
  });

  /**
   * While a failover settles, requests may fail, but only with SERVICE_UNAVAILABLE and
   * promptly: repeats `request` until it gets anything else (at most 20 s) and returns that.
   */
  async function once<T>(request: () => Promise<GqlResponse<T>>): Promise<GqlResponse<T>> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const started = performance.now();
      const res = await request();
      expect(performance.now() - started).toBeLessThan(3_000);
      const code = res.body.errors?.[0]?.extensions?.code;
      if (code !== 'SERVICE_UNAVAILABLE' || Date.now() > deadline) return res;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Until the Sentinels name `port` master, every other running node calls itself a replica
   * and is in sync. (In a planned failover the old master goes on calling itself master for
   * up to 10 s, until the Sentinels' next INFO round demotes it.)
   */
  async function settled(port: number): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const roles = await Promise.all(
        [setup.master, setup.replica].map(async (n) => {
          const r = new Redis(n.port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
          r.on('error', () => undefined);
          try {
            await r.connect();
            const role = (await r.call('ROLE')) as [string, ...unknown[]];
            // A replica's ROLE ends with its link state: 'connected' once in sync.
            return { port: n.port, role: role[0] === 'slave' ? `slave:${String(role[3])}` : role[0] };
          } catch {
            return { port: n.port, role: 'down' };
          } finally {
            r.disconnect();
          }
        }),
      );
      const ok = (await setup.currentMasterPort()) === port && roles.every((r) => (r.port === port ? r.role === 'master' : r.role === 'down' || r.role === 'slave:connected'));

      if (ok) return;
      if (Date.now() > deadline) throw new Error(`failover did not settle: ${JSON.stringify(roles)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Signs in a few users, waits until the replica has their sessions, runs `failover`; while
   * it settles, requests fail closed and promptly (see `once`); afterwards every session works,
   * refresh included (a write on the new master), and so does a new sign-in.
   */
  async function survives(failover: () => Promise<void>, newMaster: number): Promise<void> {
    const users = await Promise.all(Array.from({ length: 5 }, () => signIn()));
    // Replication is asynchronous: make sure the replica has every write before the master goes
    // (a write the master acknowledged but never replicated is lost in any Sentinel failover).
    const master = new Redis(await setup.currentMasterPort(), '127.0.0.1');
    try {
      expect(await master.call('WAIT', '1', '5000')).toBe(1);
    } finally {
      master.disconnect();
    }

    await failover();
    // Requests keep coming while it happens.
    const during = await Promise.all(Array.from({ length: 10 }, (_, i) => new Promise((r) => setTimeout(r, i * 150)).then(() => gw.gql(ME, undefined, bearer(users[0]!.accessToken)))));
    for (const r of during) {
      if (r.body.errors) expect(r.body.errors[0]?.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', reason: 'store_unavailable' });
      else expect(r.body).toEqual({ data: { me: { id: users[0]!.user.id, email: 'alice@example.com', name: 'Alice Example' } } });
    }
    await settled(newMaster);

    for (const p of users) {
      const me = await once(() => gw.gql<{ me: { id: string } }>(ME, undefined, bearer(p.accessToken)));
      // The whole answer, so a failure shows the error it carried.
      expect({ id: me.body.data?.me?.id, errors: me.body.errors }).toEqual({ id: p.user.id, errors: undefined });
      const r = await once(() => gw.gql(REFRESH, { refreshToken: p.refreshToken }));
      expect(r.body.errors).toBeUndefined();
    }
    const idToken = await google.mint({ sub: newSub() });
    const fresh = await once(() => gw.gql(SIGN_IN, { idToken }));
    expect(fresh.body.errors).toBeUndefined();
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
  }

  it('follows a planned failover (SENTINEL FAILOVER: the master is demoted, not stopped)', async () => {
    await survives(async () => {
      const sentinel = new Redis(setup.sentinels[0]!.port, '127.0.0.1');
      try {
        expect(await sentinel.call('SENTINEL', 'FAILOVER', setup.name)).toBe('OK');
      } finally {
        sentinel.disconnect();
      }
    }, setup.replica.port);
  }, 60_000);

  it('follows a failover after the master crashes; requests meanwhile fail closed and promptly', async () => {
    // The demoted master of the previous test is the replica now; it takes over again.
    await survives(() => setup.replica.stop(), setup.master.port);
  }, 60_000);
});
