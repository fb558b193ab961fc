import { randomBytes } from 'node:crypto';
import type { LockStore } from '../types.js';
import type { KeyLayout } from '../keys.js';
import type { RedisClient } from './client.js';
import { runScript, SCRIPTS } from './lua.js';

/**
 * SET NX PX with a random token per acquisition. `release` deletes the key only while it still
 * holds our token: if our lock expired and another instance took it, releasing ours must not
 * free theirs.
 */
export class RedisLockStore implements LockStore {
  private readonly tokens = new Map<string, string>();
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
  ) {}

  async acquire(name: string, ttlMs: number): Promise<boolean> {
    const token = randomBytes(16).toString('base64url');
    const ok = await this.client.set(this.keys.lock(name), token, 'PX', ttlPx(ttlMs), 'NX');
    if (ok !== 'OK') return false;
    this.tokens.set(name, token);
    return true;
  }

  async release(name: string): Promise<void> {
    const token = this.tokens.get(name);
    if (token === undefined) return;
    this.tokens.delete(name);
    await runScript(this.client, SCRIPTS.compareAndDelete, { keys: { key: this.keys.lock(name) }, args: { expected: token } });
  }
}

/** PX needs a positive integer. */
export function ttlPx(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs));
}
