import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { google } from '../../../src/identity/providers/index.js';
import { providerKeys } from '../../../src/identity/verification.js';
import { KEY_SET_DEFAULTS } from '../../../src/identity/keys/index.js';
import { createRedisClient, createRedisStores, whenReady } from '../../../src/store/redis/index.js';
import { uniquePrefix, usePrivateRedis } from '../../support/env.js';
import { FakeGoogle } from '../../support/fake-google.js';
import { captureLogger, expectAuthError } from '../helpers.js';
import { ManualClock, track, until } from './support.js';

/**
 * The shared cache on a real Redis when Redis is in trouble (stopped, or stalled: it takes
 * commands and never answers), and the record's format across versions. Redis trouble must not
 * stop sign-in: the shared cache and the locks are an optimisation, so a store that is down or
 * stalls degrades to "each instance fetches itself", each store call bounded by storeTimeoutMs.
 */
const redis = usePrivateRedis();
let fake: FakeGoogle;
const clients: Redis[] = [];
const rs256 = { algorithm: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048 }, type: 'public' };

/** A TCP relay to the private Redis that can stop delivering commands (a stalled network path). */
class StallingProxy {
  stalled = false;
  url = '';
  readonly #held: [Socket, Buffer][] = [];
  readonly #sockets = new Set<Socket>();
  #server: Server | null = null;

  async start(upstreamPort: number): Promise<void> {
    this.#server = createServer((client) => {
      const upstream = connect(upstreamPort, '127.0.0.1');
      this.#sockets.add(client).add(upstream);
      client.on('data', (buf) => (this.stalled ? this.#held.push([upstream, buf]) : upstream.write(buf)));
      upstream.on('data', (buf) => client.write(buf));
      const close = () => (client.destroy(), upstream.destroy());
      client.on('close', close).on('error', close);
      upstream.on('close', close).on('error', close);
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    const addr = this.#server.address();
    this.url = `redis://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  }

  resume(): void {
    this.stalled = false;
    for (const [socket, buf] of this.#held.splice(0)) socket.write(buf);
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

async function redisInstance(prefix: string, url = redis.url) {
  const client = createRedisClient(url);
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

describe('the key cache when Redis fails', () => {
  it('keeps working when Redis is stopped, and uses it again once it is back', async () => {
    const prefix = uniquePrefix();
    fake.fetchCount = 0;
    const warmStores = await redisInstance(prefix);
    const coldStores = await redisInstance(prefix);
    const log = captureLogger();
    const clock = new ManualClock();
    const warm = providerKeys(google, { jwksUri: fake.jwksUri, store: warmStores.keySets, locks: warmStores.locks, logger: log, clock });
    const key = await warm.getKey(fake.current.kid);
    expect(fake.fetchCount).toBe(1);

    await redis.server.stop();
    try {
      // A warm instance does not need Redis at all.
      expect(await warm.getKey(fake.current.kid)).toBe(key);
      // A cold one cannot read the shared cache nor take the lock: it fetches by itself, at
      // once (every store call fails fast; the clock stands still, so no timeout is waited out).
      const cold = providerKeys(google, { jwksUri: fake.jwksUri, store: coldStores.keySets, locks: coldStores.locks, logger: log, clock });
      const got = track(cold.getKey(fake.current.kid));
      await until(() => got.settled, 'the cold instance to answer');
      expect(await got.result).toMatchObject({ status: 'fulfilled', value: rs256 });
      expect(fake.fetchCount).toBe(2);
      // Store warnings are rate-limited, not one per operation…
      const storeWarnings = () => log.lines.filter((l) => /continuing without it/.test(l.message)).length;
      expect(storeWarnings()).toBe(1);
      await expectAuthError(cold.getKey('made-up-1'), 'unknown_key');
      expect(storeWarnings()).toBe(1);
      // …one per storeWarningIntervalMs of the cache's clock.
      clock.advance(KEY_SET_DEFAULTS.storeWarningIntervalMs);
      await expectAuthError(cold.getKey('made-up-2'), 'unknown_key');
      expect(storeWarnings()).toBe(2);
    } finally {
      await redis.server.start();
    }

    const later = await redisInstance(prefix);
    const fresh = providerKeys(google, { jwksUri: fake.jwksUri, store: later.keySets, locks: later.locks, logger: captureLogger(), clock });
    expect(await fresh.getKey(fake.current.kid)).toMatchObject(rs256);
    expect(fake.fetchCount).toBe(3); // served from the shared cache written before the outage (3rd: made-up-1's refetch)
    // The clients that saw the outage reconnect; closing one mid-reconnect would leave its socket open.
    await Promise.all(clients.map((c) => whenReady(c)));
  });

  it('waits at most storeTimeoutMs per store call behind a stalled Redis', async () => {
    const proxy = new StallingProxy();
    await proxy.start(redis.server.port);
    // A plain client: no command timeout of its own, so only the key cache's bounds apply.
    const client = new Redis(proxy.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    try {
      await whenReady(client);
      const stores = createRedisStores({ client, keyPrefix: uniquePrefix() });
      fake.fetchCount = 0;
      const clock = new ManualClock();
      const storeTimeoutMs = 200;
      const log = captureLogger();
      const source = providerKeys(google, { jwksUri: fake.jwksUri, store: stores.keySets, locks: stores.locks, logger: log, clock, storeTimeoutMs, storeWarningIntervalMs: 0 });
      proxy.stalled = true;
      const got = track(source.getKey(fake.current.kid));
      let waited = 0;
      for (;;) {
        await until(() => got.settled || clock.pendingDelays().includes(storeTimeoutMs), 'a store call to wait or the look-up to end');
        if (got.settled) break;
        clock.advance(storeTimeoutMs);
        waited += storeTimeoutMs;
      }
      expect(await got.result).toMatchObject({ status: 'fulfilled', value: rs256 });
      // Four calls, each given up after storeTimeoutMs (releasing a lock never confirmed sends nothing).
      expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
        'Could not read the shared key cache; continuing without it',
        'Could not acquire google-jwks-fetch; continuing without it',
        'Could not read the shared key cache; continuing without it',
        'Could not write the shared key cache; continuing without it',
      ]);
      expect(waited).toBe(4 * storeTimeoutMs);
      expect(fake.fetchCount).toBe(1);
    } finally {
      proxy.resume();
      client.disconnect();
      await proxy.stop();
    }
  });
});

describe('the shared record across versions', () => {
  it('Google keys stay at jwks:google in the format earlier versions wrote and read', async () => {
    const prefix = uniquePrefix();
    const stores = await redisInstance(prefix);
    const raw = new Redis(redis.url);
    clients.push(raw);
    fake.fetchCount = 0;
    const { kid, n, e } = fake.current.publicJwk as { kid: string; n: string; e: string };
    // Exactly what the previous version stored (src/google/key-cache.ts before the key cache was split).
    const fetchedAt = Date.now();
    const previous = `{"jwks":{"keys":[{"kty":"RSA","kid":"${kid}","n":"${n}","e":"${e}","alg":"RS256","use":"sig"}]},"fetchedAt":${fetchedAt},"expiresAt":${fetchedAt + 3_600_000}}`;
    await raw.set(`${prefix}jwks:google`, previous, 'PX', 60_000);
    const reader = providerKeys(google, { jwksUri: fake.jwksUri, store: stores.keySets, locks: stores.locks, logger: captureLogger() });
    expect(await reader.getKey(kid)).toMatchObject(rs256);
    expect(fake.fetchCount).toBe(0);

    // And what this version writes is byte for byte that format.
    await raw.del(`${prefix}jwks:google`);
    const clock = new ManualClock(fetchedAt);
    const writer = providerKeys(google, { jwksUri: fake.jwksUri, store: stores.keySets, locks: stores.locks, logger: captureLogger(), clock });
    await writer.getKey(kid);
    expect(await raw.get(`${prefix}jwks:google`)).toBe(previous);
  });
});
