import type {
  AccountStore,
  GoogleProfile,
  NewSession,
  RotateInput,
  RotateOutcome,
  SessionRecord,
  SessionStore,
  SignInGuardStore,
  SignInLimits,
  SigningKeyStore,
  StoredSigningKey,
  Stores,
  UserRecord,
} from '../types.js';
import { TtlMap } from './ttl-map.js';
import { boundedMetadata } from '../limits.js';
import { MemoryLockStore } from './locks.js';
import { MemoryKeySetStore } from './key-sets.js';
import { MemoryRateLimitStore } from './rate-limits.js';
import { MemorySessionActivityStore } from './activity.js';

export { MemoryLockStore, MemoryKeySetStore, MemoryRateLimitStore, TtlMap };

/**
 * Embedded store for development: the same semantics as the Redis one (the contract suite
 * runs against both). Node runs one callback at a time, and no method awaits between its read
 * and its write, so every method is atomic exactly like the Lua scripts.
 *
 * Records are copied in and out (structuredClone) so a caller mutating a returned object
 * cannot change stored state, as with Redis. Expiry of ephemeral records follows the real
 * clock (like Redis TTLs); decisions that take `now` use the caller's `now`.
 */
interface StoredSession {
  record: SessionRecord;
  refreshHash: string;
  previousHash: string | null;
  rotatedAt: number | null;
}

function assertTime(name: string, value: number): number {
  if (!Number.isSafeInteger(value)) throw new TypeError(`${name} must be an integer epoch-milliseconds time`);
  return value;
}

class MemoryState {
  readonly users = new Map<string, UserRecord>();
  readonly identities = new Map<string, string>();
  /** key `${uid}\n${sid}`, expiring at the session end. */
  readonly sessions = new TtlMap<StoredSession>();
  /** uid → (sid → session end). */
  readonly indexes = new Map<string, Map<string, number>>();
  readonly grace = new TtlMap<string>();
  readonly signingKeys = new Map<string, string>();
}

const sk = (uid: string, sid: string) => `${uid}\n${sid}`;

function index(state: MemoryState, uid: string): Map<string, number> {
  let idx = state.indexes.get(uid);
  if (!idx) state.indexes.set(uid, (idx = new Map()));
  return idx;
}

/** Ends one session (record, grace box, index entry); true when the record was live. */
function endSession(state: MemoryState, uid: string, sid: string): boolean {
  const key = sk(uid, sid);
  const existed = state.sessions.delete(key);
  state.grace.delete(key);
  const idx = state.indexes.get(uid);
  idx?.delete(sid);
  if (idx?.size === 0) state.indexes.delete(uid);
  return existed;
}

/** Ends every indexed session of the user but `keep`; returns how many were live. */
function endAll(state: MemoryState, uid: string, keep: string | null): number {
  let ended = 0;
  for (const sid of [...(state.indexes.get(uid)?.keys() ?? [])]) {
    if (sid !== keep && endSession(state, uid, sid)) ended++;
  }
  return ended;
}

function pruneIndex(state: MemoryState, uid: string, now: number): void {
  const idx = state.indexes.get(uid);
  if (!idx) return;
  for (const [sid, end] of idx) if (end <= now) idx.delete(sid);
  if (idx.size === 0) state.indexes.delete(uid);
}

class MemoryAccountStore implements AccountStore {
  constructor(private readonly s: MemoryState) {}

  async linkIdentity(provider: 'google', subject: string, candidateId: string): Promise<string> {
    const key = `${provider}:${subject}`;
    const existing = this.s.identities.get(key);
    if (existing !== undefined) return existing;
    this.s.identities.set(key, candidateId);
    return candidateId;
  }

  async signIn(
    userId: string,
    profile: GoogleProfile,
    session: NewSession,
    limits: SignInLimits = { maxSessions: 0 },
  ): Promise<{ user: UserRecord; isNewUser: boolean }> {
    const now = assertTime('createdAt', session.createdAt);
    const end = Math.min(assertTime('expiresAt', session.expiresAt), assertTime('refreshExpiresAt', session.refreshExpiresAt));
    const prev = this.s.users.get(userId);
    if (prev?.disabled) return { user: structuredClone(prev), isNewUser: false };
    // Field by field (not a spread) so nothing but the listed claims is ever stored.
    const user: UserRecord = {
      id: userId,
      googleSub: profile.sub,
      email: profile.email,
      emailVerified: profile.emailVerified,
      name: profile.name,
      givenName: profile.givenName,
      familyName: profile.familyName,
      picture: profile.picture,
      locale: profile.locale,
      hostedDomain: profile.hostedDomain,
      createdAt: prev ? prev.createdAt : now,
      lastSignInAt: now,
      disabled: prev ? prev.disabled : false,
    };
    this.s.users.set(userId, user);
    this.s.sessions.set(
      sk(userId, session.id),
      {
        record: {
          id: session.id,
          userId,
          createdAt: now,
          lastSeenAt: now,
          expiresAt: session.expiresAt,
          refreshExpiresAt: end,
          userAgent: boundedMetadata(session.userAgent),
          clientAddress: boundedMetadata(session.clientAddress),
        },
        refreshHash: session.refreshHash,
        previousHash: null,
        rotatedAt: null,
      },
      end,
    );
    index(this.s, userId).set(session.id, end);
    pruneIndex(this.s, userId, now);
    const max = Math.max(0, Math.floor(limits.maxSessions));
    const idx = this.s.indexes.get(userId);
    if (max > 0 && idx && idx.size > max) {
      const others: { createdAt: number; sid: string }[] = [];
      for (const sid of [...idx.keys()]) {
        if (sid === session.id) continue;
        const stored = this.s.sessions.get(sk(userId, sid));
        if (stored) others.push({ createdAt: stored.record.createdAt, sid });
        else idx.delete(sid);
      }
      others.sort((a, b) => a.createdAt - b.createdAt || (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0));
      for (const o of others.slice(0, Math.max(0, others.length - (max - 1)))) endSession(this.s, userId, o.sid);
    }
    return { user: structuredClone(user), isNewUser: !prev };
  }

  async getUsers(ids: readonly string[]): Promise<(UserRecord | null)[]> {
    return ids.map((id) => {
      const u = this.s.users.get(id);
      return u ? structuredClone(u) : null;
    });
  }

  async getIdentity(provider: 'google', subject: string): Promise<string | null> {
    return this.s.identities.get(`${provider}:${subject}`) ?? null;
  }

  async setDisabled(userId: string, disabled: boolean): Promise<{ found: boolean; sessionsEnded: number }> {
    const user = this.s.users.get(userId);
    if (!user) return { found: false, sessionsEnded: 0 };
    user.disabled = disabled;
    return { found: true, sessionsEnded: disabled ? endAll(this.s, userId, null) : 0 };
  }

  async deleteAccount(userId: string): Promise<boolean> {
    const user = this.s.users.get(userId);
    if (user) {
      const key = `google:${user.googleSub}`;
      if (this.s.identities.get(key) === userId) this.s.identities.delete(key);
    }
    endAll(this.s, userId, null);
    this.s.indexes.delete(userId);
    return this.s.users.delete(userId);
  }
}

class MemorySessionStore implements SessionStore {
  constructor(private readonly s: MemoryState) {}

  async getSessionWithUser(userId: string, sessionId: string): Promise<{ session: SessionRecord | null; user: UserRecord | null }> {
    const stored = this.s.sessions.get(sk(userId, sessionId));
    const user = this.s.users.get(userId);
    return { session: stored ? structuredClone(stored.record) : null, user: user ? structuredClone(user) : null };
  }

  async rotateRefreshToken(userId: string, sessionId: string, input: RotateInput): Promise<RotateOutcome> {
    const key = sk(userId, sessionId);
    const stored = this.s.sessions.get(key);
    const now = assertTime('now', input.now);
    assertTime('nextRefreshExpiresAt', input.nextRefreshExpiresAt);
    if (!stored) return { kind: 'not_found' };
    const rec = stored.record;
    if (rec.expiresAt <= now || rec.refreshExpiresAt <= now) return { kind: 'not_found' };
    const graceMs = Math.max(0, Math.ceil(input.graceMs));
    if (input.presentedHash === stored.refreshHash) {
      const end = Math.min(input.nextRefreshExpiresAt, rec.expiresAt);
      const next: StoredSession = {
        record: { ...rec, lastSeenAt: Math.max(rec.lastSeenAt, now), refreshExpiresAt: end },
        refreshHash: input.nextHash,
        previousHash: stored.refreshHash,
        rotatedAt: now,
      };
      this.s.sessions.set(key, next, end);
      if (graceMs > 0) this.s.grace.set(key, input.graceBox, Date.now() + graceMs);
      else this.s.grace.delete(key);
      index(this.s, userId).set(sessionId, end);
      pruneIndex(this.s, userId, now);
      const live = this.s.sessions.get(key);
      return live ? { kind: 'rotated', session: structuredClone(live.record) } : { kind: 'not_found' };
    }
    if (stored.previousHash !== null && input.presentedHash === stored.previousHash) {
      const box = this.s.grace.get(key);
      if (stored.rotatedAt !== null && now - stored.rotatedAt <= graceMs && box !== undefined) {
        return { kind: 'grace', graceBox: box, session: structuredClone(rec) };
      }
      this.s.sessions.delete(key);
      this.s.grace.delete(key);
      this.s.indexes.get(userId)?.delete(sessionId);
      return { kind: 'reused' };
    }
    return { kind: 'mismatch' };
  }

  async revokeSession(userId: string, sessionId: string): Promise<boolean> {
    const key = sk(userId, sessionId);
    const existed = this.s.sessions.delete(key);
    this.s.grace.delete(key);
    const idx = this.s.indexes.get(userId);
    idx?.delete(sessionId);
    if (idx?.size === 0) this.s.indexes.delete(userId);
    return existed;
  }

  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    assertTime('now', now);
    pruneIndex(this.s, userId, now);
    const idx = this.s.indexes.get(userId);
    if (!idx) return [];
    const live: SessionRecord[] = [];
    for (const sid of [...idx.keys()]) {
      const stored = this.s.sessions.get(sk(userId, sid));
      if (!stored) idx.delete(sid);
      else if (Math.min(stored.record.expiresAt, stored.record.refreshExpiresAt) > now) live.push(structuredClone(stored.record));
    }
    if (idx.size === 0) this.s.indexes.delete(userId);
    return live.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async revokeAllSessions(userId: string, keepSessionId: string | null): Promise<number> {
    return endAll(this.s, userId, keepSessionId);
  }

  async touchSession(userId: string, sessionId: string, now: number): Promise<void> {
    assertTime('now', now);
    const stored = this.s.sessions.get(sk(userId, sessionId));
    if (stored && stored.record.lastSeenAt < now) stored.record.lastSeenAt = now;
  }
}

/** Values are expiry times by the caller's clock; entries also expire by the real clock, like Redis keys. */
class MemorySignInGuardStore implements SignInGuardStore {
  private readonly nonces = new TtlMap<number>();
  private readonly usedIdTokens = new TtlMap<true>();

  async putNonce(nonceHash: string, expiresAt: number, now: number): Promise<void> {
    assertTime('expiresAt', expiresAt);
    this.nonces.set(nonceHash, expiresAt, Date.now() + Math.max(1, expiresAt - assertTime('now', now)));
  }

  async consumeNonce(nonceHash: string, now: number): Promise<boolean> {
    assertTime('now', now);
    const expiresAt = this.nonces.get(nonceHash);
    this.nonces.delete(nonceHash);
    return expiresAt !== undefined && expiresAt > now;
  }

  async markIdTokenUsed(tokenHash: string, expiresAt: number, now: number): Promise<boolean> {
    assertTime('expiresAt', expiresAt);
    assertTime('now', now);
    if (this.usedIdTokens.has(tokenHash)) return false;
    this.usedIdTokens.set(tokenHash, true, Date.now() + Math.max(1, expiresAt - now));
    return true;
  }
}

class MemorySigningKeyStore implements SigningKeyStore {
  constructor(private readonly s: MemoryState) {}

  async list(): Promise<StoredSigningKey[]> {
    return [...this.s.signingKeys.values()]
      .map((json) => JSON.parse(json) as StoredSigningKey)
      .sort((a, b) => a.createdAt - b.createdAt || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0));
  }

  async add(key: StoredSigningKey): Promise<void> {
    if (!this.s.signingKeys.has(key.kid)) this.s.signingKeys.set(key.kid, JSON.stringify(key));
  }

  async replace(key: StoredSigningKey): Promise<void> {
    this.s.signingKeys.set(key.kid, JSON.stringify(key));
  }

  async remove(kid: string): Promise<void> {
    this.s.signingKeys.delete(kid);
  }
}

export function createMemoryStores(): Stores {
  const state = new MemoryState();
  let closed = false;
  return {
    kind: 'memory',
    accounts: new MemoryAccountStore(state),
    sessions: new MemorySessionStore(state),
    keySets: new MemoryKeySetStore(),
    signingKeys: new MemorySigningKeyStore(state),
    locks: new MemoryLockStore(),
    rateLimits: new MemoryRateLimitStore(),
    signInGuards: new MemorySignInGuardStore(),
    activity: new MemorySessionActivityStore(),
    async ping() {
      if (closed) throw new Error('memory store is closed');
    },
    async close() {
      closed = true;
    },
  };
}
