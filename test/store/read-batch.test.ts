import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { createRedisClient, whenReady } from '../../src/store/redis/index.js';
import { HashReadBatcher } from '../../src/store/redis/read-batch.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';

/**
 * HashReadBatcher on its own, on a real Redis: one explicit pipeline per event-loop turn, with
 * the error behaviour of one pipeline per request. (Through the stores: test/store/redis.test.ts
 * counts the network writes of concurrent session reads.)
 */
const redis = usePrivateRedis();

describe('HashReadBatcher', () => {
  let client: Redis;
  let pipelines: number;
  const p = uniquePrefix();

  beforeAll(async () => {
    client = createRedisClient(redis.url);
    await whenReady(client);
    const pipeline = client.pipeline.bind(client);
    client.pipeline = ((...args: Parameters<Redis['pipeline']>) => {
      pipelines++;
      return pipeline(...args);
    }) as Redis['pipeline'];
    await client.hset(`${p}a`, { x: '1' });
    await client.hset(`${p}b`, { y: '2' });
    await client.set(`${p}string`, 'not a hash');
  });
  afterAll(async () => {
    await client.quit();
  });

  it('sends the reads of one turn as one pipeline and gives each caller its own hashes, in order', async () => {
    const batcher = new HashReadBatcher(client);
    pipelines = 0;
    const got = await Promise.all([batcher.read([`${p}a`, `${p}b`]), batcher.read([`${p}missing`]), batcher.read([`${p}b`])]);
    expect(got).toEqual([[{ x: '1' }, { y: '2' }], [{}], [{ y: '2' }]]);
    expect(pipelines).toBe(1);
    expect(await batcher.read([`${p}a`])).toEqual([{ x: '1' }]);
    expect(pipelines).toBe(2);
  });

  it("a command's error fails only the read that asked for it", async () => {
    const batcher = new HashReadBatcher(client);
    const [ok, bad, alsoOk] = await Promise.allSettled([batcher.read([`${p}a`]), batcher.read([`${p}b`, `${p}string`]), batcher.read([`${p}b`])]);
    expect(ok).toEqual({ status: 'fulfilled', value: [{ x: '1' }] });
    expect(bad).toMatchObject({ status: 'rejected', reason: { name: 'ReplyError', message: expect.stringMatching(/^WRONGTYPE/) } });
    expect(alsoOk).toEqual({ status: 'fulfilled', value: [{ y: '2' }] });
  });

  it('a pipeline that cannot be sent fails every read of its batch; the next turn reads again', async () => {
    const own = createRedisClient(redis.url); // not connected yet: no offline queue, so nothing can be sent
    try {
      const batcher = new HashReadBatcher(own);
      const results = await Promise.allSettled([batcher.read([`${p}a`]), batcher.read([`${p}b`])]);
      expect(results).toEqual([
        { status: 'rejected', reason: new Error("Stream isn't writeable and enableOfflineQueue options is false") },
        { status: 'rejected', reason: new Error("Stream isn't writeable and enableOfflineQueue options is false") },
      ]);
      await whenReady(own);
      expect(await batcher.read([`${p}a`])).toEqual([{ x: '1' }]);
    } finally {
      await own.quit();
    }
  });
});
