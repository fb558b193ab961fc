import { afterAll, beforeAll } from '@jest/globals';
import { Redis } from 'ioredis';
import { keyLayout, type KeyLayout } from '../../src/store/keys.js';
import { createRedisClient, createRedisStores, whenReady } from '../../src/store/redis/index.js';
import type { Stores } from '../../src/store/types.js';
import { uniquePrefix } from './env.js';

/**
 * The Redis stores under a fresh key prefix on a test file's private Redis, and a raw client
 * beside them for seeding and reading records: the set-up every Lua-mirror and store test
 * shares. Call it inside the `describe` (after `usePrivateRedis()`, whose server starts first);
 * the fields are there from `beforeAll` on.
 */
export interface RedisStoresFixture {
  readonly stores: Stores;
  readonly raw: Redis;
  readonly prefix: string;
  /** The key layout under `prefix`. */
  keys(): KeyLayout;
}

export function useRedisStores(redis: { readonly url: string }): RedisStoresFixture {
  let held: { stores: Stores; raw: Redis; prefix: string } | undefined;
  const get = () => {
    if (!held) throw new Error('useRedisStores: the stores are made in beforeAll');
    return held;
  };
  beforeAll(async () => {
    const prefix = uniquePrefix();
    const client = createRedisClient(redis.url);
    await whenReady(client);
    held = { stores: createRedisStores({ client, keyPrefix: prefix, ownsClient: true }), raw: new Redis(redis.url), prefix };
  });
  afterAll(async () => {
    await held?.stores.close();
    held?.raw.disconnect();
  });
  return {
    get stores() {
      return get().stores;
    },
    get raw() {
      return get().raw;
    },
    get prefix() {
      return get().prefix;
    },
    keys: () => keyLayout(get().prefix),
  };
}
