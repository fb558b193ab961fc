import type { SingleUseKind, SingleUseStore } from '../types.js';
import type { KeyLayout } from '../keys.js';
import type { RedisClient } from './client.js';
import { assertTime } from './codec.js';
import { ttlPx } from '../owned-locks.js';

/**
 * One string key per record (`nonce:<hash>`, `idt:<hash>`), no hash tag needed. The value is
 * the record's expiry by the caller's clock, so validity follows the same clock as every other
 * session decision; the Redis TTL is what removes the key.
 */
export class RedisSingleUseStore implements SingleUseStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
  ) {}

  private key(kind: SingleUseKind, hash: string): string {
    return kind === 'sign-in-nonce' ? this.keys.nonce(hash) : this.keys.usedIdToken(hash);
  }

  /** SET NX: of two callers with one hash at once, exactly one stores it. */
  async put(kind: SingleUseKind, hash: string, expiresAt: number, now: number): Promise<boolean> {
    const ttl = ttlPx(assertTime('expiresAt', expiresAt) - assertTime('now', now));
    return (await this.client.set(this.key(kind, hash), String(expiresAt), 'PX', ttl, 'NX')) === 'OK';
  }

  /** GETDEL: of two callers presenting one hash at once, exactly one gets its value. */
  async take(kind: SingleUseKind, hash: string, now: number): Promise<boolean> {
    assertTime('now', now);
    const value = await this.client.getdel(this.key(kind, hash));
    return value !== null && Number(value) > now;
  }
}
