import { randomUUID } from 'node:crypto';
import type { LockStore } from '../types.js';
import { TtlMap } from './ttl-map.js';

/**
 * In-process locks with the Redis semantics: the first caller wins until release or expiry, and
 * a lock belongs to the acquisition that took it. Each acquisition stores a fresh token;
 * `release` frees the lock only while it still holds this instance's token, so an instance
 * whose lock expired cannot free the one another instance (sharing `held`) took since.
 */
export class MemoryLockStore implements LockStore {
  private readonly tokens = new Map<string, string>();

  constructor(private readonly held: TtlMap<string> = new TtlMap()) {}

  async acquire(name: string, ttlMs: number): Promise<boolean> {
    if (this.held.has(name)) return false;
    const token = randomUUID();
    this.held.set(name, token, this.now() + Math.max(1, Math.ceil(ttlMs)));
    this.tokens.set(name, token);
    return true;
  }

  async release(name: string): Promise<void> {
    const token = this.tokens.get(name);
    if (token === undefined) return;
    this.tokens.delete(name);
    if (this.held.get(name) === token) this.held.delete(name);
  }

  private now(): number {
    return this.held.clock();
  }
}
