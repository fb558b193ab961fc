import type { Config } from '../config/index.js';
import type { Stores } from './types.js';
import { createRedisClient, createRedisStores } from './redis/index.js';
import { createMemoryStores } from './memory/index.js';

export type * from './types.js';
export { DEFAULT_KEY_PREFIX, keyLayout, type KeyLayout } from './keys.js';
export { createRedisClient, createRedisStores, whenReady, type RedisStoresOptions } from './redis/index.js';
export { createMemoryStores } from './memory/index.js';

/**
 * Redis when REDIS_URL is set, otherwise the embedded store (config refuses that in
 * production). The Redis client is created here, so the stores own it and close it.
 * The client connects in the background; call `ping()` (or `whenReady`) before serving.
 */
export function createStores(config: Config): Stores {
  if (config.redis.url) {
    return createRedisStores({ client: createRedisClient(config.redis.url), keyPrefix: config.redis.keyPrefix, ownsClient: true });
  }
  return createMemoryStores();
}
