import { OwnedLocks, ttlPx } from '../owned-locks.js';
import { TtlMap } from './ttl-map.js';

/**
 * In-process locks with the Redis semantics (src/store/owned-locks.ts): the first caller wins
 * until release or expiry, and only the acquisition that took a lock frees it, so an instance
 * whose lock expired cannot free the one another instance (sharing `held`) took since.
 */
export class MemoryLockStore extends OwnedLocks {
  constructor(private readonly held: TtlMap<string> = new TtlMap()) {
    super();
  }

  protected async take(name: string, token: string, ttlMs: number): Promise<boolean> {
    if (this.held.has(name)) return false;
    this.held.set(name, token, this.held.clock() + ttlPx(ttlMs));
    return true;
  }

  protected async giveBack(name: string, token: string): Promise<void> {
    if (this.held.get(name) === token) this.held.delete(name);
  }
}
