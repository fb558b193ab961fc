import { describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { createRedisClient, createRedisStores, instrumentRedis, whenReady } from '../../src/store/redis/index.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';

const redis = usePrivateRedis();

/** What the instrumentation reports for each command the stores send. */
async function observed() {
  const client = createRedisClient(redis.url);
  const calls: { name: string; error: string | null }[] = [];
  instrumentRedis(client, { command: (name, seconds, error) => {
    expect(seconds).toBeGreaterThanOrEqual(0);
    calls.push({ name, error: error === null ? null : (error as Error).message });
  } });
  await whenReady(client);
  calls.length = 0; // ioredis' own ready check
  const stores = createRedisStores({ client, keyPrefix: uniquePrefix(), ownsClient: true });
  return { client, calls, stores };
}

describe('Redis command instrumentation', () => {
  it('reports each command once, when it settles, with its error only when it failed', async () => {
    const { client, calls, stores } = await observed();
    try {
      await stores.rateLimits.peek('test', 'subject', 5, 60_000, Date.now());
      const key = `${uniquePrefix()}s`;
      await expect(client.hget(`${key}-absent`, 'x').then(() => client.set(key, '1')).then(() => client.hget(key, 'f'))).rejects.toThrow(/WRONGTYPE/);
      expect(calls).toEqual([
        { name: 'get', error: null },
        { name: 'hget', error: null },
        { name: 'set', error: null },
        { name: 'hget', error: expect.stringMatching(/^WRONGTYPE/) },
      ]);
    } finally {
      await stores.close();
    }
  });

  it('does not count a script that Redis forgot (NOSCRIPT) as failed: the retry is the outcome', async () => {
    const { calls, stores } = await observed();
    const admin = new Redis(redis.url);
    try {
      const now = Date.now();
      await stores.rateLimits.hit('test', 'noscript', 5, 60_000, now);
      await admin.script('FLUSH');
      calls.length = 0;
      await expect(stores.rateLimits.hit('test', 'noscript', 5, 60_000, now)).resolves.toMatchObject({ allowed: true, remaining: 3 });
      expect(calls.length).toBeGreaterThanOrEqual(1);
      expect(calls.every((c) => c.error === null && (c.name === 'evalsha' || c.name === 'eval'))).toBe(true);
    } finally {
      admin.disconnect();
      await stores.close();
    }
  });
});
