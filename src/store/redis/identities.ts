import type { IdentityStore } from '../types.js';
import type { KeyLayout } from '../keys.js';
import type { RedisClient } from './client.js';
import { runScript, SCRIPTS } from './lua.js';

/** One string key per identity, no hash tag: each call is a single-key command. */
export class RedisIdentityStore implements IdentityStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
  ) {}

  /**
   * One command, `SET key candidate NX GET` (Redis ≥ 7.0): sets the link when absent and
   * returns the previous value otherwise, so concurrent first sign-ins agree on one id with
   * no read-then-write race.
   */
  async link(provider: string, subject: string, candidateId: string): Promise<{ userId: string; created: boolean }> {
    const previous = await this.client.set(this.keys.identity(provider, subject), candidateId, 'NX', 'GET');
    return previous === null ? { userId: candidateId, created: true } : { userId: previous, created: false };
  }

  async get(provider: string, subject: string): Promise<string | null> {
    return this.client.get(this.keys.identity(provider, subject));
  }

  async unlink(provider: string, subject: string, userId: string): Promise<boolean> {
    const deleted = await runScript(this.client, SCRIPTS.compareAndDelete, {
      keys: { key: this.keys.identity(provider, subject) },
      args: { expected: userId },
    });
    return deleted === 1;
  }

  async relink(provider: string, subject: string, expected: string, userId: string): Promise<boolean> {
    const set = await runScript(this.client, SCRIPTS.compareAndSet, {
      keys: { key: this.keys.identity(provider, subject) },
      args: { expected, value: userId },
    });
    return set === 1;
  }
}
