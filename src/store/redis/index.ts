import type { Redis } from 'ioredis';
import type { Stores } from '../types.js';
import { keyLayout } from '../keys.js';
import { withScripts } from './scripts.js';
import { RedisAccountStore } from './accounts.js';
import { RedisSessionStore } from './sessions.js';
import { RedisGoogleKeyCache } from './google-keys.js';
import { RedisSigningKeyStore } from './signing-keys.js';
import { RedisLockStore } from './locks.js';

export { createRedisClient, whenReady } from './client.js';
export { RedisAccountStore, RedisSessionStore, RedisGoogleKeyCache, RedisSigningKeyStore, RedisLockStore };

export interface RedisStoresOptions {
  client: Redis;
  keyPrefix: string;
  /** Close the client in `close()` (true when the stores created it). Default false. */
  ownsClient?: boolean;
}

export function createRedisStores(opts: RedisStoresOptions): Stores {
  const client = withScripts(opts.client);
  const keys = keyLayout(opts.keyPrefix);
  return {
    kind: 'redis',
    accounts: new RedisAccountStore(client, keys),
    sessions: new RedisSessionStore(client, keys),
    googleKeys: new RedisGoogleKeyCache(client, keys),
    signingKeys: new RedisSigningKeyStore(client, keys),
    locks: new RedisLockStore(client, keys),
    async ping() {
      await client.ping();
    },
    async close() {
      if (!opts.ownsClient) return;
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}
