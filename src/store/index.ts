import type { Config } from '../config/index.js';
import type { Stores } from './types.js';
import { createRedisConnection, createRedisStores, instrumentRedis, type RedisObserver } from './redis/index.js';
import { createMemoryStores } from './memory/index.js';

export type * from './types.js';
export { DEFAULT_KEY_PREFIX, keyLayout, type KeyLayout } from './keys.js';
export { createRedisClient, createRedisConnection, createRedisStores, whenReady, type RedisClient, type RedisStoresOptions } from './redis/index.js';
export { createMemoryStores } from './memory/index.js';

export interface CreateStoresOptions {
  /** Observes Redis commands and connection events (metrics, logs). */
  observe?: RedisObserver & { ready?(isReady: () => boolean): void };
}

/**
 * Redis when a topology is configured (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES),
 * otherwise the embedded store (config refuses that in production). The Redis client is
 * created here, so the stores own it and close it. The client connects in the background;
 * call `ping()` (or `whenReady`) before serving.
 */
export function createStores(config: Config, opts: CreateStoresOptions = {}): Stores {
  const topology = config.redis.topology;
  if (topology) {
    const client = createRedisConnection(topology);
    if (opts.observe) {
      instrumentRedis(client, opts.observe);
      opts.observe.ready?.(() => client.status === 'ready');
    }
    return createRedisStores({ client, keyPrefix: config.redis.keyPrefix, ownsClient: true, eventsRetentionMs: config.events.retentionMs, log: opts.observe?.log });
  }
  return createMemoryStores({ eventsRetentionMs: config.events.retentionMs });
}
