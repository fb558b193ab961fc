import { Redis } from 'ioredis';
import type { Stores } from '../types.js';
import { keyLayout } from '../keys.js';
import { defineScripts } from './lua.js';
import { markClosing, whenReady, type RedisClient } from './client.js';
import { RedisAccountStore } from './accounts.js';
import { RedisIdentityStore } from './identities.js';
import { RedisKeySetStore } from './key-sets.js';
import { RedisSigningKeyStore } from './signing-keys.js';
import { RedisLockStore } from './locks.js';
import { RedisRateLimitStore } from './rate-limits.js';
import { RedisSingleUseStore } from './single-use.js';
import { RedisSessionActivityStore } from './activity.js';
import { HashReadBatcher } from './read-batch.js';
import { RedisEventLog } from './event-relay.js';
import { RedisDeliveryStore } from './deliveries.js';
import { RedisTokenRevocationStore } from './revocations.js';
import { RedisSecurityEventStore } from './security-events.js';
import { DEFAULT_EVENTS_RETENTION_MS } from '../../events/event.js';

export { createRedisClient, createRedisConnection, whenReady, type RedisClient } from './client.js';
export { instrumentRedis, type RedisObserver } from './instrument.js';
export {
  RedisAccountStore,
  RedisIdentityStore,
  RedisKeySetStore,
  RedisSigningKeyStore,
  RedisLockStore,
  RedisRateLimitStore,
  RedisSingleUseStore,
  RedisSessionActivityStore,
};

export interface RedisStoresOptions {
  /** A single-node (or Sentinel) client or a Cluster client. */
  client: RedisClient;
  keyPrefix: string;
  /** Close the client in `close()` (true when the stores created it). Default false. */
  ownsClient?: boolean;
  /** EVENTS_RETENTION: the event stream keeps events this long (default 7 days). */
  eventsRetentionMs?: number;
  /** Where background work (the Cluster event relay) reports a failure. */
  log?: { warn(obj: object, msg: string): void };
}

export function createRedisStores(opts: RedisStoresOptions): Stores {
  const client = opts.client;
  defineScripts(client);
  const keys = keyLayout(opts.keyPrefix);
  // One batcher for every hash read of a turn (sessions and users alike): one pipeline per
  // turn, not one per store. A Cluster pipeline must stay on one node: none there.
  const reads = opts.client.isCluster ? null : new HashReadBatcher(opts.client as Redis);
  const locks = new RedisLockStore(client, keys);
  const events = new RedisEventLog(client, keys, opts.eventsRetentionMs ?? DEFAULT_EVENTS_RETENTION_MS, locks, opts.log ?? null);
  return {
    kind: 'redis',
    identities: new RedisIdentityStore(client, keys),
    accounts: new RedisAccountStore(client, keys, reads, events),
    singleUse: new RedisSingleUseStore(client, keys),
    keySets: new RedisKeySetStore(client, keys),
    signingKeys: new RedisSigningKeyStore(client, keys),
    locks,
    rateLimits: new RedisRateLimitStore(client, keys),
    activity: new RedisSessionActivityStore(client, keys),
    events,
    securityEvents: new RedisSecurityEventStore(client, keys, events),
    deliveries: new RedisDeliveryStore(client, keys),
    revocations: new RedisTokenRevocationStore(client, keys),
    /**
     * The client rejects commands while not connected (no offline queue), so a ping right
     * after start-up or during a reconnect would fail even though Redis is about to answer.
     * Wait for `ready` up to 2 s first: a probe that resolves when Redis answers within 2 s
     * and rejects (within ~2 s) while it is down. On Cluster, PING goes to one node: a
     * cluster with one shard lost still reports ready (the other shards' users are served).
     */
    async ping() {
      if (client.status === 'end') throw new Error('Redis connection is closed');
      if (client.status !== 'ready') await whenReady(client, 2000);
      await client.ping();
    },
    async close() {
      // A relay in flight finishes first (it must not write to a closed client).
      await events.settled();
      if (!opts.ownsClient) return;
      markClosing(client);
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
      // quit() leaves the Sentinel failover detector's connections open (ioredis 5.11), which
      // would keep the process alive; disconnect() closes them.
      if (client instanceof Redis && client.options.sentinels?.length) client.disconnect();
    },
  };
}
