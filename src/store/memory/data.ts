import type { IdentityRecord, RecordedSecurityEvent, SessionRecord, UserRecord } from '../types.js';
import type { IdentitySecurity } from '../../risc/policy.js';
import type { IdentityLockReason } from '../../events/event.js';
import { DEFAULT_EVENTS_RETENTION_MS } from '../../events/event.js';
import { MemoryEventLog } from './events.js';
import { TtlMap, type Clock } from './ttl-map.js';

export interface StoredUser {
  record: UserRecord;
  /** The account's sign-in budget (GCRA TAT), as Redis' `sb` field. */
  signInTat: number | null;
  /** provider → the account's identity of it, as Redis' `ids:{uid}`. */
  identities: Map<string, IdentityRecord>;
}

export interface StoredSession {
  record: SessionRecord;
  refreshHash: string;
  previousHash: string | null;
  /** The session's refresh budget (GCRA TAT), as Redis' `rb` field. */
  refreshTat: number | null;
}

/** The key of an account's lock marker of one identity in `MemoryData.accountLocks`. */
export function accountLockKey(userId: string, provider: string, subject: string): string {
  return `${userId}\n${provider}:${subject}`;
}

/**
 * What the embedded store holds, laid out like the Redis keys: users, identity links,
 * sessions expiring at their end, each user's session index (sid → end), grace boxes. Several
 * store sets may share one (they then behave like gateway instances sharing one Redis).
 * Expiry follows `clock` (the real one by default, like Redis TTLs); decisions follow the
 * callers' `now`.
 */
export class MemoryData {
  readonly users = new Map<string, StoredUser>();
  /** `${provider}:${subject}` → user id (the identity links). */
  readonly identities = new Map<string, string>();
  /** `${uid}\n${provider}` → the identity's sealed provider token (Redis' `<provider>.rt` field). */
  readonly providerTokens = new Map<string, string>();
  /** Retired account ids (Redis' `gone:{uid}`). */
  readonly retired: TtlMap<true>;
  /** `${uid}\n${sid}`, expiring at the session end. */
  readonly sessions: TtlMap<StoredSession>;
  /** uid → (sid → session end). */
  readonly indexes = new Map<string, Map<string, number>>();
  readonly grace: TtlMap<string>;
  /** `${kind}:${hash}` → the record's expiry by the caller's clock. */
  readonly singleUse: TtlMap<number>;
  /** Lock name → the token of the acquisition holding it. */
  readonly locks: TtlMap<string>;
  readonly signingKeys = new Map<string, string>();
  /** `${provider}:${subject}` → the identity's security state (src/risc/policy.ts), expiring as Redis' `…:sec`. */
  readonly identityStates: TtlMap<IdentitySecurity>;
  /** `${uid}\n${provider}:${subject}` → the account's lock marker of that identity (Redis' `<provider>.lk` in `ids:{uid}`). */
  readonly accountLocks = new Map<string, IdentityLockReason>();
  /** uid → the account's recorded security events, newest first. */
  readonly securityRecords: TtlMap<RecordedSecurityEvent[]>;
  /** Event key → `done` or `lease:<token>` (Redis' `risc:jti:<hash>`). */
  readonly riscEvents: TtlMap<string>;
  /** The account event log (src/events/event.ts). */
  readonly events: MemoryEventLog;

  constructor(
    readonly clock: Clock = Date.now,
    eventsRetentionMs: number = DEFAULT_EVENTS_RETENTION_MS,
  ) {
    this.events = new MemoryEventLog(clock, eventsRetentionMs);
    this.sessions = new TtlMap(clock);
    this.retired = new TtlMap(clock);
    this.grace = new TtlMap(clock);
    this.singleUse = new TtlMap(clock);
    this.locks = new TtlMap(clock);
    this.identityStates = new TtlMap(clock);
    this.securityRecords = new TtlMap(clock);
    this.riscEvents = new TtlMap(clock);
  }

  sessionKey(uid: string, sid: string): string {
    return `${uid}\n${sid}`;
  }

  index(uid: string): Map<string, number> {
    let idx = this.indexes.get(uid);
    if (!idx) this.indexes.set(uid, (idx = new Map()));
    return idx;
  }

  /** Drops index entries whose session ended by `now`, as `prune_index` in lib.lua. */
  pruneIndex(uid: string, now: number): void {
    const idx = this.indexes.get(uid);
    if (!idx) return;
    for (const [sid, end] of idx) if (end <= now) idx.delete(sid);
    if (idx.size === 0) this.indexes.delete(uid);
  }

  /** Ends one session (record, grace box, index entry), as `end_session` in lib.lua; true when the record was stored. */
  endSession(uid: string, sid: string): boolean {
    const key = this.sessionKey(uid, sid);
    const existed = this.sessions.delete(key);
    this.grace.delete(key);
    const idx = this.indexes.get(uid);
    idx?.delete(sid);
    if (idx?.size === 0) this.indexes.delete(uid);
    return existed;
  }
}
