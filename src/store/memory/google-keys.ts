import type { CachedKeySet, GoogleKeyCache } from '../types.js';
import { TtlMap } from './ttl-map.js';

/** Stored as JSON text so callers get a copy, exactly like the Redis implementation. */
export class MemoryGoogleKeyCache implements GoogleKeyCache {
  private readonly cell = new TtlMap<string>();

  async get(): Promise<CachedKeySet | null> {
    const raw = this.cell.get('jwks');
    return raw === undefined ? null : (JSON.parse(raw) as CachedKeySet);
  }

  async put(value: CachedKeySet, ttlMs: number): Promise<void> {
    this.cell.set('jwks', JSON.stringify(value), Date.now() + Math.max(1, Math.ceil(ttlMs)));
  }
}
