/**
 * The narrow storage interfaces the gateway needs. Two implementations exist, Redis
 * (src/store/redis) and embedded in-memory (src/store/memory, development only), and one
 * contract suite (test/store/contract.ts) runs against both so they cannot drift.
 *
 * Times are epoch milliseconds and are passed in by the caller (never read from a clock
 * inside a store), so tests can control them. Stores still give every ephemeral record a
 * real TTL so Redis cleans up after itself.
 */
import type { JSONWebKeySet, JWK } from 'jose';

/** Profile claims taken from a verified Google ID token. */
export interface GoogleProfile {
  sub: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  givenName: string | null;
  familyName: string | null;
  picture: string | null;
  locale: string | null;
  hostedDomain: string | null;
}

export interface UserRecord extends Omit<GoogleProfile, 'sub'> {
  id: string;
  googleSub: string;
  createdAt: number;
  lastSignInAt: number;
  disabled: boolean;
}

export interface SessionRecord {
  id: string;
  userId: string;
  createdAt: number;
  lastSeenAt: number;
  /** Absolute end: no refresh extends the session past it. */
  expiresAt: number;
  /** End of the current refresh token's life (slides on each refresh; never past expiresAt). */
  refreshExpiresAt: number;
  userAgent: string | null;
  clientAddress: string | null;
}

export interface NewSession {
  id: string;
  /** Hash of the refresh token (never the token itself). */
  refreshHash: string;
  createdAt: number;
  expiresAt: number;
  refreshExpiresAt: number;
  userAgent: string | null;
  clientAddress: string | null;
}

export interface RotateInput {
  presentedHash: string;
  nextHash: string;
  /**
   * The next refresh token, encrypted under a key derived from the presented one. Kept for
   * `graceMs` only, so that a client whose response was lost can present the old token
   * again and receive the same new one (see src/sessions/refresh-token.ts).
   */
  graceBox: string;
  now: number;
  graceMs: number;
  nextRefreshExpiresAt: number;
}

export type RotateOutcome =
  | { kind: 'rotated'; session: SessionRecord }
  /** The presented token was rotated within the grace period: here is the sealed successor. */
  | { kind: 'grace'; graceBox: string; session: SessionRecord }
  /** The presented token was rotated earlier than the grace period allows: the session is now revoked. */
  | { kind: 'reused' }
  /** Not the current or the previous token of this session: nothing changed. */
  | { kind: 'mismatch' }
  | { kind: 'not_found' };

/** Limits applied inside the sign-in transaction. */
export interface SignInLimits {
  /**
   * Most live sessions the user may hold, the new one included; the oldest (by creation) end
   * first. 0 = no limit.
   */
  maxSessions: number;
}

export interface AccountStore {
  /**
   * Returns the user id linked to (provider, subject), linking `candidateId` atomically when
   * there is none yet. Two concurrent first sign-ins of one Google account get one id.
   */
  linkIdentity(provider: 'google', subject: string, candidateId: string): Promise<string>;
  /**
   * Creates or refreshes the user's profile and writes the new session (record + the
   * user's session index) in one transaction. `isNewUser` is true when the user record did
   * not exist before. A disabled user is returned as it is (`disabled: true`) and nothing is
   * written: no session, no profile update. With `limits`, the user's oldest sessions beyond
   * `maxSessions` end in the same transaction.
   */
  signIn(
    userId: string,
    profile: GoogleProfile,
    session: NewSession,
    limits?: SignInLimits,
  ): Promise<{ user: UserRecord; isNewUser: boolean }>;
  /** Users by id, in order, null where absent. One round trip. */
  getUsers(ids: readonly string[]): Promise<(UserRecord | null)[]>;
  /** The user id linked to (provider, subject), or null. Never links. */
  getIdentity(provider: 'google', subject: string): Promise<string | null>;
  /**
   * Sets or clears the user's `disabled` flag. Disabling also ends every session of the user
   * in the same transaction. `found` is false (and nothing changes) for an unknown user.
   */
  setDisabled(userId: string, disabled: boolean): Promise<{ found: boolean; sessionsEnded: number }>;
  /**
   * Deletes the account: its identity link (only while it still points to this user), then
   * the user record, every session, grace box and the session index. Leaves no key of the
   * user behind. True when the user record existed.
   */
  deleteAccount(userId: string): Promise<boolean>;
}

export interface SessionStore {
  /** The session and its user in one round trip. */
  getSessionWithUser(userId: string, sessionId: string): Promise<{ session: SessionRecord | null; user: UserRecord | null }>;
  /** Compare-and-rotate the refresh token atomically. */
  rotateRefreshToken(userId: string, sessionId: string, input: RotateInput): Promise<RotateOutcome>;
  /** Deletes the session and its index entry. True when it existed. */
  revokeSession(userId: string, sessionId: string): Promise<boolean>;
  /** The user's live sessions (expired index entries are pruned), newest first. */
  listSessions(userId: string, now: number): Promise<SessionRecord[]>;
  /**
   * Ends every session of the user except `keepSessionId` (null: all of them), atomically.
   * Returns how many sessions ended.
   */
  revokeAllSessions(userId: string, keepSessionId: string | null): Promise<number>;
  /**
   * Records activity: lastSeenAt becomes `now` unless it is already later. A session that no
   * longer exists is not recreated. Callers throttle this (it is a write).
   */
  touchSession(userId: string, sessionId: string, now: number): Promise<void>;
}

/**
 * Single-use records that guard sign-in. Keyed by hashes (never the nonce or token itself).
 * Every record expires; `now`/`expiresAt` decide validity so tests can control the clock.
 */
export interface SignInGuardStore {
  /** Remembers a server-issued nonce until `expiresAt`. */
  putNonce(nonceHash: string, expiresAt: number, now: number): Promise<void>;
  /** Removes the nonce; true only if it existed and had not expired (single use). */
  consumeNonce(nonceHash: string, now: number): Promise<boolean>;
  /** Records an ID token as used until `expiresAt`; false when it was already recorded. */
  markIdTokenUsed(tokenHash: string, expiresAt: number, now: number): Promise<boolean>;
}

/** An identity provider's key set as cached (shared by every instance; src/identity/keys). */
export interface CachedKeySet {
  jwks: JSONWebKeySet;
  fetchedAt: number;
  /** When the keys should be fetched again (from Cache-Control max-age). */
  expiresAt: number;
}

/**
 * Identity providers' key sets, one record per provider (`google`, `apple`, …: a short name
 * `[a-z0-9-]` chosen by code, never by a client). A record is replaced whole.
 */
export interface KeySetStore {
  get(provider: string): Promise<CachedKeySet | null>;
  /** Stores the provider's key set; the record itself lives `ttlMs` (freshness plus a stale grace). */
  put(provider: string, value: CachedKeySet, ttlMs: number): Promise<void>;
}

/** A gateway signing key (ES256). The private half never leaves the server. */
export interface StoredSigningKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
  createdAt: number;
  /** Signs from this time on (published earlier so verifiers already have it). */
  activatesAt: number;
  /** Removed from the published set after this time. */
  retiresAt: number | null;
}

export interface SigningKeyStore {
  list(): Promise<StoredSigningKey[]>;
  /** Adds a key unless one with the same kid exists. */
  add(key: StoredSigningKey): Promise<void>;
  /** Overwrites the key with the same kid (used to set `retiresAt`). */
  replace(key: StoredSigningKey): Promise<void>;
  remove(kid: string): Promise<void>;
}

/** Short-lived mutual exclusion across instances (fetch locks, cooldowns). */
export interface LockStore {
  /** True when this caller now holds `name` for `ttlMs` (SET NX PX). */
  acquire(name: string, ttlMs: number): Promise<boolean>;
  release(name: string): Promise<void>;
}

/** What a rate-limit call decided. */
export interface RateLimitDecision {
  allowed: boolean;
  /** Further events allowed right now (after this one, for `hit`). */
  remaining: number;
  /** When refused: ms until one more event would be allowed; 0 when allowed. */
  retryAfterMs: number;
}

/**
 * Rate limits shared by every instance (GCRA, see src/store/gcra.ts): at most `limit` events
 * at once, refilling one every `windowMs / limit`, so never more than `limit` per window on
 * average and a full reset `windowMs` after the last event. Each call is atomic and one
 * round trip; a (kind, subject) pair is one key with a TTL of at most `windowMs`.
 *
 * `kind` is a short name (`[a-z0-9-]`), `subject` a short token (`[A-Za-z0-9_-]`, at most 64
 * characters): callers hash anything a client chooses (src/rate-limit/subjects.ts), so keys
 * stay bounded whatever is sent. Anything else is a programming error (TypeError).
 */
export interface RateLimitStore {
  /** Counts one event when allowed; a refused event counts nothing. */
  hit(kind: string, subject: string, limit: number, windowMs: number, now: number): Promise<RateLimitDecision>;
  /** Whether `hit` would be allowed now; counts nothing. */
  peek(kind: string, subject: string, limit: number, windowMs: number, now: number): Promise<RateLimitDecision>;
}

/**
 * Approximate distinct counting of recently active sessions (the `authgw_active_sessions`
 * metric). The caller cuts time into integer buckets; each bucket is one record that expires.
 */
export interface SessionActivityStore {
  /** Adds the session ids to `bucket`; the bucket's record expires at `expiresAt` (epoch ms). */
  record(bucket: number, sessionIds: readonly string[], expiresAt: number): Promise<void>;
  /** Distinct session ids over these buckets (Redis: HyperLogLog, ~0.81 % standard error; memory: exact). */
  count(buckets: readonly number[]): Promise<number>;
}

export interface Stores {
  readonly kind: 'redis' | 'memory';
  readonly accounts: AccountStore;
  readonly sessions: SessionStore;
  readonly keySets: KeySetStore;
  readonly signingKeys: SigningKeyStore;
  readonly locks: LockStore;
  readonly rateLimits: RateLimitStore;
  readonly signInGuards: SignInGuardStore;
  readonly activity: SessionActivityStore;
  /** Resolves when the store answers; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
