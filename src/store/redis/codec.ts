import type { NewSession, Profile, SessionRecord, UserRecord } from '../types.js';
import { METADATA_CHUNKS, utf8Chunks } from '../sizes.js';

/**
 * Hash field names, kept to one or two letters: field names are stored in every hash.
 * A null value is an absent field (so null round-trips as null, never "" or "null").
 * Strings longer than 64 bytes are stored in pieces `f`, `f1`, `f2`, ... so hashes stay in the
 * compact listpack encoding (see ../sizes.ts). Field names never end in a digit, so a
 * piece's base name is its name without trailing digits.
 *
 * The Lua scripts (./scripts) read and write some of these fields by name; those names are
 * the ones below. lastSeenAt is not stored as such: src/sessions/policy.ts derives it from
 * `c` (creation), `rt` (last refresh) and `ls` (last recorded request).
 */
export const SessionField = {
  refreshHash: 'rh',
  previousHash: 'ph',
  rotatedAt: 'rt',
  /** The last recorded request. */
  touchedAt: 'ls',
  createdAt: 'c',
  expiresAt: 'e',
  refreshExpiresAt: 'r',
  userAgent: 'ua',
  clientAddress: 'ip',
  /**
   * The session's refresh budget (RATE_LIMIT_REFRESH_PER_SESSION): its GCRA TAT, as ms after
   * `rt` (a small number: see scripts/rotate-session.lua).
   */
  refreshBudget: 'rb',
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
  /** Present ('1') only when disabled. Never written by sign-in, so sign-in cannot re-enable a user. */
  disabled: 'd',
  /** The account's sign-in budget (GCRA TAT): RATE_LIMIT_SIGN_IN_PER_ACCOUNT. */
  signInBudget: 'sb',
} as const;

/** The fields sign-in rewrites (with all their pieces); createdAt, disabled and the budget are not among them. */
export const PROFILE_FIELDS: readonly string[] = [
  UserField.googleSub,
  UserField.email,
  UserField.emailVerified,
  UserField.name,
  UserField.givenName,
  UserField.familyName,
  UserField.picture,
  UserField.locale,
  UserField.hostedDomain,
];

/** Times go into PEXPIREAT and ZADD, which need integers; a fractional time is a caller bug. */
export function assertTime(name: string, value: number): number {
  if (!Number.isSafeInteger(value)) throw new TypeError(`${name} must be an integer epoch-milliseconds time`);
  return value;
}

function pushPieces(out: string[], field: string, value: string | null, max?: number): void {
  if (value === null) return;
  utf8Chunks(value, max).forEach((piece, i) => out.push(i === 0 ? field : `${field}${i}`, piece));
}

/**
 * `f1`, `f2`, … of each field, named once: a record is decoded on every authenticated request
 * and most of its fields have no second piece, so the name looked up is nearly always `f1`.
 */
const pieceNames = new Map<string, string[]>();

function pieceName(field: string, i: number): string {
  let names = pieceNames.get(field);
  if (!names) pieceNames.set(field, (names = []));
  return (names[i - 1] ??= `${field}${i}`);
}

function readPieces(h: Record<string, string>, field: string): string | null {
  let value = h[field];
  if (value === undefined) return null;
  for (let i = 1; ; i++) {
    const piece = h[pieceName(field, i)];
    if (piece === undefined) return value;
    value += piece;
  }
}

/** Profile → field/value pairs (the null claims are simply absent; write-session.lua clears PROFILE_FIELDS first). */
export function encodeProfile(profile: Profile): string[] {
  const out: string[] = [UserField.emailVerified, profile.emailVerified ? '1' : '0'];
  pushPieces(out, UserField.googleSub, profile.sub);
  pushPieces(out, UserField.email, profile.email);
  pushPieces(out, UserField.name, profile.name);
  pushPieces(out, UserField.givenName, profile.givenName);
  pushPieces(out, UserField.familyName, profile.familyName);
  pushPieces(out, UserField.picture, profile.picture);
  pushPieces(out, UserField.locale, profile.locale);
  pushPieces(out, UserField.hostedDomain, profile.hostedDomain);
  return out;
}

export function encodeSession(s: NewSession): string[] {
  const out = [
    SessionField.refreshHash,
    s.refreshHash,
    SessionField.createdAt,
    String(assertTime('createdAt', s.createdAt)),
    SessionField.expiresAt,
    String(assertTime('expiresAt', s.expiresAt)),
    SessionField.refreshExpiresAt,
    String(Math.min(assertTime('refreshExpiresAt', s.refreshExpiresAt), s.expiresAt)),
  ];
  pushPieces(out, SessionField.userAgent, s.userAgent, METADATA_CHUNKS);
  pushPieces(out, SessionField.clientAddress, s.clientAddress, METADATA_CHUNKS);
  return out;
}

/** Flat [field, value, ...] (as Lua returns HGETALL) → object. */
export function pairs(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

export function decodeUser(id: string, h: Record<string, string>): UserRecord | null {
  const sub = readPieces(h, UserField.googleSub);
  if (sub === null) return null;
  return {
    id,
    googleSub: sub,
    email: readPieces(h, UserField.email),
    emailVerified: h[UserField.emailVerified] === '1',
    name: readPieces(h, UserField.name),
    givenName: readPieces(h, UserField.givenName),
    familyName: readPieces(h, UserField.familyName),
    picture: readPieces(h, UserField.picture),
    locale: readPieces(h, UserField.locale),
    hostedDomain: readPieces(h, UserField.hostedDomain),
    createdAt: Number(h[UserField.createdAt]),
    lastSignInAt: Number(h[UserField.lastSignInAt]),
    disabled: h[UserField.disabled] === '1',
  };
}

const time = (v: string | undefined): number | null => (v === undefined ? null : Number(v));

export function decodeSession(userId: string, sessionId: string, h: Record<string, string>): SessionRecord | null {
  if (h[SessionField.refreshHash] === undefined) return null;
  return {
    id: sessionId,
    userId,
    createdAt: Number(h[SessionField.createdAt]),
    expiresAt: Number(h[SessionField.expiresAt]),
    refreshExpiresAt: Number(h[SessionField.refreshExpiresAt]),
    rotatedAt: time(h[SessionField.rotatedAt]),
    touchedAt: time(h[SessionField.touchedAt]),
    userAgent: readPieces(h, SessionField.userAgent),
    clientAddress: readPieces(h, SessionField.clientAddress),
  };
}
