import type { RedisClient } from './client.js';
import type { CachedKeySet, GoogleKeyCache } from '../types.js';
import type { KeyLayout } from '../keys.js';
import { ttlPx } from './locks.js';

/** One JSON string shared by every instance; Redis drops it after `ttlMs`. */
export class RedisGoogleKeyCache implements GoogleKeyCache {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
  ) {}

  async get(): Promise<CachedKeySet | null> {
    const raw = await this.client.get(this.keys.googleJwks());
    return raw === null ? null : (JSON.parse(raw) as CachedKeySet);
  }

  async put(value: CachedKeySet, ttlMs: number): Promise<void> {
    await this.client.set(this.keys.googleJwks(), JSON.stringify(value), 'PX', ttlPx(ttlMs));
  }
}
