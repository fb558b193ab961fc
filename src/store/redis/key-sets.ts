import type { RedisClient } from './client.js';
import type { CachedKeySet, KeySetStore } from '../types.js';
import type { KeyLayout } from '../keys.js';
import { ttlPx } from '../owned-locks.js';

/**
 * One JSON string per provider (`jwks:<provider>`), shared by every instance; Redis drops it
 * after `ttlMs`. The reader validates what it gets (src/identity/keys/jwks.ts): the value may
 * have been written by another version.
 */
export class RedisKeySetStore implements KeySetStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
  ) {}

  async get(provider: string): Promise<CachedKeySet | null> {
    const raw = await this.client.get(this.keys.keySet(provider));
    return raw === null ? null : (JSON.parse(raw) as CachedKeySet);
  }

  async put(provider: string, value: CachedKeySet, ttlMs: number): Promise<void> {
    await this.client.set(this.keys.keySet(provider), JSON.stringify(value), 'PX', ttlPx(ttlMs));
  }
}
