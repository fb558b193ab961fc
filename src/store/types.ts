/**
 * The storage primitives the gateway needs. Two implementations exist, Redis (src/store/redis)
 * and embedded in-memory (src/store/memory, development only), and one contract suite
 * (test/store/contract*.ts) runs against both, and against Redis Cluster, so they cannot drift.
 *
 * Stores persist; they do not decide. The session lifecycle's rules live in
 * src/sessions/policy.ts; the session primitives below take a decision's inputs and apply it
 * atomically, and the rate-limit primitive runs src/store/gcra.ts.
 *
 * Times are epoch milliseconds and are passed in by the caller (never read from a clock
 * inside a store), so tests can control them. Stores still give every ephemeral record a
 * real TTL so Redis cleans up after itself.
 *
 * (Longer than most files: it is the whole storage contract, each interface with what every
 * implementation must guarantee. The account's profile and identity types are in
 * ./account-types.ts.)
 */
import type { JSONWebKeySet, JWK } from 'jose';
import type { AccountEvent, IdentityLockReason, RevocationReason } from '../events/event.js';
import type { ClaimDecision, IdentitySecurity, SecurityChange } from '../risc/policy.js';
import type { AccountState, Revocation, RotationInput, SessionWriteInput } from '../sessions/policy.js';
import type { AccountIdentitySteps, AccountProfile, IdentityRef, IdentityWrite, ProfileWrite } from './account-types.js';

export type { AccountState, Revocation } from '../sessions/policy.js';
export type { AccountEvent, RevocationReason } from '../events/event.js';
export type * from './account-types.js';

export interface UserRecord extends AccountProfile {
  id: string;
  createdAt: number;
  lastSignInAt: number;
  disabled: boolean;
}

/** A session as stored. lastSeenAt is derived from it by src/sessions/policy.ts (`lastSeenAt`). */
export interface SessionRecord {
  id: string;
  userId: string;
  createdAt: number;
  /** Absolute end: no refresh extends the session past it. */
  expiresAt: number;
  /** End of the current refresh token's life (slides on each refresh; never past expiresAt). */
  refreshExpiresAt: number;
  /** The last refresh, null before the first. */
  rotatedAt: number | null;
  /** The last recorded request, null before the first (written at most once a minute). */
  touchedAt: number | null;
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

/**
 * Sign-in's write: what to write, and the caller's inputs of `decideSessionWrite` and
 * `sessionsOverCap` (src/sessions/policy.ts; the stored ones are the store's). The limit's
 * state lives in the user record.
 */
export interface SessionWrite extends Pick<SessionWriteInput, 'mustExist' | 'limit'> {
  userId: string;
  /** The identity signing in: it must be the account's identity of its provider, or the account is new. */
  identity: IdentityWrite;
  profile: ProfileWrite;
  /** The new session; its `createdAt` is the decision time. */
  session: NewSession;
  /** Most sessions the user may hold, the new one included; 0 = no cap. */
  maxSessions: number;
}

export type SessionWriteResult =
  | { kind: 'written'; user: UserRecord; isNewUser: boolean }
  | { kind: 'gone' }
  /** The account exists and its identity of this provider is another one, or none: the link is stale. */
  | { kind: 'not_linked' }
  | { kind: 'account_disabled' }
  /** The provider locked the account's identity of it (src/risc/): nothing written. */
  | { kind: 'identity_locked' }
  | { kind: 'limited'; retryAfterMs: number };

/**
 * Refresh's compare-and-rotate: the caller's inputs of `decideRotation` (src/sessions/policy.ts;
 * the stored ones are the store's) and the successor. The limit's state lives in the session
 * record.
 */
export interface Rotation extends Pick<RotationInput, 'presentedHash' | 'now' | 'graceMs' | 'refreshTtlMs' | 'limit'> {
  /** Hash of the next refresh token (never the token). */
  nextHash: string;
  /**
   * The next refresh token, encrypted under a key derived from the presented one. Kept for
   * `graceMs` only, so that a client whose response was lost can present the old token
   * again and receive the same new one (see src/sessions/refresh-token.ts).
   */
  graceBox: string;
}

export type RotationResult =
  | { kind: 'rotated'; session: SessionRecord; user: UserRecord }
  | { kind: 'grace'; session: SessionRecord; user: UserRecord; graceBox: string }
  | { kind: 'limited'; retryAfterMs: number }
  | { kind: 'reused' | 'mismatch' | 'not_found' | 'account_not_found' | 'account_disabled' };

/**
 * Links from an identity (provider, subject) to a user id: which account an identity signs in
 * to. Durable; one key each, in its own Cluster slot (so never in a script with the user's
 * keys: the account's own record of its identities is the AccountStore's, and
 * src/users/identity-policy.ts orders the steps so that the two agree). `provider` is a short
 * name (`[a-z0-9-]`) chosen by code, never by a client.
 */
export interface IdentityStore {
  /**
   * Links `candidateId` when the identity has no link yet, atomically: of concurrent first
   * sign-ins, one links and all get its id. `created` is true for the caller that linked.
   */
  link(provider: string, subject: string, candidateId: string): Promise<{ userId: string; created: boolean }>;
  /** The linked user id, or null. Never links. */
  get(provider: string, subject: string): Promise<string | null>;
  /** Removes the link only while it names `userId` (never a newer account's link). True when it did. */
  unlink(provider: string, subject: string, userId: string): Promise<boolean>;
  /** Points the link at `userId` only while it names `expected` (taking over a dangling link). True when it did. */
  relink(provider: string, subject: string, expected: string, userId: string): Promise<boolean>;
  /**
   * Sign-in's link: `link`, unless the identity's security state (SecurityEventStore, kept in
   * the link's slot) refuses a token issued at `issuedAt` (seconds): `decideIdentitySignIn` of
   * src/risc/policy.ts and the link in one atomic step and one command, so a locked identity
   * never takes a link (creates no account) and the check costs no round trip.
   */
  signInLink(provider: string, subject: string, candidateId: string, issuedAt: number): Promise<SignInLink>;
}

export type SignInLink = { kind: 'linked'; userId: string; created: boolean } | { kind: 'locked' } | { kind: 'revoked' };

/** One security event as recorded for an account (`npm run user -- show`), newest first. */
export interface RecordedSecurityEvent {
  /** The event type's last path segment (`sessions-revoked`, `account-disabled`, …). */
  type: string;
  /** `account-disabled`'s reason, when given. */
  reason: string | null;
  /** What the gateway did: `sessions_ended`, `locked`, `unlocked`, `recorded`. */
  action: string;
  /** The event's `iat` (seconds, Google's clock). */
  issuedAt: number;
  /** When we received it (epoch ms). */
  receivedAt: number;
}

/** What a security event does to the account holding the identity, in one step. */
export interface AccountSecurityWrite {
  provider: string;
  subject: string;
  /** End every session of the account (`session.revoked`, reason `provider_security_event`). */
  endSessions: boolean;
  /** The identity's lock after the event (`decideAccountLock`, src/risc/policy.ts): `none` unlocked; null: untouched. */
  lock: IdentityLockReason | 'none' | null;
  entry: RecordedSecurityEvent;
  now: number;
}

/**
 * Google Cross-Account Protection's records (src/risc/): identities' security states (in the
 * identity link's slot), each account's recorded events (its `{uid}` slot), and the events'
 * delivery records (their own keys). Decisions: src/risc/policy.ts.
 */
export interface SecurityEventStore {
  /** The identity's security state, or null. */
  state(provider: string, subject: string): Promise<IdentitySecurity | null>;
  /** `applySecurityChange`, atomically: the state after it, and whether the lock changed. */
  apply(provider: string, subject: string, change: SecurityChange): Promise<{ state: IdentitySecurity; changed: 'locked' | 'unlocked' | null }>;
  /**
   * Acts on the account, when it exists and lists this identity as its own (else nothing is
   * written, `found` false): brings the account's lock marker in line (`decideAccountLock`,
   * with its `identity.locked`/`identity.unlocked` event), ends its sessions if asked (their
   * `session.revoked` events), records the entry (newest first, the last RECORDED_SECURITY_EVENTS kept).
   */
  recordOnAccount(userId: string, write: AccountSecurityWrite): Promise<{ found: boolean; sessionsEnded: number }>;
  /** The account's recorded events, newest first. */
  recorded(userId: string): Promise<RecordedSecurityEvent[]>;
  /** `decideClaim` on the event's delivery record; a `claimed` record is leased to `lease` for `leaseMs`. */
  claim(eventKey: string, lease: string, leaseMs: number): Promise<ClaimDecision>;
  /** `decideSettle`: `done` keeps the record `keepMs`, `release` removes it. True when this lease still held it. */
  settle(eventKey: string, lease: string, outcome: 'done' | 'release', keepMs: number): Promise<boolean>;
}

/** How many security events an account's record keeps (the oldest go first). */
export const RECORDED_SECURITY_EVENTS = 50;
/** The account's record of security events expires this long after its last event. */
export const RECORDED_SECURITY_EVENTS_KEEP_MS = 180 * 24 * 3_600_000;

/**
 * One user's record, identities and sessions. Every key of a user carries the user's hash tag,
 * so each method is one atomic step in one Cluster slot. The methods persist what
 * src/sessions/policy.ts (and src/users/identity-policy.ts: AccountIdentitySteps) decides;
 * where the decision must be atomic with the data, the Redis store runs a Lua mirror of the
 * policy function and the embedded store calls it.
 */
export interface AccountStore extends AccountIdentitySteps {
  /**
   * Sign-in's write (`decideSessionWrite`): refused (nothing written) for `gone`, `not_linked`,
   * a disabled account or a spent sign-in budget; otherwise creates or refreshes the profile
   * (createdAt and disabled are kept; the fields the provider writes are replaced, a claim that
   * became null or shorter leaving nothing behind; the app's names fill an account without
   * one), records the identity's claims, writes the session and its index entry, and ends the
   * sessions over the cap (`sessionsOverCap`), appending `signInEvents`' events
   * (src/events/policy.ts) in the same step.
   */
  writeSession(write: SessionWrite): Promise<SessionWriteResult>;
  /**
   * Refresh's compare-and-rotate (`decideRotation`), applied atomically; the user comes with the
   * answer. A detected reuse ends the session with its `session.revoked` event in the same step.
   */
  rotateSession(userId: string, sessionId: string, rotation: Rotation): Promise<RotationResult>;
  /** The session and its user (one round trip: every authenticated request). */
  readSession(userId: string, sessionId: string): Promise<{ session: SessionRecord | null; user: UserRecord | null }>;
  /** Users by id, in order, null where absent. One round trip. */
  getUsers(ids: readonly string[]): Promise<(UserRecord | null)[]>;
  /**
   * The user's indexed sessions that are still stored, in no particular order. Index entries
   * whose session ended by `now` or whose record is gone are pruned on the way.
   */
  listSessions(userId: string, now: number): Promise<SessionRecord[]>;
  /** Records a request at `now` when `touchApplies`; never recreates an ended session. */
  touchSession(userId: string, sessionId: string, now: number): Promise<void>;
  /**
   * Ends the sessions `sessionsEnding` names, atomically, with a `session.revoked` event (`cause`)
   * for each that was still stored; returns how many were.
   */
  endSessions(userId: string, revocation: Revocation, cause: RevocationCause): Promise<number>;
  /**
   * Disables, enables or deletes the account, with `accountRevocation`'s sessions in the same
   * step (a disabled account cannot slip a request or a sign-in in between), and the events of
   * `accountStateEvents` (src/events/policy.ts) stamped `now`. Deleting leaves no key of the
   * user behind but a retired-id marker (as `retire`; the identity links are the
   * IdentityStore's) and its identities' sealed provider tokens, handed over for revocation
   * under the `user.deleted` event (TokenRevocationStore), and answers the identities the account had at that moment, so the caller
   * can remove links taken while it ran. `found`: the user existed.
   */
  setAccountState(userId: string, state: AccountState, now: number): Promise<{ found: boolean; sessionsEnded: number; identities: IdentityRef[] }>;
}

/** Why sessions end, and when: the `session.revoked` events' reason and time. */
export interface RevocationCause {
  reason: RevocationReason;
  now: number;
}

/** An event as read back from the log: `cursor` orders the log (a Redis stream entry id, `<ms>-<n>`). */
export interface EventLogEntry {
  cursor: string;
  event: AccountEvent;
}

/**
 * The account event log (src/events/event.ts). Events are not written through this interface:
 * each AccountStore step appends its own, atomically with its change. This reads the log back,
 * and moves events along where a topology needs it.
 *
 * On a single node or Sentinel the scripts append to the stream directly. On Redis Cluster a
 * script may only touch its user's slot, so it appends to the user's outbox (same `{uid}` tag)
 * and a relay moves the outbox to the stream right after the write (`settled` awaits that), or
 * `sweep` does after a crash. Order per user is kept either way; after a crash an event may
 * appear twice in the stream (consumers de-duplicate by its id).
 */
export interface EventLogStore {
  /** Events after `cursor` (`'0'`: from the oldest kept), oldest first, at most `count`. */
  read(cursor: string, count: number): Promise<EventLogEntry[]>;
  /** Resolves once every event appended through this store set so far is in the log (Cluster: relayed). */
  settled(): Promise<void>;
  /** Cluster: relays every outbox left non-empty (an instance died between a write and its relay); how many events moved. Elsewhere 0. */
  sweep(): Promise<number>;
}

/** Single-use records of sign-in: server-issued nonces and ID tokens already used. */
export type SingleUseKind = 'sign-in-nonce' | 'used-id-token';

/**
 * Records that live until `expiresAt` and are spent at most once. Keyed by hashes (never the
 * nonce or token itself). `now` decides validity, so tests control the clock; every record
 * also gets a real TTL.
 */
export interface SingleUseStore {
  /** Stores the record unless one with that hash exists; false when it did (nothing changes then). */
  put(kind: SingleUseKind, hash: string, expiresAt: number, now: number): Promise<boolean>;
  /** Removes the record; true only when it existed and had not expired by `now`. */
  take(kind: SingleUseKind, hash: string, now: number): Promise<boolean>;
}

/** An identity provider's key set as cached (shared by every instance; src/identity/keys). */
export interface CachedKeySet {
  jwks: JSONWebKeySet;
  fetchedAt: number;
  /** When the keys should be fetched again (from Cache-Control max-age). */
  expiresAt: number;
  /**
   * A key set found through a discovery document (Google's RISC configuration): the issuer it
   * names, fetched together with the keys and cached with them. Absent for a plain JWKS.
   */
  issuer?: string;
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

/**
 * Short-lived mutual exclusion across instances (fetch locks, cooldowns). A lock belongs to the
 * store instance that acquired it: `release` frees it only while that acquisition still holds
 * it, so an instance whose lock expired and was taken by another cannot free the other's.
 */
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

/** A webhook delivery as kept while it is retried, or after it gave up (src/events/webhooks). */
export interface DeliveryRecord {
  event: AccountEvent;
  /** Attempts so far (a replay starts again from 0). */
  attempts: number;
  /** The first attempt (or the replay): the retry window counts from here. */
  firstAttemptAt: number;
  lastAttemptAt: number;
  /** What the last attempt got: `HTTP 503`, `timeout`, `connection failed`, … (never a response body). */
  lastError: string;
}

/** A new event for a webhook endpoint, from the stream (its entry id is what is acknowledged). */
export interface StreamDelivery {
  streamId: string;
  event: AccountEvent;
}

/**
 * Webhook deliveries, per endpoint id (src/events/webhooks/endpoint.ts). Redis only (webhooks need
 * Redis; the config refuses them on the embedded store).
 *
 * First attempts come from the event stream through one consumer group per endpoint: an event
 * goes to one instance at a time; an instance that dies before acknowledging leaves it pending,
 * and another takes it over once it has been idle long enough (XAUTOCLAIM). An attempt that fails
 * becomes a retry: a record (with the event) due at a time the caller's clock decides, leased to
 * one instance at a time while attempted; after WEBHOOK_RETRY_FOR it is moved to the failed
 * records, kept until replayed.
 */
export interface DeliveryStore {
  /** Creates the endpoint's consumer group when absent, at the stream's end: a new endpoint gets the events from now on. */
  ensureGroup(endpoint: string): Promise<void>;
  /** Events no consumer of the endpoint's group has read yet, now `consumer`'s (at most `count`). */
  readNew(endpoint: string, consumer: string, count: number): Promise<StreamDelivery[]>;
  /** Events another consumer read more than `idleMs` ago and never acknowledged (it died), now `consumer`'s. */
  claimStale(endpoint: string, consumer: string, idleMs: number, count: number): Promise<StreamDelivery[]>;
  /** Acknowledges first attempts that are settled (delivered, or recorded as retries). */
  ack(endpoint: string, streamIds: readonly string[]): Promise<void>;
  /** Retries due by `now`, each leased to the caller until `leaseUntil` (the lease to settle it with). */
  claimDue(endpoint: string, now: number, leaseUntil: number, count: number): Promise<{ record: DeliveryRecord; lease: number }[]>;
  /**
   * An attempt's outcome. `lease`: the retry's lease (null for a first attempt); when another
   * instance has taken the retry over meanwhile, nothing is written and the answer is false.
   */
  settle(endpoint: string, eventId: string, lease: number | null, outcome: { kind: 'delivered' } | { kind: 'retry'; record: DeliveryRecord; at: number } | { kind: 'failed'; record: DeliveryRecord }): Promise<boolean>;
  /** The deliveries that gave up, oldest first. */
  failed(endpoint: string): Promise<DeliveryRecord[]>;
  /** Moves failed deliveries (these event ids, or all) back to the retries, due `now`, attempts reset; how many moved. */
  replay(endpoint: string, eventIds: readonly string[] | 'all', now: number): Promise<number>;
  /** Events not yet read by the endpoint's group, read but unacknowledged, waiting for a retry, failed. */
  backlog(endpoint: string): Promise<{ unread: number; inFlight: number; retrying: number; failed: number }>;
  /** Removes consumers (instances gone) idle longer than `idleMs` with nothing pending; how many. */
  pruneConsumers(endpoint: string, idleMs: number): Promise<number>;
}

/** A provider token handed over for revocation (`revoke:{uid}`): which identity, and the token as sealed. */
export interface HandedOverToken {
  provider: string;
  subject: string;
  sealed: string;
}

/**
 * Provider tokens waiting to be revoked. The step that unlinks an identity or deletes an account
 * moves the identity's sealed token here, keyed by the event it appends (`identity.unlinked`,
 * `user.deleted`), in the same atomic step; the revoker (src/identity/apple/revoker.ts) follows
 * those events and revokes what it finds. Redis only (Apple's token endpoints need Redis).
 */
export interface TokenRevocationStore {
  /** The token the step that appended `eventId` handed over for `provider`, or null (none, or already settled). */
  get(userId: string, eventId: string, provider: string): Promise<HandedOverToken | null>;
  /** Forgets it: revoked, or dead. */
  remove(userId: string, eventId: string, provider: string): Promise<void>;
}

export interface Stores {
  readonly kind: 'redis' | 'memory';
  readonly identities: IdentityStore;
  readonly accounts: AccountStore;
  readonly singleUse: SingleUseStore;
  readonly keySets: KeySetStore;
  readonly signingKeys: SigningKeyStore;
  readonly locks: LockStore;
  readonly rateLimits: RateLimitStore;
  readonly activity: SessionActivityStore;
  readonly events: EventLogStore;
  readonly securityEvents: SecurityEventStore;
  /** Null on the embedded store (webhooks need Redis). */
  readonly deliveries: DeliveryStore | null;
  /** Null on the embedded store (Apple's token endpoints need Redis). */
  readonly revocations: TokenRevocationStore | null;
  /** Resolves when the store answers; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
