import type { IdentityStore, SignInLink } from '../types.js';
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

  /** link-identity.lua: the security state and the link, one command (the state shares the link's slot). */
  async signInLink(provider: string, subject: string, candidateId: string, issuedAt: number): Promise<SignInLink> {
    const reply = (await runScript(this.client, SCRIPTS.linkIdentity, {
      keys: { link: this.keys.identity(provider, subject), security: this.keys.identitySecurity(provider, subject) },
      args: { candidate: candidateId, issuedAt: Math.floor(issuedAt) },
    })) as [string, string?, number?];
    if (reply[0] === 'locked' || reply[0] === 'revoked') return { kind: reply[0] };
    if (reply[0] !== 'linked' || typeof reply[1] !== 'string') throw new Error(`link-identity: unexpected reply ${String(reply[0])}`);
    return { kind: 'linked', userId: reply[1], created: reply[2] === 1 };
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
