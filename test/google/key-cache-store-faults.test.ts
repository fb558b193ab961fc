import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { GoogleKeySource } from '../../src/google/key-cache.js';
import { createRedisClient, createRedisStores, whenReady } from '../../src/store/redis/index.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { FakeGoogle } from '../support/fake-google.js';
import { captureLogger, sleep } from './helpers.js';

/**
 * Redis trouble must not stop Google sign-in: the shared cache and the locks are an
 * optimisation, so a store that is down or stalls degrades to "each instance fetches itself".
 * Real faults: the private redis-server is stopped, or paused with CLIENT PAUSE.
 */
const redis = usePrivateRedis();
let fake: FakeGoogle;
const clients: Redis[] = [];

async function redisInstance(prefix: string) {
  const client = createRedisClient(redis.url);
  clients.push(client);
  await whenReady(client);
  return createRedisStores({ client, keyPrefix: prefix });
}

beforeAll(async () => {
  fake = await FakeGoogle.start();
});
afterAll(async () => {
  await fake.close();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
});

describe('GoogleKeySource when Redis fails', () => {
  it('keeps working when Redis is stopped, and uses it again once it is back', async () => {
    const prefix = uniquePrefix();
    fake.fetchCount = 0;
    const warmStores = await redisInstance(prefix);
    const coldStores = await redisInstance(prefix);
    const log = captureLogger();
    const warm = new GoogleKeySource({ jwksUri: fake.jwksUri, cache: warmStores.googleKeys, locks: warmStores.locks, logger: log });
    await warm.getKey(fake.current.kid);
    expect(fake.fetchCount).toBe(1);

    await redis.server.stop();
    try {
      // A warm instance does not need Redis at all.
      expect(await warm.getKey(fake.current.kid)).toBeDefined();
      // A cold one cannot read the shared cache nor take the lock: it fetches by itself, promptly.
      const cold = new GoogleKeySource({ jwksUri: fake.jwksUri, cache: coldStores.googleKeys, locks: coldStores.locks, logger: log });
      const t0 = performance.now();
      expect(await cold.getKey(fake.current.kid)).toBeDefined();
      expect(performance.now() - t0).toBeLessThan(2_500);
      expect(fake.fetchCount).toBe(2);
      // Store warnings are rate-limited, not one per operation.
      const storeWarnings = log.lines.filter((l) => /continuing without it/.test(l.message));
      expect(storeWarnings.length).toBe(1);
    } finally {
      await redis.server.start();
    }

    const later = await redisInstance(prefix);
    const fresh = new GoogleKeySource({ jwksUri: fake.jwksUri, cache: later.googleKeys, locks: later.locks, logger: captureLogger() });
    await fresh.getKey(fake.current.kid);
    expect(fake.fetchCount).toBe(2); // served from the shared cache written before the outage
  });

  it('does not stall behind a paused Redis longer than storeTimeoutMs per operation', async () => {
    const prefix = uniquePrefix();
    fake.fetchCount = 0;
    const stores = await redisInstance(prefix);
    const admin = new Redis(redis.url);
    clients.push(admin);
    const source = new GoogleKeySource({ jwksUri: fake.jwksUri, cache: stores.googleKeys, locks: stores.locks, logger: captureLogger(), storeTimeoutMs: 200 });
    const pauseMs = 2_000;
    const pausedAt = performance.now();
    await admin.call('CLIENT', 'PAUSE', String(pauseMs), 'ALL');
    const t0 = performance.now();
    expect(await source.getKey(fake.current.kid)).toBeDefined();
    const elapsed = performance.now() - t0;
    // read (200 ms) + lock (200 ms) + double-check read (200 ms) + fetch: well under the pause.
    expect(elapsed).toBeLessThan(1_500);
    expect(fake.fetchCount).toBe(1);
    // (CLIENT UNPAUSE would itself wait behind PAUSE ALL: let the pause lapse.)
    await sleep(Math.max(0, pauseMs + 100 - (performance.now() - pausedAt)));
  });
});
