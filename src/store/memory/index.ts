import type { IdentityStore, SignInLink, SigningKeyStore, SingleUseKind, SingleUseStore, StoredSigningKey, Stores } from '../types.js';
import { providerName } from '../keys.js';
import { MemoryAccountStore } from './accounts.js';
import { MemoryData } from './data.js';
import { MemoryLockStore } from './locks.js';
import { MemoryKeySetStore } from './key-sets.js';
import { MemoryRateLimitStore } from './rate-limits.js';
import { MemorySessionActivityStore } from './activity.js';
import { TtlMap, type Clock } from './ttl-map.js';
import { MemorySecurityEventStore } from './security-events.js';
import { decideIdentitySignIn } from '../../risc/policy.js';

export { MemoryAccountStore, MemoryData, MemoryLockStore, MemoryKeySetStore, MemoryRateLimitStore, TtlMap, type Clock };

function assertTime(name: string, value: number): number {
  if (!Number.isSafeInteger(value)) throw new TypeError(`${name} must be an integer epoch-milliseconds time`);
  return value;
}

class MemoryIdentityStore implements IdentityStore {
  constructor(private readonly d: MemoryData) {}

  private key(provider: string, subject: string): string {
    return `${providerName(provider)}:${subject}`;
  }

  async link(provider: string, subject: string, candidateId: string): Promise<{ userId: string; created: boolean }> {
    const key = this.key(provider, subject);
    const existing = this.d.identities.get(key);
    if (existing !== undefined) return { userId: existing, created: false };
    this.d.identities.set(key, candidateId);
    return { userId: candidateId, created: true };
  }

  async signInLink(provider: string, subject: string, candidateId: string, issuedAt: number): Promise<SignInLink> {
    const decision = decideIdentitySignIn(this.d.identityStates.get(this.key(provider, subject)) ?? null, Math.floor(issuedAt));
    if (decision !== 'allow') return { kind: decision };
    return { kind: 'linked', ...(await this.link(provider, subject, candidateId)) };
  }

  async get(provider: string, subject: string): Promise<string | null> {
    return this.d.identities.get(this.key(provider, subject)) ?? null;
  }

  async unlink(provider: string, subject: string, userId: string): Promise<boolean> {
    const key = this.key(provider, subject);
    return this.d.identities.get(key) === userId && this.d.identities.delete(key);
  }

  async relink(provider: string, subject: string, expected: string, userId: string): Promise<boolean> {
    const key = this.key(provider, subject);
    if (this.d.identities.get(key) !== expected) return false;
    this.d.identities.set(key, userId);
    return true;
  }
}

/** Values are expiry times by the caller's clock; entries also expire by the store's clock, like Redis keys. */
class MemorySingleUseStore implements SingleUseStore {
  constructor(private readonly d: MemoryData) {}

  async put(kind: SingleUseKind, hash: string, expiresAt: number, now: number): Promise<boolean> {
    const ttl = Math.max(1, assertTime('expiresAt', expiresAt) - assertTime('now', now));
    const key = `${kind}:${hash}`;
    if (this.d.singleUse.has(key)) return false;
    this.d.singleUse.set(key, expiresAt, this.d.clock() + ttl);
    return true;
  }

  async take(kind: SingleUseKind, hash: string, now: number): Promise<boolean> {
    assertTime('now', now);
    const key = `${kind}:${hash}`;
    const expiresAt = this.d.singleUse.get(key);
    this.d.singleUse.delete(key);
    return expiresAt !== undefined && expiresAt > now;
  }
}

class MemorySigningKeyStore implements SigningKeyStore {
  constructor(private readonly d: MemoryData) {}

  async list(): Promise<StoredSigningKey[]> {
    return [...this.d.signingKeys.values()]
      .map((json) => JSON.parse(json) as StoredSigningKey)
      .sort((a, b) => a.createdAt - b.createdAt || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0));
  }

  async add(key: StoredSigningKey): Promise<void> {
    if (!this.d.signingKeys.has(key.kid)) this.d.signingKeys.set(key.kid, JSON.stringify(key));
  }

  async replace(key: StoredSigningKey): Promise<void> {
    this.d.signingKeys.set(key.kid, JSON.stringify(key));
  }

  async remove(kid: string): Promise<void> {
    this.d.signingKeys.delete(kid);
  }
}

export interface MemoryStoresOptions {
  /** Expiry clock (default the real one). Ignored when `data` is given: the data's clock rules. */
  clock?: Clock;
  /** Share this data with other store sets, as gateway instances share one Redis (default: new). */
  data?: MemoryData;
  /** EVENTS_RETENTION (default 7 days). Ignored when `data` is given. */
  eventsRetentionMs?: number;
}

/**
 * Embedded store for development: the primitives of src/store/types.ts with the Redis
 * semantics (the contract suite runs against both). Sessions and accounts decide with
 * src/sessions/policy.ts, as the Redis scripts mirror it.
 */
export function createMemoryStores(opts: MemoryStoresOptions = {}): Stores {
  const data = opts.data ?? new MemoryData(opts.clock, opts.eventsRetentionMs);
  let closed = false;
  return {
    kind: 'memory',
    identities: new MemoryIdentityStore(data),
    accounts: new MemoryAccountStore(data),
    singleUse: new MemorySingleUseStore(data),
    keySets: new MemoryKeySetStore(),
    signingKeys: new MemorySigningKeyStore(data),
    locks: new MemoryLockStore(data.locks),
    rateLimits: new MemoryRateLimitStore(data.clock),
    activity: new MemorySessionActivityStore(data.clock),
    events: data.events.store(),
    securityEvents: new MemorySecurityEventStore(data),
    deliveries: null,
    revocations: null,
    async ping() {
      if (closed) throw new Error('memory store is closed');
    },
    async close() {
      closed = true;
    },
  };
}
