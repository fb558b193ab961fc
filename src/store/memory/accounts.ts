import {
  accountRevocation,
  decideRotation,
  decideSessionWrite,
  sessionsEnding,
  sessionsOverCap,
  touchApplies,
} from '../../sessions/policy.js';
import { accountStateEvents, profileData, revocationEvents, rotationEvents, signInEvents } from '../../events/policy.js';
import type * as T from '../types.js';
import { providerName } from '../keys.js';
import { boundedMetadata } from '../sizes.js';
import { identityRecord, MemoryAccountIdentities, storedIdentity } from './account-identities.js';
import { accountLockKey, type StoredSession } from './data.js';
import type { StoredIdentity } from '../../users/identity-policy.js';

function assertTime(name: string, value: number): number {
  if (!Number.isSafeInteger(value)) throw new TypeError(`${name} must be an integer epoch-milliseconds time`);
  return value;
}

const copy = <T>(v: T): T => structuredClone(v);

/** A new account's profile before its first sign-in writes it. */
const NO_PROFILE: T.AccountProfile = { email: null, emailVerified: false, name: null, givenName: null, familyName: null, picture: null, locale: null, hostedDomain: null };

/**
 * The embedded AccountStore: the primitives of src/store/types.ts over plain maps, each
 * deciding with the same src/sessions/policy.ts (and src/users/identity-policy.ts: see
 * ./account-identities.ts) function the Redis script mirrors. Node runs one callback at a time
 * and no method awaits between its reads and its writes, so each is atomic like a script.
 * Records are copied in and out, so a caller mutating a returned object cannot change stored
 * state, as with Redis.
 */
export class MemoryAccountStore extends MemoryAccountIdentities implements T.AccountStore {
  async writeSession(w: T.SessionWrite): Promise<T.SessionWriteResult> {
    const { userId, session, identity } = w;
    const provider = providerName(identity.provider);
    const now = assertTime('createdAt', session.createdAt);
    const end = Math.min(assertTime('expiresAt', session.expiresAt), assertTime('refreshExpiresAt', session.refreshExpiresAt));
    const prev = this.d.users.get(userId);
    const decision = decideSessionWrite({
      user: prev ? { disabled: prev.record.disabled, signInTat: prev.signInTat } : null,
      retired: this.d.retired.has(userId),
      stored: this.withLock(userId, storedIdentity(prev, provider), provider),
      subject: identity.subject,
      mustExist: w.mustExist,
      now,
      limit: w.limit,
    });
    if (decision.kind !== 'write') return decision.kind === 'limited' ? decision : { kind: decision.kind };
    const user: T.UserRecord = prev ? { ...prev.record } : { id: userId, ...NO_PROFILE, createdAt: now, lastSignInAt: now, disabled: false };
    // Field by field (not a spread) so nothing but the profile's fields is ever stored.
    for (const key of Object.keys(NO_PROFILE) as (keyof T.AccountProfile)[]) {
      if (key in w.profile.set) (user as unknown as Record<string, unknown>)[key] = w.profile.set[key];
    }
    const { names } = w.profile;
    if (names && (!prev || (user.name === null && user.givenName === null && user.familyName === null))) {
      user.name = names.name;
      user.givenName = names.givenName;
      user.familyName = names.familyName;
    }
    user.lastSignInAt = now;
    const identities = prev?.identities ?? new Map<string, T.IdentityRecord>();
    const linked = identities.get(provider);
    identities.set(provider, identityRecord(identity, linked ? linked.linkedAt : now, false, linked));
    this.d.users.set(userId, { record: user, signInTat: decision.signInTat ?? prev?.signInTat ?? null, identities });
    const capEnded: string[] = [];
    const stored: StoredSession = {
      record: {
        id: session.id,
        userId,
        createdAt: now,
        expiresAt: session.expiresAt,
        refreshExpiresAt: end,
        rotatedAt: null,
        touchedAt: null,
        userAgent: boundedMetadata(session.userAgent),
        clientAddress: boundedMetadata(session.clientAddress),
      },
      refreshHash: session.refreshHash,
      previousHash: null,
      refreshTat: null,
    };
    this.d.sessions.set(this.d.sessionKey(userId, session.id), stored, end);
    const index = this.d.index(userId);
    index.set(session.id, end);
    this.d.pruneIndex(userId, now);
    if (w.maxSessions > 0 && index.size > w.maxSessions) {
      const others: { id: string; createdAt: number }[] = [];
      for (const sid of [...index.keys()]) {
        if (sid === session.id) continue;
        const other = this.d.sessions.get(this.d.sessionKey(userId, sid));
        if (other) others.push({ id: sid, createdAt: other.record.createdAt });
        else index.delete(sid);
      }
      for (const sid of sessionsOverCap(others, Math.floor(w.maxSessions))) if (this.d.endSession(userId, sid)) capEnded.push(sid);
    }
    this.d.pruneIndex(userId, now);
    this.d.events.append(userId, signInEvents(prev ? profileData(prev.record) : null, profileData(user), capEnded), now);
    return { kind: 'written', user: copy(user), isNewUser: decision.isNewUser };
  }

  async rotateSession(userId: string, sessionId: string, r: T.Rotation): Promise<T.RotationResult> {
    const key = this.d.sessionKey(userId, sessionId);
    const stored = this.d.sessions.get(key);
    const now = assertTime('now', r.now);
    assertTime('refreshTtlMs', r.refreshTtlMs);
    const graceMs = Math.max(0, Math.ceil(r.graceMs));
    const user = this.d.users.get(userId)?.record ?? null;
    const decision = decideRotation({
      session: stored
        ? {
            refreshHash: stored.refreshHash,
            previousHash: stored.previousHash,
            rotatedAt: stored.record.rotatedAt,
            expiresAt: stored.record.expiresAt,
            refreshExpiresAt: stored.record.refreshExpiresAt,
            refreshTat: stored.refreshTat,
          }
        : null,
      user,
      graceBoxPresent: this.d.grace.has(key),
      presentedHash: r.presentedHash,
      now,
      graceMs,
      refreshTtlMs: r.refreshTtlMs,
      limit: r.limit,
    });
    switch (decision.kind) {
      case 'rotate': {
        const next: StoredSession = {
          record: { ...stored!.record, rotatedAt: now, refreshExpiresAt: decision.refreshExpiresAt },
          refreshHash: r.nextHash,
          previousHash: stored!.refreshHash,
          refreshTat: decision.refreshTat ?? stored!.refreshTat,
        };
        this.d.sessions.set(key, next, decision.refreshExpiresAt);
        if (graceMs > 0) this.d.grace.set(key, r.graceBox, this.d.clock() + graceMs);
        else this.d.grace.delete(key);
        this.d.index(userId).set(sessionId, decision.refreshExpiresAt);
        this.d.pruneIndex(userId, now);
        const live = this.d.sessions.get(key);
        return live ? { kind: 'rotated', session: copy(live.record), user: copy(user!) } : { kind: 'not_found' };
      }
      case 'grace':
        if (decision.refreshTat !== null) stored!.refreshTat = decision.refreshTat;
        return { kind: 'grace', session: copy(stored!.record), user: copy(user!), graceBox: this.d.grace.get(key)! };
      case 'reused':
        this.d.endSession(userId, sessionId);
        this.d.events.append(userId, rotationEvents('reused', sessionId), now);
        return { kind: 'reused' };
      case 'limited':
        return decision;
      default:
        return { kind: decision.kind };
    }
  }

  async readSession(userId: string, sessionId: string): Promise<{ session: T.SessionRecord | null; user: T.UserRecord | null }> {
    const stored = this.d.sessions.get(this.d.sessionKey(userId, sessionId));
    const user = this.d.users.get(userId);
    return { session: stored ? copy(stored.record) : null, user: user ? copy(user.record) : null };
  }

  async getUsers(ids: readonly string[]): Promise<(T.UserRecord | null)[]> {
    return ids.map((id) => {
      const u = this.d.users.get(id);
      return u ? copy(u.record) : null;
    });
  }

  async listSessions(userId: string, now: number): Promise<T.SessionRecord[]> {
    assertTime('now', now);
    this.d.pruneIndex(userId, now);
    const index = this.d.indexes.get(userId);
    if (!index) return [];
    const stored: T.SessionRecord[] = [];
    for (const sid of [...index.keys()]) {
      const s = this.d.sessions.get(this.d.sessionKey(userId, sid));
      if (s) stored.push(copy(s.record));
      else index.delete(sid);
    }
    if (index.size === 0) this.d.indexes.delete(userId);
    return stored;
  }

  async touchSession(userId: string, sessionId: string, now: number): Promise<void> {
    assertTime('now', now);
    const stored = this.d.sessions.get(this.d.sessionKey(userId, sessionId));
    if (stored && touchApplies(stored.record, now)) stored.record.touchedAt = now;
  }

  async endSessions(userId: string, revocation: T.Revocation, cause: T.RevocationCause): Promise<number> {
    const now = assertTime('now', cause.now);
    const ended = this.end(userId, revocation);
    this.d.events.append(userId, revocationEvents(cause.reason, ended), now);
    return ended.length;
  }

  async setAccountState(userId: string, state: T.AccountState, now: number): Promise<{ found: boolean; sessionsEnded: number; identities: T.IdentityRef[] }> {
    assertTime('now', now);
    const user = this.d.users.get(userId);
    const before = user ? { disabled: user.record.disabled } : null;
    let ended: string[] = [];
    let identities: T.IdentityRef[] = [];
    if (state === 'deleted') {
      ended = this.end(userId, accountRevocation(state));
      this.d.indexes.delete(userId);
      identities = [...(user?.identities.values() ?? [])].map(({ provider, subject }) => ({ provider, subject }));
      for (const { provider } of identities) this.d.providerTokens.delete(`${userId}\n${provider}`);
      if (user) this.retireNow(userId);
      this.d.users.delete(userId);
    } else if (user) {
      user.record.disabled = state === 'disabled';
      ended = this.end(userId, accountRevocation(state));
    }
    this.d.events.append(userId, accountStateEvents(state, before, ended), now);
    return { found: before !== null, sessionsEnded: ended.length, identities };
  }

  /** The account's lock marker of its identity (src/store/memory/security-events.ts), as write-session.lua reads `<provider>.lk`. */
  private withLock(userId: string, stored: StoredIdentity | null, provider: string): StoredIdentity | null {
    return stored && this.d.accountLocks.has(accountLockKey(userId, provider, stored.subject)) ? { ...stored, locked: true } : stored;
  }

  /** Ends `sessionsEnding`'s sessions; returns those that were still stored. */
  private end(userId: string, revocation: T.Revocation | null): string[] {
    if (!revocation) return [];
    const indexed = [...(this.d.indexes.get(userId)?.keys() ?? [])];
    return sessionsEnding(revocation, indexed).filter((sid) => this.d.endSession(userId, sid));
  }
}
