import { accountSecurityEvents } from '../../events/policy.js';
import { applySecurityChange, decideAccountLock, decideClaim, decideSettle, type ClaimDecision, type DeliveryRecordValue, type IdentitySecurity, type SecurityChange } from '../../risc/policy.js';
import { providerName } from '../keys.js';
import { RECORDED_SECURITY_EVENTS, RECORDED_SECURITY_EVENTS_KEEP_MS, type AccountSecurityWrite, type RecordedSecurityEvent, type SecurityEventStore } from '../types.js';
import { storedIdentity } from './account-identities.js';
import { accountLockKey, type MemoryData } from './data.js';

/**
 * The embedded SecurityEventStore: src/risc/policy.ts's decisions over MemoryData, each method
 * atomic (no await between its reads and writes), as the Redis scripts are.
 */
export class MemorySecurityEventStore implements SecurityEventStore {
  constructor(private readonly d: MemoryData) {}

  private key(provider: string, subject: string): string {
    return `${providerName(provider)}:${subject}`;
  }

  async state(provider: string, subject: string): Promise<IdentitySecurity | null> {
    const s = this.d.identityStates.get(this.key(provider, subject));
    return s ? { ...s } : null;
  }

  async apply(provider: string, subject: string, change: SecurityChange): Promise<{ state: IdentitySecurity; changed: 'locked' | 'unlocked' | null }> {
    const key = this.key(provider, subject);
    const { state, changed, keepMs } = applySecurityChange(this.d.identityStates.get(key) ?? null, change);
    this.d.identityStates.set(key, state, keepMs === null ? null : this.d.clock() + keepMs);
    return { state: { ...state }, changed };
  }

  async recordOnAccount(userId: string, w: AccountSecurityWrite): Promise<{ found: boolean; sessionsEnded: number }> {
    const user = this.d.users.get(userId);
    if (!user || storedIdentity(user, providerName(w.provider))?.subject !== w.subject) return { found: false, sessionsEnded: 0 };
    // The account's lock marker, keyed by the identity: an identity that leaves the account takes its marker's meaning with it, as remove_identity does in Lua.
    const markerKey = accountLockKey(userId, providerName(w.provider), w.subject);
    const lock = decideAccountLock(this.d.accountLocks.get(markerKey) ?? null, w.lock);
    if (lock.marker === null) this.d.accountLocks.delete(markerKey);
    else this.d.accountLocks.set(markerKey, lock.marker);
    const ended = w.endSessions ? [...(this.d.indexes.get(userId)?.keys() ?? [])].filter((sid) => this.d.endSession(userId, sid)) : [];
    const lockEvent = lock.event === 'identity.locked' ? { type: lock.event, reason: lock.marker! } : lock.event === 'identity.unlocked' ? { type: lock.event } : null;
    this.d.events.append(userId, accountSecurityEvents(w.provider, lockEvent, ended), w.now);
    const list = [{ ...w.entry }, ...(this.d.securityRecords.get(userId) ?? [])].slice(0, RECORDED_SECURITY_EVENTS);
    this.d.securityRecords.set(userId, list, this.d.clock() + RECORDED_SECURITY_EVENTS_KEEP_MS);
    return { found: true, sessionsEnded: ended.length };
  }

  async recorded(userId: string): Promise<RecordedSecurityEvent[]> {
    return (this.d.securityRecords.get(userId) ?? []).map((e) => ({ ...e }));
  }

  async claim(eventKey: string, lease: string, leaseMs: number): Promise<ClaimDecision> {
    const decision = decideClaim(this.stored(eventKey));
    if (decision === 'claimed') this.d.riscEvents.set(eventKey, `lease:${lease}`, this.d.clock() + leaseMs);
    return decision;
  }

  async settle(eventKey: string, lease: string, outcome: 'done' | 'release', keepMs: number): Promise<boolean> {
    if (!decideSettle(this.stored(eventKey), lease)) return false;
    if (outcome === 'done') this.d.riscEvents.set(eventKey, 'done', this.d.clock() + keepMs);
    else this.d.riscEvents.delete(eventKey);
    return true;
  }

  private stored(eventKey: string): DeliveryRecordValue {
    const v = this.d.riscEvents.get(eventKey);
    return v === undefined ? null : v === 'done' ? 'done' : { lease: v.slice('lease:'.length) };
  }
}
