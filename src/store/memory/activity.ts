import type { SessionActivityStore } from '../types.js';
import { TtlMap, type Clock } from './ttl-map.js';

/** Exact sets per bucket (development data is small). */
export class MemorySessionActivityStore implements SessionActivityStore {
  private readonly buckets: TtlMap<Set<string>>;

  constructor(clock: Clock = Date.now) {
    this.buckets = new TtlMap(clock);
  }

  async record(bucket: number, sessionIds: readonly string[], expiresAt: number): Promise<void> {
    if (sessionIds.length === 0) return;
    const key = String(bucket);
    const set = this.buckets.get(key) ?? new Set<string>();
    for (const id of sessionIds) set.add(id);
    this.buckets.set(key, set, expiresAt);
  }

  async count(buckets: readonly number[]): Promise<number> {
    const all = new Set<string>();
    for (const b of buckets) for (const sid of this.buckets.get(String(b)) ?? []) all.add(sid);
    return all.size;
  }
}
