import { randomId } from '../../sessions/ids.js';
import { RETIRED_ID_TTL_MS } from '../../users/identity-policy.js';
import type { AddIdentityResult, IdentityFieldName, IdentityRecord, IdentityWrite, RemoveIdentityResult } from '../types.js';
import type { RedisEventLog } from './event-relay.js';
import { providerName, type KeyLayout } from '../keys.js';
import type { RedisClient } from './client.js';
import { assertTime, decodeIdentities, encodeIdentityClaims } from './codec.js';
import { runScript, SCRIPTS } from './lua.js';
import type { HashReadBatcher } from './read-batch.js';

/**
 * The identity steps of RedisAccountStore (src/store/types.ts AccountStore): each one Lua
 * script on the account's slot (`user:{uid}`, `ids:{uid}`, `gone:{uid}`), mirroring
 * src/users/identity-policy.ts. Each script first upgrades a record written before accounts had
 * several identities (`upgrade_identities` in lib.lua), so those accounts need no migration step.
 */
export class RedisAccountIdentities {
  constructor(
    protected readonly client: RedisClient,
    protected readonly keys: KeyLayout,
    protected readonly batch: HashReadBatcher | null,
    protected readonly events: RedisEventLog,
  ) {}

  /** The event arguments every changing script takes: where to append, for whom, the step's id base. */
  protected eventArgs(userId: string) {
    const target = this.events.target(userId);
    return { key: target.key, args: { userId, eventId: randomId(), eventsRetentionMs: target.retentionMs } };
  }

  /** One round trip: the identities hash and the user hash (for a record of the earlier layout) of each account. */
  async getIdentities(userIds: readonly string[]): Promise<IdentityRecord[][]> {
    if (userIds.length === 0) return [];
    const keys = userIds.flatMap((id) => [this.keys.accountIdentities(id), this.keys.user(id)]);
    const replies = this.batch ? await this.batch.read(keys) : await Promise.all(keys.map((key) => this.client.hgetall(key)));
    return userIds.map((_, i) => decodeIdentities(replies[2 * i]!, replies[2 * i + 1]!));
  }

  async addIdentity(userId: string, identity: IdentityWrite, now: number): Promise<AddIdentityResult> {
    const kind = (await runScript(this.client, SCRIPTS.addIdentity, {
      keys: { user: this.keys.user(userId), identities: this.keys.accountIdentities(userId), retired: this.keys.retired(userId) },
      args: { now: assertTime('now', now), provider: providerName(identity.provider), subject: identity.subject, claims: encodeIdentityClaims(identity) },
    })) as AddIdentityResult['kind'];
    if (kind !== 'added' && kind !== 'provider_taken' && kind !== 'gone' && kind !== 'account_disabled') throw new Error(`add-identity: unexpected reply ${String(kind)}`);
    return { kind };
  }

  async confirmIdentity(userId: string, provider: string, subject: string): Promise<boolean> {
    const done = await runScript(this.client, SCRIPTS.confirmIdentity, {
      keys: { user: this.keys.user(userId), identities: this.keys.accountIdentities(userId) },
      args: { provider: providerName(provider), subject },
    });
    return done === 1;
  }

  async removeIdentity(userId: string, provider: string, opts: { subject: string | null; keepLast: boolean; now: number }): Promise<RemoveIdentityResult> {
    const ev = this.eventArgs(userId);
    const reply = (await runScript(this.client, SCRIPTS.removeIdentity, {
      keys: { user: this.keys.user(userId), identities: this.keys.accountIdentities(userId), events: ev.key, tokens: this.keys.revocations(userId) },
      args: { provider: providerName(provider), subject: opts.subject ?? '', keepLast: opts.keepLast ? '1' : '0', now: assertTime('now', opts.now), ...ev.args },
    })) as [string, string?, number?];
    switch (reply[0]) {
      case 'removed':
        this.events.appended(userId, reply[2] ?? 0);
        return { kind: 'removed', subject: reply[1]! };
      case 'last_identity':
      case 'not_linked':
        return { kind: reply[0] };
      default:
        throw new Error(`remove-identity: unexpected reply ${String(reply[0])}`);
    }
  }

  async setIdentityField(userId: string, provider: string, subject: string, field: IdentityFieldName, value: string | null): Promise<boolean> {
    if (value === '') throw new TypeError('setIdentityField: an empty value (null clears)');
    const done = await runScript(this.client, SCRIPTS.setIdentityField, {
      keys: { user: this.keys.user(userId), identities: this.keys.accountIdentities(userId) },
      args: { provider: providerName(provider), subject, field, value: value ?? '' },
    });
    return done === 1;
  }

  async retire(userId: string): Promise<boolean> {
    const done = await runScript(this.client, SCRIPTS.retireAccount, {
      keys: { user: this.keys.user(userId), retired: this.keys.retired(userId) },
      args: { ttlMs: RETIRED_ID_TTL_MS },
    });
    return done === 1;
  }
}
