import { describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { SessionActivity } from '../../src/metrics/active-sessions.js';
import { createMemoryStores } from '../../src/store/memory/index.js';
import { createRedisClient, createRedisStores, whenReady } from '../../src/store/redis/index.js';
import { keyLayout } from '../../src/store/keys.js';
import type { SessionActivityStore } from '../../src/store/types.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';

const MINUTE = 60_000;

/** A clock at the start of a minute (real time: memory and Redis expire records by it). */
function alignedClock() {
  const clock = { t: Math.floor(Date.now() / MINUTE) * MINUTE, now: () => clock.t };
  return clock;
}

describe('SessionActivity (the active-sessions estimate)', () => {
  it('uses at most ~30 buckets per window, each at least a minute', () => {
    const store = createMemoryStores().activity;
    expect(new SessionActivity({ store, windowMs: 15 * MINUTE }).bucketMs).toBe(MINUTE);
    expect(new SessionActivity({ store, windowMs: 12 * 60 * MINUTE }).bucketMs).toBe(24 * MINUTE);
    expect(new SessionActivity({ store, windowMs: 10_000 }).bucketMs).toBe(MINUTE);
  });

  it('counts each session once within the window, and forgets it one bucket after the window', async () => {
    const clock = alignedClock();
    const activity = new SessionActivity({ store: createMemoryStores().activity, windowMs: 15 * MINUTE, now: clock.now });
    activity.record('s1');
    clock.t += 5 * MINUTE;
    activity.record('s2');
    activity.record('s1');
    await activity.settled();
    clock.t += 5 * MINUTE; // 10 min after s1's first record
    expect(await activity.estimate()).toBe(2);
    clock.t += 5 * MINUTE + 30_000; // 15.5 min: s1's first bucket still overlaps the window
    expect(await activity.estimate()).toBe(2);
    clock.t += 10 * MINUTE; // 25.5 min: the records at 0 and 5 min are all older than the window
    expect(await activity.estimate()).toBe(0);
  });

  it('writes the sessions recorded in one event-loop turn together: one store call per bucket', async () => {
    const clock = alignedClock();
    const inner = createMemoryStores().activity;
    const calls: { bucket: number; ids: readonly string[] }[] = [];
    const store: SessionActivityStore = {
      record: (bucket, ids, expiresAt) => {
        calls.push({ bucket, ids });
        return inner.record(bucket, ids, expiresAt);
      },
      count: (buckets) => inner.count(buckets),
    };
    const activity = new SessionActivity({ store, windowMs: 15 * MINUTE, now: clock.now });
    for (let i = 0; i < 10; i++) activity.record(`s${i % 7}`);
    clock.t += MINUTE; // the next bucket, still in the same turn
    activity.record('s9');
    expect(calls).toEqual([]); // nothing is written during the turn
    await activity.settled();
    const bucket = Math.floor((clock.t - MINUTE) / MINUTE);
    expect(calls).toEqual([
      { bucket, ids: ['s0', 's1', 's2', 's3', 's4', 's5', 's6'] },
      { bucket: bucket + 1, ids: ['s9'] },
    ]);
    activity.record('s1');
    await activity.settled();
    expect(calls).toHaveLength(3);
    expect(await activity.estimate()).toBe(8);
  });

  it('never throws into the request, and reports store failures', async () => {
    const failing: SessionActivityStore = { record: () => Promise.reject(new Error('down')), count: () => Promise.resolve(0) };
    const errors: unknown[] = [];
    const activity = new SessionActivity({ store: failing, windowMs: MINUTE, onError: (e) => errors.push(e) });
    expect(() => activity.record('s')).not.toThrow();
    await activity.settled();
    expect(errors).toEqual([new Error('down')]);
  });

  it('reports a store that throws instead of rejecting, and keeps recording afterwards', async () => {
    const clock = alignedClock();
    let throwing = true;
    const inner = createMemoryStores().activity;
    const store: SessionActivityStore = {
      record: (bucket, ids, expiresAt) => {
        if (throwing) throw new Error('thrown');
        return inner.record(bucket, ids, expiresAt);
      },
      count: (buckets) => inner.count(buckets),
    };
    const errors: unknown[] = [];
    const activity = new SessionActivity({ store, windowMs: 15 * MINUTE, now: clock.now, onError: (e) => errors.push(e) });
    activity.record('lost');
    await activity.settled();
    throwing = false;
    activity.record('kept');
    await activity.settled();
    expect(errors).toEqual([new Error('thrown')]);
    expect(await activity.estimate()).toBe(1);
  });

  describe('on Redis', () => {
    const redis = usePrivateRedis();

    it('estimates 20 000 sessions within 2 %, keeps every bucket on a TTL, and stays small', async () => {
      const client = createRedisClient(redis.url);
      await whenReady(client);
      const prefix = uniquePrefix();
      const stores = createRedisStores({ client, keyPrefix: prefix, ownsClient: true });
      const raw = new Redis(redis.url);
      try {
        const clock = alignedClock();
        const activity = new SessionActivity({ store: stores.activity, windowMs: 15 * MINUTE, now: clock.now });
        for (let i = 0; i < 20_000; i++) {
          if (i % 2_000 === 0) {
            clock.t += MINUTE; // spread over ten buckets
            await activity.settled();
          }
          activity.record(`session-${i}`);
          if (i % 3 === 0) activity.record(`session-${Math.floor(i / 2)}`); // repeats
        }
        await activity.settled();
        const estimate = await activity.estimate();
        expect(Math.abs(estimate - 20_000) / 20_000).toBeLessThan(0.02);
        const bucket = Math.floor(clock.t / MINUTE);
        const key = keyLayout(prefix).activity(bucket);
        // Expires when its bucket leaves the window: bucket end + window (the clock ran ahead of real time).
        const expected = (bucket + 1) * MINUTE + 15 * MINUTE - Date.now();
        const pttl = await raw.pttl(key);
        expect(pttl).toBeGreaterThan(expected - 2_000);
        expect(pttl).toBeLessThanOrEqual(expected);
        expect(Number(await raw.call('MEMORY', 'USAGE', key))).toBeLessThanOrEqual(16_000); // a dense HyperLogLog: 12 KB + key overhead
      } finally {
        raw.disconnect();
        await stores.close();
      }
    }, 30_000);
  });
});
