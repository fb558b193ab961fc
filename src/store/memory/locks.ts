import type { LockStore } from '../types.js';
import { TtlMap } from './ttl-map.js';

/** In-process locks with the Redis semantics (first caller wins until release or expiry). */
export class MemoryLockStore implements LockStore {
  private readonly locks = new TtlMap<true>();

  async acquire(name: string, ttlMs: number): Promise<boolean> {
    if (this.locks.has(name)) return false;
    this.locks.set(name, true, Date.now() + Math.max(1, Math.ceil(ttlMs)));
    return true;
  }

  async release(name: string): Promise<void> {
    this.locks.delete(name);
  }
}
