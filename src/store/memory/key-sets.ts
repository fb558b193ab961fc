import type { CachedKeySet, KeySetStore } from '../types.js';
import { TtlMap } from './ttl-map.js';

/** Stored as JSON text so callers get a copy, exactly like the Redis implementation. */
export class MemoryKeySetStore implements KeySetStore {
  private readonly records = new TtlMap<string>();

  async get(provider: string): Promise<CachedKeySet | null> {
    const raw = this.records.get(provider);
    return raw === undefined ? null : (JSON.parse(raw) as CachedKeySet);
  }

  async put(provider: string, value: CachedKeySet, ttlMs: number): Promise<void> {
    this.records.set(provider, JSON.stringify(value), Date.now() + Math.max(1, Math.ceil(ttlMs)));
  }
}
