import { randomBytes, randomUUID } from 'node:crypto';
import { gcraRule } from '../../src/store/gcra.js';
import type { AccountProfile, IdentityWrite, NewSession, ProfileWrite, Rotation, SessionWrite, Stores } from '../../src/store/types.js';

/** Records and inputs shaped like the gateway's, for the store contract and the store tests. */

export const id = () => randomUUID();
/** Shaped like a stored refresh-token hash (src/sessions/refresh-token.ts: 192 bits, base64url). */
export const hash = () => randomBytes(24).toString('base64url');
export const HOUR = 3_600_000;

/** What a Google sign-in reports: its subject and the whole profile (a Google sign-in writes every profile field). */
export interface GoogleClaims extends AccountProfile {
  sub: string;
}

export function profile(sub: string, over: Partial<GoogleClaims> = {}): GoogleClaims {
  return {
    sub,
    email: `${sub}@example.com`,
    emailVerified: true,
    name: 'Ada Lovelace',
    givenName: 'Ada',
    familyName: 'Lovelace',
    picture: 'https://lh3.googleusercontent.com/a/photo',
    locale: 'en-GB',
    hostedDomain: null,
    ...over,
  };
}

export function newSession(now: number, over: Partial<NewSession> = {}): NewSession {
  return {
    id: id(),
    refreshHash: hash(),
    createdAt: now,
    expiresAt: now + 2 * HOUR,
    refreshExpiresAt: now + HOUR,
    userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
    clientAddress: '2001:db8:85a3::8a2e:370:7334',
    ...over,
  };
}

/** The identity of a Google sign-in reporting `p`. */
export function googleIdentity(p: GoogleClaims): IdentityWrite {
  return { provider: 'google', subject: p.sub, email: p.email, emailVerified: p.emailVerified, isPrivateEmail: false, realUserStatus: null };
}

/** An Apple identity (string booleans already read), as a sign-in or a link presents it. */
export function appleIdentity(subject: string, over: Partial<IdentityWrite> = {}): IdentityWrite {
  return { provider: 'apple', subject, email: `${subject}@privaterelay.appleid.com`, emailVerified: true, isPrivateEmail: true, realUserStatus: 2, ...over };
}

/** The profile write of a Google sign-in reporting `p`: every field. */
export function googleProfileWrite(p: GoogleClaims): ProfileWrite {
  const { sub: _sub, ...set } = p;
  return { set, names: null };
}

/**
 * A sign-in's write for `uid` (a user whose link this caller created: mustExist false), no cap,
 * no limit: a Google sign-in reporting `profile` (default `profile('sub-<uid>')`), or the given
 * identity and profile write.
 */
export function write(
  uid: string,
  session: NewSession,
  over: Partial<Omit<SessionWrite, 'profile'>> & { profile?: GoogleClaims | ProfileWrite } = {},
): SessionWrite {
  const { profile: given, ...rest } = over;
  const claims = given === undefined ? profile(`sub-${uid}`) : 'set' in given ? null : given;
  return {
    userId: uid,
    identity: claims ? googleIdentity(claims) : googleIdentity(profile(`sub-${uid}`)),
    profile: claims ? googleProfileWrite(claims) : (given as ProfileWrite),
    session,
    mustExist: false,
    maxSessions: 0,
    limit: null,
    ...rest,
  };
}

export function rotation(now: number, presentedHash: string, over: Partial<Rotation> = {}): Rotation {
  return {
    presentedHash,
    nextHash: hash(),
    graceBox: `box-${randomBytes(8).toString('hex')}`,
    now,
    graceMs: 10_000,
    refreshTtlMs: HOUR,
    limit: null,
    ...over,
  };
}

/** 2 per minute: a burst of 2, then one every 30 s. */
export const TWO_PER_MINUTE = gcraRule(2, 60_000);

/** What each part of the contract gets: the shared backend (made once per file) and a fresh one on demand. */
export interface ContractContext {
  readonly backend: ContractBackend;
  readonly stores: Stores;
  /** A backend no other test has written to (for process-wide records: key set, signing keys). */
  fresh(): Promise<ContractBackend>;
}

/**
 * The store contract: every implementation (memory, Redis, Redis Cluster) must pass exactly
 * these tests, so they cannot drift. `now` is passed to the stores explicitly; expiry by TTL
 * is tested with `elapse`, which moves the backend's own expiry forward (memory: its injected
 * clock; Redis: every TTL under the test's prefix shortened, as passing time would), so no
 * test sleeps against a TTL.
 */
export interface ContractBackend {
  stores: Stores;
  /**
   * The backend's clock, for times the stores turn into expiries (memory: its fake clock;
   * Redis: the real one, which Redis expires keys by).
   */
  now(): number;
  /** Another store set on the same data, as a second gateway instance sees it. */
  peer(): Promise<Stores>;
  /** Expiry moves `ms` forward for every record of this backend (not the `now` the tests pass). */
  elapse(ms: number): Promise<void>;
  cleanup(): Promise<void>;
}
export type StoreFactory = () => Promise<ContractBackend>;
