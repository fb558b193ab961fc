import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { FakeGoogle } from '../support/fake-google.js';
import { uniquePrefix } from '../support/env.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { RedisServer, freePort } from '../support/redis-server.js';
import { disableShowEnable, runUserCli } from '../support/user-cli.js';

/**
 * `npm run user` reads the gateway's configuration (the same config sections) and connects
 * through the same store factory, so it reaches Redis however the gateway does. Here: a
 * single node with a password, as the Docker image runs it (the gateway's production
 * environment), and the ways it must fail. Sentinel and Cluster: test/cluster/user-cli.test.ts
 * (`npm run test:faults`).
 */
const PASSWORD = 's3cret-pass-0123456789';
const ID = 'AAAAAAAAAAAAAAAAAAAAAA';

describe('npm run user', () => {
  let redis: RedisServer;
  let google: FakeGoogle;
  let gw: TestGateway;
  let env: Record<string, string>;

  beforeAll(async () => {
    redis = await RedisServer.start();
    // After start-up: the server's readiness probe is an unauthenticated PING.
    const admin = new Redis(redis.url);
    await admin.config('SET', 'requirepass', PASSWORD);
    admin.disconnect();
    google = await FakeGoogle.start();
    const prefix = uniquePrefix();
    const url = `redis://:${PASSWORD}@127.0.0.1:${redis.port}`;
    gw = await startTestGateway({ redisUrl: url, prefix, google });
    // What `docker compose exec gateway-1 node dist/users/user-cli.js …` sees: the gateway's environment.
    env = { NODE_ENV: 'production', REDIS_URL: url, REDIS_KEY_PREFIX: prefix, GOOGLE_CLIENT_IDS: google.clientId, AUTH_ISSUER: 'https://auth.gateway.test' };
  });
  afterAll(async () => {
    await gw?.close();
    await google?.close();
    await redis?.destroy();
  });

  it('disables, shows and enables an account on a single node, with the gateway’s production environment', async () => {
    await disableShowEnable(gw, google, `5000${Date.now()}`, env);
  });

  it('answers an unknown user with exit 1, and usage errors with exit 2 before reading any configuration', async () => {
    expect(await runUserCli(['disable', ID], env)).toEqual({ code: 1, stdout: '', stderr: `user: no user ${ID}\n` });
    expect(await runUserCli(['show', ID], env)).toEqual({ code: 1, stdout: '', stderr: `user: no user ${ID}\n` });
    for (const args of [[], ['delete', ID], ['disable'], ['disable', 'not-an-id'], ['show', ID, 'extra']]) {
      expect({ args, code: (await runUserCli(args, {})).code }).toEqual({ args, code: 2 });
    }
    expect(await runUserCli(['--help'], {})).toEqual({ code: 0, stdout: 'usage: npm run user -- <disable|enable|show> <user-id>\n', stderr: '' });
  });

  it('refuses to run without a Redis to reach, naming the three ways to configure one', async () => {
    const r = await runUserCli(['show', ID], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^user: no Redis is configured: set REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES/);
  });

  it('stops on a configuration error with exit 1 and the gateway’s message', async () => {
    const r = await runUserCli(['show', ID], { REDIS_SENTINELS: '127.0.0.1:26379' });
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.stderr).toMatch(/^user: Invalid configuration:\n {2}REDIS_SENTINEL_NAME: is required with REDIS_SENTINELS/);
  });

  it('fails with exit 1 when Redis refuses the password or cannot be reached, and never prints a password', async () => {
    const wrong = await runUserCli(['show', ID], { ...env, REDIS_URL: `redis://:wrong-${PASSWORD}@127.0.0.1:${redis.port}` });
    expect(wrong).toEqual({ code: 1, stdout: '', stderr: `user: Redis (redis://:***@127.0.0.1:${redis.port}): WRONGPASS invalid username-password pair or user is disabled.\n` });

    const closed = await freePort();
    const unreachable: Record<string, string>[] = [
      { REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${closed}` },
      { REDIS_SENTINELS: `127.0.0.1:${closed}`, REDIS_SENTINEL_NAME: 'mymaster', REDIS_SENTINEL_PASSWORD: PASSWORD, REDIS_PASSWORD: PASSWORD },
      { REDIS_CLUSTER_NODES: `127.0.0.1:${closed}`, REDIS_USERNAME: 'gw', REDIS_PASSWORD: PASSWORD },
    ];
    // Where it looked, and the connection error ioredis reported.
    const stderr = [
      `user: Redis (redis://:***@127.0.0.1:${closed}): connect ECONNREFUSED 127.0.0.1:${closed}\n`,
      `user: Redis (Sentinels 127.0.0.1:${closed}, master mymaster): All sentinels are unreachable. Retrying from scratch after 10ms. Last error: Connection is closed.\n`,
      `user: Redis (Cluster 127.0.0.1:${closed}): node 127.0.0.1:${closed}: Connection is closed.\n`,
    ];
    for (const [i, topology] of unreachable.entries()) {
      expect(await runUserCli(['show', ID], { REDIS_KEY_PREFIX: 'x:', ...topology })).toEqual({ code: 1, stdout: '', stderr: stderr[i] });
    }
  });
});
