import { afterEach, beforeEach } from '@jest/globals';
import type { Redis } from 'ioredis';
import { google } from '../../../src/identity/providers/index.js';
import { providerKeys } from '../../../src/identity/verification.js';
import type { IdTokenVerifier } from '../../../src/identity/verifier.js';
import { clockWithNow, type Clock, type ProviderKeys, type ProviderKeysOptions } from '../../../src/identity/keys/index.js';
import { createMemoryStores } from '../../../src/store/memory/index.js';
import { createRedisClient, createRedisStores, whenReady } from '../../../src/store/redis/index.js';
import type { Stores } from '../../../src/store/types.js';
import { uniquePrefix } from '../../support/env.js';
import { FakeClock, FakeGoogle } from '../../support/fake-google.js';
import { captureLogger, googleVerifier } from '../helpers.js';

/**
 * A clock whose time and timers move only when a test says so. Timeouts of the key cache
 * (fetch, store call, wait for keys, lock polling) then fire exactly when the test advances
 * past them: a test checks "fails after the timeout, not before" without waiting in real time.
 */
export class ManualClock extends FakeClock implements Clock {
  readonly #timers = new Set<{ at: number; fn: () => void }>();

  readonly setTimeout = (fn: () => void, ms: number): (() => void) => {
    const timer = { at: this.t + Math.max(0, ms), fn };
    this.#timers.add(timer);
    return () => {
      this.#timers.delete(timer);
    };
  };

  /** Moves time forward by `ms`, firing due timers in order (each at its own due time). */
  override advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: { at: number; fn: () => void } | undefined;
      for (const timer of this.#timers) if (timer.at <= end && (!next || timer.at < next.at)) next = timer;
      if (!next) break;
      this.#timers.delete(next);
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }

  /** Delays (ms from now) of the timers not yet fired. */
  pendingDelays(): number[] {
    return [...this.#timers].map((timer) => timer.at - this.t).sort((a, b) => a - b);
  }

  /** Resolves once a timer due exactly `ms` from now is pending (the code under test waits on it). */
  async timerPending(ms: number): Promise<void> {
    await until(() => this.pendingDelays().includes(ms), `a ${ms} ms timer`);
  }
}

/** Polls `condition` (real time, every 5 ms) until it holds; fails after a generous deadline. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, deadlineMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > deadlineMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Settles `p` into a tagged value, so a test can check whether it has settled yet. */
export function track<T>(p: Promise<T>): { readonly settled: boolean; readonly result: Promise<PromiseSettledResult<T>> } {
  let settled = false;
  const result = p.then(
    (value) => ({ status: 'fulfilled' as const, value }),
    (reason: unknown) => ({ status: 'rejected' as const, reason }),
  );
  void result.then(() => (settled = true));
  return {
    get settled() {
      return settled;
    },
    result,
  };
}

/** Lets pending promise callbacks and I/O callbacks run (not a wait for time to pass). */
export const turn = () => new Promise<void>((r) => setImmediate(r));

/**
 * One shared store as N gateway instances see it. Memory: every instance gets the same
 * Stores object (one process). Redis: every instance gets its own client on one key prefix,
 * like separate processes sharing a Redis.
 */
export interface SharedBackend {
  readonly kind: 'memory' | 'redis';
  readonly prefix: string;
  instance(): Promise<Pick<Stores, 'keySets' | 'locks'>>;
  close(): Promise<void>;
}

export type BackendFactory = () => Promise<SharedBackend>;

export function memoryBackend(): BackendFactory {
  return async () => {
    const stores = createMemoryStores();
    return { kind: 'memory', prefix: '', instance: async () => stores, close: () => stores.close() };
  };
}

export function redisBackend(url: () => string): BackendFactory {
  return async () => {
    const prefix = uniquePrefix();
    const clients: Redis[] = [];
    return {
      kind: 'redis',
      prefix,
      async instance() {
        const client = createRedisClient(url());
        clients.push(client);
        await whenReady(client);
        return createRedisStores({ client, keyPrefix: prefix });
      },
      async close() {
        await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
      },
    };
  };
}

/**
 * The key cache's test bed: a fake Google (the provider), a shared backend, one ManualClock
 * and a captured log, fresh for each test. `source()` is one gateway instance's Google keys;
 * by default its clock reads the ManualClock's time with real timers, `source({ clock })`
 * puts its timers on the ManualClock as well.
 */
export function useKeyCache(makeBackend: BackendFactory) {
  const h = {} as { fake: FakeGoogle; backend: SharedBackend; clock: ManualClock; log: ReturnType<typeof captureLogger> };
  beforeEach(async () => {
    h.clock = new ManualClock();
    h.fake = await FakeGoogle.start({ now: h.clock.now });
    h.backend = await makeBackend();
    h.log = captureLogger();
  });
  afterEach(async () => {
    await h.fake.close();
    await h.backend.close();
  });
  return Object.assign(h, {
    async source(extra: Partial<ProviderKeysOptions> = {}): Promise<ProviderKeys> {
      const stores = await h.backend.instance();
      return providerKeys(google, { jwksUri: h.fake.jwksUri, store: stores.keySets, locks: stores.locks, clock: clockWithNow(h.clock.now), logger: h.log, ...extra });
    },
    verifierFor(keys: ProviderKeys): IdTokenVerifier {
      return googleVerifier({ keys, clientIds: [h.fake.clientId], now: h.clock.now });
    },
  });
}
