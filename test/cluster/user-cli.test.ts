import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { uniquePrefix } from '../support/env.js';
import { FakeGoogle } from '../support/fake-google.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { RedisCluster } from '../support/redis-cluster.js';
import { RedisSentinelSetup } from '../support/redis-sentinel.js';
import { disableShowEnable, runUserCli } from '../support/user-cli.js';

// The slot function ioredis itself routes Cluster commands with (an ioredis dependency).
const calculateSlot = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;

/**
 * `npm run user` against the topologies it used to refuse: a real Sentinel setup and a real
 * three-shard Cluster, each started by the test, with a gateway on it. The command gets the
 * gateway's environment (REDIS_SENTINELS or REDIS_CLUSTER_NODES, the key prefix, production
 * settings), as `docker compose exec` gives it.
 */
let google: FakeGoogle;
beforeAll(async () => {
  google = await FakeGoogle.start();
});
afterAll(async () => {
  await google?.close();
});

let subCounter = 0;
const newSub = () => `6000${Date.now()}${subCounter++}`;

function productionEnv(prefix: string, topology: Record<string, string>): Record<string, string> {
  return { NODE_ENV: 'production', REDIS_KEY_PREFIX: prefix, GOOGLE_CLIENT_IDS: google.clientId, AUTH_ISSUER: 'https://auth.gateway.test', ...topology };
}

describe('npm run user on Redis Sentinel', () => {
  let setup: RedisSentinelSetup;
  let gw: TestGateway;
  let topology: Record<string, string>;
  const prefix = uniquePrefix();

  beforeAll(async () => {
    setup = await RedisSentinelSetup.start();
    topology = { REDIS_SENTINELS: setup.seeds, REDIS_SENTINEL_NAME: setup.name };
    gw = await startTestGateway({ prefix, google, env: topology });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await setup?.destroy();
  });

  it('disables, shows and enables an account through the Sentinels’ master', async () => {
    await disableShowEnable(gw, google, newSub(), productionEnv(prefix, topology));
  });

  it('answers an unknown user with exit 1', async () => {
    expect(await runUserCli(['show', 'AAAAAAAAAAAAAAAAAAAAAA'], productionEnv(prefix, topology))).toEqual({ code: 1, stdout: '', stderr: 'user: no user AAAAAAAAAAAAAAAAAAAAAA\n' });
  });
});

describe('npm run user on Redis Cluster', () => {
  let cluster: RedisCluster;
  let gw: TestGateway;
  let topology: Record<string, string>;
  const prefix = uniquePrefix();

  beforeAll(async () => {
    cluster = await RedisCluster.start({ masters: 3 });
    topology = { REDIS_CLUSTER_NODES: cluster.seeds };
    gw = await startTestGateway({ prefix, google, env: topology });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await cluster?.destroy();
  });

  it('disables, shows and enables accounts on every shard', async () => {
    // A user's keys live on the shard of the `{<uid>}` hash tag; `redis-cli --cluster create`
    // gives three masters equal slot ranges. Users until each range has had one (ids are random).
    const shards = new Set<number>();
    for (let attempt = 0; shards.size < 3 && attempt < 40; attempt++) {
      const uid = await disableShowEnable(gw, google, newSub(), productionEnv(prefix, topology));
      shards.add(Math.floor(calculateSlot(uid) / (16_384 / 3)));
    }
    expect([...shards].sort()).toEqual([0, 1, 2]);
  });

  it('reaches the whole cluster from one seed node', async () => {
    const oneSeed = { REDIS_CLUSTER_NODES: `127.0.0.1:${cluster.nodes[0]!.port}` };
    await disableShowEnable(gw, google, newSub(), productionEnv(prefix, oneSeed));
  });
});
