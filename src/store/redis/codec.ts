import type { GoogleProfile, NewSession, SessionRecord, UserRecord } from '../types.js';

/**
 * Hash field names, kept to one or two letters: field names are stored in every hash, and
 * short ones keep a session near 200 bytes (hashes stay in the compact listpack encoding
 * while every value is ≤ 64 bytes, Redis' default `hash-max-listpack-value`).
 *
 * A null value is stored as an absent field (so null round-trips as null, never "" or "null").
 */
export const SessionField = {
  refreshHash: 'rh',
  previousHash: 'ph',
  rotatedAt: 'rt',
  createdAt: 'c',
  lastSeenAt: 'l',
  expiresAt: 'e',
  refreshExpiresAt: 'r',
  userAgent: 'ua',
  clientAddress: 'ip',
} as const;

export const UserField = {
  googleSub: 's',
  email: 'em',
  emailVerified: 'ev',
  name: 'n',
  givenName: 'gn',
  familyName: 'fn',
  picture: 'p',
  locale: 'lc',
  hostedDomain: 'hd',
  createdAt: 'c',
  lastSignInAt: 'ls',
  /** Present ('1') only when disabled. Never written by signIn, so sign-in cannot re-enable a user. */
  disabled: 'd',
} as const;

/** Times go into PEXPIREAT and ZADD, which need integers; a fractional time is a caller bug. */
export function assertTime(name: string, value: number): number {
  if (!Number.isSafeInteger(value)) throw new TypeError(`${name} must be an integer epoch-milliseconds time`);
  return value;
}

/** Profile → field/value pairs to set and fields to delete (the claims that are now null). */
export function encodeProfile(profile: GoogleProfile): { set: string[]; del: string[] } {
  const set: string[] = [UserField.googleSub, profile.sub, UserField.emailVerified, profile.emailVerified ? '1' : '0'];
  const del: string[] = [];
  const optional: [string, string | null][] = [
    [UserField.email, profile.email],
    [UserField.name, profile.name],
    [UserField.givenName, profile.givenName],
    [UserField.familyName, profile.familyName],
    [UserField.picture, profile.picture],
    [UserField.locale, profile.locale],
    [UserField.hostedDomain, profile.hostedDomain],
  ];
  for (const [field, value] of optional) {
    if (value === null) del.push(field);
    else set.push(field, value);
  }
  return { set, del };
}

export function encodeSession(s: NewSession): string[] {
  const out = [
    SessionField.refreshHash,
    s.refreshHash,
    SessionField.createdAt,
    String(assertTime('createdAt', s.createdAt)),
    SessionField.lastSeenAt,
    String(s.createdAt),
    SessionField.expiresAt,
    String(assertTime('expiresAt', s.expiresAt)),
    SessionField.refreshExpiresAt,
    String(Math.min(assertTime('refreshExpiresAt', s.refreshExpiresAt), s.expiresAt)),
  ];
  if (s.userAgent !== null) out.push(SessionField.userAgent, s.userAgent);
  if (s.clientAddress !== null) out.push(SessionField.clientAddress, s.clientAddress);
  return out;
}

/** Flat [field, value, ...] (as Lua returns HGETALL) → object. */
export function pairs(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

export function decodeUser(id: string, h: Record<string, string>): UserRecord | null {
  const sub = h[UserField.googleSub];
  if (sub === undefined) return null;
  return {
    id,
    googleSub: sub,
    email: h[UserField.email] ?? null,
    emailVerified: h[UserField.emailVerified] === '1',
    name: h[UserField.name] ?? null,
    givenName: h[UserField.givenName] ?? null,
    familyName: h[UserField.familyName] ?? null,
    picture: h[UserField.picture] ?? null,
    locale: h[UserField.locale] ?? null,
    hostedDomain: h[UserField.hostedDomain] ?? null,
    createdAt: Number(h[UserField.createdAt]),
    lastSignInAt: Number(h[UserField.lastSignInAt]),
    disabled: h[UserField.disabled] === '1',
  };
}

export function decodeSession(userId: string, sessionId: string, h: Record<string, string>): SessionRecord | null {
  const rh = h[SessionField.refreshHash];
  if (rh === undefined) return null;
  return {
    id: sessionId,
    userId,
    createdAt: Number(h[SessionField.createdAt]),
    lastSeenAt: Number(h[SessionField.lastSeenAt]),
    expiresAt: Number(h[SessionField.expiresAt]),
    refreshExpiresAt: Number(h[SessionField.refreshExpiresAt]),
    userAgent: h[SessionField.userAgent] ?? null,
    clientAddress: h[SessionField.clientAddress] ?? null,
  };
}
