import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisTopology } from '../../config/index.js';

/** A single node (optionally behind Sentinel) or a Cluster: the stores work with either. */
export type RedisClient = Redis | Cluster;

/**
 * The gateway's Redis connection, tuned to fail fast and heal by itself.
 *
 * - `enableOfflineQueue: false`: while the connection is down a command is rejected at once
 *   instead of waiting in a queue. A sign-in or refresh then gets SERVICE_UNAVAILABLE right
 *   away rather than hanging until the client gives up. The cost: commands issued before the
 *   first `ready` are rejected too, so start-up waits for `whenReady()`.
 * - `autoResendUnfulfilledCommands: false`: commands in flight when the connection dropped
 *   are rejected, not replayed after reconnecting (the caller already gave up on them, and a
 *   replayed sign-in would run twice).
 * - `maxRetriesPerRequest: 1`: bounds anything that still gets queued (handshake commands).
 * - `connectTimeout` / `commandTimeout` 2 s: a silent network (no RST, e.g. a dead host or a
 *   partition) would otherwise leave a request hanging until TCP notices, minutes later.
 * - `retryStrategy`: reconnect forever, quickly (100 ms steps up to 1 s), so the gateway
 *   recovers on its own when Redis comes back.
 * - `enableAutoPipelining: true`: commands issued in the same tick share one network write,
 *   which is what makes `Promise.all` of independent reads one round trip.
 */
const NODE_OPTIONS = {
  enableAutoPipelining: true,
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2000,
  commandTimeout: 2000,
} satisfies RedisOptions;

const reconnect = (times: number) => Math.min(times * 100, 1000);

export function createRedisClient(url: string): Redis {
  return new Redis(url, { ...NODE_OPTIONS, enableOfflineQueue: false, retryStrategy: reconnect });
}

/**
 * Sentinel: ioredis asks the Sentinels (in turn) for the current master of `name`, connects
 * to it and checks its role; each reconnect asks again, so the client follows a failover by
 * itself. The fail-fast settings above apply unchanged: commands during the switch-over fail
 * with SERVICE_UNAVAILABLE instead of waiting.
 *
 * `failoverDetector`: subscribe to the Sentinels' `+switch-master` and drop the connection the
 * moment a replica is promoted. Without it the client stays on the old master until the
 * Sentinels get round to demoting it (seconds later in a planned `SENTINEL FAILOVER`), and
 * every write it takes meanwhile (sign-ins, refreshes) is discarded when it resyncs as a
 * replica: sessions that were acknowledged would vanish (the planned-failover test in
 * test/cluster/sentinel.test.ts fails without it).
 */
function createSentinelClient(t: Extract<RedisTopology, { kind: 'sentinel' }>): Redis {
  const client = new Redis({
    ...NODE_OPTIONS,
    sentinels: t.sentinels.map(({ host, port }) => ({ host, port })),
    name: t.name,
    sentinelPassword: t.sentinelPassword ?? undefined,
    username: t.username ?? undefined,
    password: t.password ?? undefined,
    failoverDetector: true,
    sentinelCommandTimeout: 1000,
    enableOfflineQueue: false,
    retryStrategy: reconnect,
  });
  reviveWhenEnded(client);
  return client;
}

/** Clients whose `end` was asked for (src/store/redis/index.ts `close()`): not revived. */
const closing = new WeakSet<RedisClient>();

/** Call before quitting or disconnecting a client for good. */
export function markClosing(client: RedisClient): void {
  closing.add(client);
}

/**
 * ioredis 5.11 race: the failover detector drops the connection (`connector.disconnect()`)
 * when a `+switch-master` arrives. If the client is reconnecting at that moment, still asking
 * a Sentinel for the master, its `connect()` throws "Connection is closed." and the client
 * ends for good (status `end`, no further retries): every later command fails, and the
 * gateway answers SERVICE_UNAVAILABLE until it is restarted. Seen in the Sentinel crash test
 * under load (test/cluster/sentinel.test.ts has a deterministic reproduction). So a client that
 * ends without our asking is connected again, on the usual reconnect schedule.
 */
function reviveWhenEnded(client: Redis): void {
  let attempts = 0;
  client.on('ready', () => {
    attempts = 0;
  });
  client.on('end', () => {
    if (closing.has(client)) return;
    setTimeout(() => {
      if (closing.has(client) || client.status !== 'end') return;
      client.connect().catch(() => undefined); // failures end it again, and come back here
    }, reconnect(++attempts)).unref();
  });
}

/**
 * Cluster. Every multi-key command, MULTI and pipeline the stores send stays within one
 * `{uid}` hash tag (src/store/keys.ts), so each goes to one node; `getUsers` (many users,
 * many slots) sends independent reads that auto-pipelining groups per node.
 *
 * - `scaleReads: 'master'` (deliberately not configurable): replicas lag, and a session read
 *   from a replica right after sign-in would be missing, i.e. the new session refused.
 * - `enableOfflineQueue: false` at the cluster level: same fail-fast reasoning as above.
 *   ioredis keeps per-node queues enabled (it needs them while it connects to a node), and
 *   retries a command whose node connection closed after `retryDelayOnFailover` (refreshing
 *   the slot map), at most `maxRedirections` times: a command fails within ~1 s when its
 *   shard is gone, and succeeds when a replica has taken over meanwhile.
 * - `clusterRetryStrategy`: reconnect to the cluster forever, like the single node.
 */
function createClusterClient(t: Extract<RedisTopology, { kind: 'cluster' }>): Cluster {
  const options: ClusterOptions = {
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    scaleReads: 'master',
    clusterRetryStrategy: reconnect,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    maxRedirections: 10,
    slotsRefreshTimeout: 2000,
    redisOptions: { ...NODE_OPTIONS, username: t.username ?? undefined, password: t.password ?? undefined },
  };
  return new Cluster(
    t.nodes.map(({ host, port }) => ({ host, port })),
    options,
  );
}

/** The client for a configured topology (connects in the background; see `whenReady`). */
export function createRedisConnection(topology: RedisTopology): RedisClient {
  switch (topology.kind) {
    case 'standalone':
      return createRedisClient(topology.url);
    case 'sentinel':
      return createSentinelClient(topology);
    case 'cluster':
      return createClusterClient(topology);
  }
}

/** Resolves once the client is ready (connected and past the ready check); rejects after `timeoutMs`. */
export function whenReady(client: RedisClient, timeoutMs = 5000): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`Redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    client.once('ready', onReady);
  });
}
