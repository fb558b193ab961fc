import type { ScriptedRedis } from './scripts.js';
import type { SignInGuardStore } from '../types.js';
import type { KeyLayout } from '../keys.js';
import { assertTime } from './codec.js';
import { ttlPx } from './locks.js';

/**
 * Single-key commands only (no hash tag needed). The stored nonce value is its expiry by the
 * caller's clock, so validity follows the same clock as every other session decision; the
 * Redis TTL is what removes the key.
 */
export class RedisSignInGuardStore implements SignInGuardStore {
  constructor(
    private readonly client: ScriptedRedis,
    private readonly keys: KeyLayout,
  ) {}

  async putNonce(nonceHash: string, expiresAt: number, now: number): Promise<void> {
    assertTime('expiresAt', expiresAt);
    await this.client.set(this.keys.nonce(nonceHash), String(expiresAt), 'PX', ttlPx(expiresAt - assertTime('now', now)));
  }

  /** GETDEL: of two sign-ins presenting one nonce at once, exactly one gets its value. */
  async consumeNonce(nonceHash: string, now: number): Promise<boolean> {
    const value = await this.client.getdel(this.keys.nonce(nonceHash));
    return value !== null && Number(value) > assertTime('now', now);
  }

  /** SET NX: of two sign-ins with one token at once, exactly one sets the key. */
  async markIdTokenUsed(tokenHash: string, expiresAt: number, now: number): Promise<boolean> {
    assertTime('expiresAt', expiresAt);
    const ok = await this.client.set(this.keys.usedIdToken(tokenHash), '1', 'PX', ttlPx(expiresAt - assertTime('now', now)), 'NX');
    return ok === 'OK';
  }
}
