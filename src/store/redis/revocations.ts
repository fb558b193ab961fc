import { providerName, type KeyLayout } from '../keys.js';
import type { HandedOverToken, TokenRevocationStore } from '../types.js';
import type { RedisClient } from './client.js';

/**
 * Provider tokens waiting to be revoked (src/store/types.ts TokenRevocationStore): the hash
 * `revoke:{uid}`, in the account's slot, written by the scripts that unlink an identity or
 * delete an account (hand_over_token in scripts/lib.lua) in the same step as the event that
 * names the entry. Read and removed one entry at a time by the revoker.
 */
export class RedisTokenRevocationStore implements TokenRevocationStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
  ) {}

  async get(userId: string, eventId: string, provider: string): Promise<HandedOverToken | null> {
    const value = await this.client.hget(this.keys.revocations(userId), `${eventId}:${providerName(provider)}`);
    if (value === null) return null;
    const [p, subject, ...rest] = value.split('\n');
    if (!p || !subject || rest.length !== 1) return null;
    return { provider: p, subject, sealed: rest[0]! };
  }

  async remove(userId: string, eventId: string, provider: string): Promise<void> {
    await this.client.hdel(this.keys.revocations(userId), `${eventId}:${providerName(provider)}`);
  }
}
