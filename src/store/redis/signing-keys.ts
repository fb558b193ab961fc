import type { RedisClient } from './client.js';
import type { SigningKeyStore, StoredSigningKey } from '../types.js';
import type { KeyLayout } from '../keys.js';

/** One durable hash kid → JSON. A handful of keys, so HGETALL is fine. */
export class RedisSigningKeyStore implements SigningKeyStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
  ) {}

  async list(): Promise<StoredSigningKey[]> {
    const all = await this.client.hgetall(this.keys.signingKeys());
    return Object.values(all)
      .map((json) => JSON.parse(json) as StoredSigningKey)
      .sort((a, b) => a.createdAt - b.createdAt || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0));
  }

  /** HSETNX: two instances generating a key at once must not overwrite each other's kid. */
  async add(key: StoredSigningKey): Promise<void> {
    await this.client.hsetnx(this.keys.signingKeys(), key.kid, JSON.stringify(key));
  }

  /** HSET: deliberately overwrites (retiring a key sets `retiresAt` on the existing record). */
  async replace(key: StoredSigningKey): Promise<void> {
    await this.client.hset(this.keys.signingKeys(), key.kid, JSON.stringify(key));
  }

  async remove(kid: string): Promise<void> {
    await this.client.hdel(this.keys.signingKeys(), kid);
  }
}
