import { randomBytes } from 'node:crypto';
import type { LockStore } from './types.js';

/**
 * A lock belongs to the acquisition that took it. Each acquisition takes the lock under a fresh
 * random token and remembers it; `release` frees the lock only while it still holds that token:
 * if our lock expired and another instance took it since, releasing ours must not free theirs.
 * The two stores differ only in how they take and give back a token (SET NX PX and a
 * compare-and-delete script in Redis; a shared TtlMap in memory).
 */
export abstract class OwnedLocks implements LockStore {
  private readonly tokens = new Map<string, string>();

  /** Takes `name` under `token` for `ttlMs` unless someone holds it; true when taken. */
  protected abstract take(name: string, token: string, ttlMs: number): Promise<boolean>;
  /** Frees `name` only if it is still held under `token`. */
  protected abstract giveBack(name: string, token: string): Promise<void>;

  async acquire(name: string, ttlMs: number): Promise<boolean> {
    const token = randomBytes(16).toString('base64url');
    if (!(await this.take(name, token, ttlMs))) return false;
    this.tokens.set(name, token);
    return true;
  }

  async release(name: string): Promise<void> {
    const token = this.tokens.get(name);
    if (token === undefined) return;
    this.tokens.delete(name);
    await this.giveBack(name, token);
  }
}

/** A lock's TTL as SET's PX needs it: a positive integer. */
export function ttlPx(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs));
}
