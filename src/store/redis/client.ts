import { Redis } from 'ioredis';

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
export function createRedisClient(url: string): Redis {
  return new Redis(url, {
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 100, 1000),
  });
}

/** Resolves once the client is ready (connected and past the ready check); rejects after `timeoutMs`. */
export function whenReady(client: Redis, timeoutMs = 5000): Promise<void> {
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
