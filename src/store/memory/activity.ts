import type { SessionActivityStore } from '../types.js';
import { TtlMap } from './ttl-map.js';

/** Exact sets per bucket (development data is small). */
export class MemorySessionActivityStore implements SessionActivityStore {
  private readonly buckets = new TtlMap<Set<string>>();

  async record(bucket: number, sessionId: string, expiresAt: number): Promise<void> {
    const key = String(bucket);
    const set = this.buckets.get(key) ?? new Set<string>();
    set.add(sessionId);
    this.buckets.set(key, set, expiresAt);
  }

  async count(buckets: readonly number[]): Promise<number> {
    const all = new Set<string>();
    for (const b of buckets) for (const sid of this.buckets.get(String(b)) ?? []) all.add(sid);
    return all.size;
  }
}
