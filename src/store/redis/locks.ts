import { OwnedLocks, ttlPx } from '../owned-locks.js';
import type { KeyLayout } from '../keys.js';
import type { RedisClient } from './client.js';
import { runScript, SCRIPTS } from './lua.js';

/** SET NX PX under the acquisition's token; released by a compare-and-delete script (src/store/owned-locks.ts says why). */
export class RedisLockStore extends OwnedLocks {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
  ) {
    super();
  }

  protected async take(name: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.client.set(this.keys.lock(name), token, 'PX', ttlPx(ttlMs), 'NX')) === 'OK';
  }

  protected async giveBack(name: string, token: string): Promise<void> {
    await runScript(this.client, SCRIPTS.compareAndDelete, { keys: { key: this.keys.lock(name) }, args: { expected: token } });
  }
}
