import { decideAddIdentity, decideConfirm, decideRemoveIdentity, RETIRED_ID_TTL_MS, type StoredIdentity } from '../../users/identity-policy.js';
import { providerName } from '../keys.js';
import { identityEvents } from '../../events/policy.js';
import type { AddIdentityResult, IdentityFieldName, IdentityRecord, IdentityWrite, RemoveIdentityResult } from '../types.js';
import type { MemoryData, StoredUser } from './data.js';

function assertTime(name: string, value: number): number {
  if (!Number.isSafeInteger(value)) throw new TypeError(`${name} must be an integer epoch-milliseconds time`);
  return value;
}

/** The identity as the decisions see it. */
export function storedIdentity(user: StoredUser | undefined, provider: string): StoredIdentity | null {
  const i = user?.identities.get(provider);
  return i ? { subject: i.subject, pending: i.pending } : null;
}

/** A new or refreshed identity record: the claims replaced, its link time and state kept (as write_identity_claims in lib.lua). */
export function identityRecord(w: IdentityWrite, linkedAt: number, pending: boolean, previous?: IdentityRecord): IdentityRecord {
  return {
    // What the provider's notifications set stays across sign-ins (as the Lua side's `nf` field).
    ...(previous?.subject === w.subject && previous.emailForwardingDisabled ? { emailForwardingDisabled: true as const } : {}),
    provider: w.provider,
    subject: w.subject,
    email: w.email,
    emailVerified: w.email !== null && w.emailVerified,
    isPrivateEmail: w.isPrivateEmail,
    realUserStatus: w.realUserStatus,
    linkedAt,
    pending,
  };
}

/** Oldest link first, then by provider name (as the Redis codec's `byLinkTime`). */
function byLinkTime(a: IdentityRecord, b: IdentityRecord): number {
  return a.linkedAt - b.linkedAt || (a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : 0);
}

/**
 * The identity steps of the embedded AccountStore, deciding with src/users/identity-policy.ts
 * as the Redis scripts mirror it. Like the rest of the embedded store, each method runs
 * without awaiting between its reads and its writes, so it is atomic.
 */
export class MemoryAccountIdentities {
  constructor(protected readonly d: MemoryData) {}

  async getIdentities(userIds: readonly string[]): Promise<IdentityRecord[][]> {
    return userIds.map((id) => [...(this.d.users.get(id)?.identities.values() ?? [])].map((i) => ({ ...i })).sort(byLinkTime));
  }

  async addIdentity(userId: string, identity: IdentityWrite, now: number): Promise<AddIdentityResult> {
    assertTime('now', now);
    const provider = providerName(identity.provider);
    const user = this.d.users.get(userId);
    const stored = storedIdentity(user, provider);
    const kind = decideAddIdentity({ user: user ? user.record : null, retired: this.d.retired.has(userId), stored, subject: identity.subject });
    if (kind !== 'add') return { kind };
    const previous = user!.identities.get(provider);
    const same = previous && previous.subject === identity.subject;
    user!.identities.set(provider, identityRecord(identity, same ? previous.linkedAt : now, same ? previous.pending : true, previous));
    return { kind: 'added' };
  }

  async confirmIdentity(userId: string, provider: string, subject: string): Promise<boolean> {
    const user = this.d.users.get(userId);
    if (!decideConfirm(storedIdentity(user, providerName(provider)), subject)) return false;
    user!.identities.get(provider)!.pending = false;
    return true;
  }

  async removeIdentity(userId: string, provider: string, opts: { subject: string | null; keepLast: boolean; now: number }): Promise<RemoveIdentityResult> {
    assertTime('now', opts.now);
    const user = this.d.users.get(userId);
    if (!user) return { kind: 'not_linked' };
    const all = new Map([...user.identities].map(([p, i]) => [p, { subject: i.subject, pending: i.pending }]));
    const kind = decideRemoveIdentity(all, providerName(provider), opts.subject, opts.keepLast);
    if (kind !== 'remove') return { kind };
    const removed = user.identities.get(provider)!;
    user.identities.delete(provider);
    // The embedded store keeps no provider tokens (they need Redis): nothing to hand over.
    this.d.providerTokens.delete(`${userId}\n${provider}`);
    this.d.events.append(userId, identityEvents(provider, removed), opts.now);
    return { kind: 'removed', subject: removed.subject };
  }

  async setIdentityField(userId: string, provider: string, subject: string, field: IdentityFieldName, value: string | null): Promise<boolean> {
    if (value === '') throw new TypeError('setIdentityField: an empty value (null clears)');
    const user = this.d.users.get(userId);
    if (!decideConfirm(storedIdentity(user, providerName(provider)), subject)) return false;
    const record = user!.identities.get(provider)!;
    if (field === 'nf') {
      if (value === null) delete record.emailForwardingDisabled;
      else record.emailForwardingDisabled = true;
    } else if (value === null) {
      this.d.providerTokens.delete(`${userId}\n${provider}`);
    } else {
      this.d.providerTokens.set(`${userId}\n${provider}`, value);
    }
    return true;
  }

  async retire(userId: string): Promise<boolean> {
    if (this.d.users.has(userId)) return false;
    this.retireNow(userId);
    return true;
  }

  protected retireNow(userId: string): void {
    this.d.retired.set(userId, true, this.d.clock() + RETIRED_ID_TTL_MS);
  }
}
