import type { AccountProfile, IdentityRecord, IdentityWrite, NewSession, ProfileWrite, SessionRecord, UserRecord } from '../types.js';
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
  /**
   * The sub of the account's Google identity. Before accounts had several identities this was
   * the account's identity; now the identities hash (`ids:{uid}`, IdentityField) is, and `s`
   * is kept beside it for those versions (during a rolling upgrade or a rollback they read an
   * account through it).
   */
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

/** The profile's fields (each stored with all its pieces). */
const PROFILE_FIELD: Record<keyof AccountProfile, string> = {
  email: UserField.email,
  emailVerified: UserField.emailVerified,
  name: UserField.name,
  givenName: UserField.givenName,
  familyName: UserField.familyName,
  picture: UserField.picture,
  locale: UserField.locale,
  hostedDomain: UserField.hostedDomain,
};

/**
 * Fields of an identity in the account's identities hash: `<provider>` holds its sub, and
 * `<provider>.<field>` the rest (the Lua scripts name them too: lib.lua).
 */
export const IdentityField = {
  linkedAt: 'at',
  email: 'em',
  emailVerified: 'ev',
  isPrivateEmail: 'pe',
  realUserStatus: 'rs',
  /** Present ('1') while linkIdentity has not confirmed it. */
  pending: 'p',
  /** Present ('1') once the provider said mail to the relay address no longer reaches the person. */
  emailForwardingDisabled: 'nf',
  /** The provider's refresh token, sealed (never decoded here: handed over for revocation). */
  refreshToken: 'rt',
} as const;

/**
 * The profile fields account events carry (src/events/event.ts ProfileData), for the Lua side:
 * flat triples of stored field, event field and kind (`s` a string or null, `b` a '1'/'0' flag).
 * `s` (the Google subject) is not among them: an event names the user by id only.
 */
export const PROFILE_EVENT_SPEC: readonly string[] = [
  [UserField.email, 'email', 's'],
  [UserField.emailVerified, 'emailVerified', 'b'],
  [UserField.name, 'name', 's'],
  [UserField.givenName, 'givenName', 's'],
  [UserField.familyName, 'familyName', 's'],
  [UserField.picture, 'picture', 's'],
  [UserField.locale, 'locale', 's'],
  [UserField.hostedDomain, 'hostedDomain', 's'],
].flat();

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

/**
 * A sign-in's profile write → write-session.lua's `profile` (field/value pairs; null values
 * simply absent), `profileFields` (the base names it writes, cleared first) and `names`. A
 * Google sign-in also writes `s` (UserField.googleSub), as versions before several identities did.
 */
export function encodeProfileWrite(w: ProfileWrite, identity: IdentityWrite): { profile: string[]; profileFields: string[]; names: string[] } {
  const profile: string[] = [];
  const profileFields: string[] = [];
  for (const [key, value] of Object.entries(w.set) as [keyof AccountProfile, AccountProfile[keyof AccountProfile]][]) {
    const field = PROFILE_FIELD[key];
    profileFields.push(field);
    if (typeof value === 'boolean') profile.push(field, value ? '1' : '0');
    else pushPieces(profile, field, value);
  }
  if (identity.provider === 'google') {
    profileFields.push(UserField.googleSub);
    pushPieces(profile, UserField.googleSub, identity.subject);
  }
  const names: string[] = [];
  if (w.names) {
    pushPieces(names, UserField.name, w.names.name);
    pushPieces(names, UserField.givenName, w.names.givenName);
    pushPieces(names, UserField.familyName, w.names.familyName);
  }
  return { profile, profileFields, names };
}

/** An identity's claims → field/value pairs without the provider prefix (write_identity_claims in lib.lua). */
export function encodeIdentityClaims(c: IdentityWrite): string[] {
  const out: string[] = [IdentityField.emailVerified, c.emailVerified ? '1' : '0', IdentityField.isPrivateEmail, c.isPrivateEmail ? '1' : '0'];
  if (c.email !== null) out.push(IdentityField.email, c.email);
  if (c.realUserStatus !== null) out.push(IdentityField.realUserStatus, String(c.realUserStatus));
  return out;
}

/**
 * The identities hash (and the user hash, for a record written before accounts had several
 * identities: its one identity is Google's, `s`, linked when the account was created) →
 * identities, oldest link first.
 */
export function decodeIdentities(ids: Record<string, string>, user: Record<string, string>): IdentityRecord[] {
  if (Object.keys(ids).length === 0) {
    const sub = readPieces(user, UserField.googleSub);
    if (sub === null || user[UserField.createdAt] === undefined) return [];
    const email = readPieces(user, UserField.email);
    const legacy = { google: sub, [`google.${IdentityField.linkedAt}`]: user[UserField.createdAt]!, [`google.${IdentityField.emailVerified}`]: user[UserField.emailVerified] ?? '0' };
    return decodeIdentities(email === null ? legacy : { ...legacy, [`google.${IdentityField.email}`]: email }, {});
  }
  const out: IdentityRecord[] = [];
  for (const [provider, subject] of Object.entries(ids)) {
    if (provider.includes('.')) continue;
    const f = (name: string) => ids[`${provider}.${name}`];
    const email = f(IdentityField.email) ?? null;
    const rs = f(IdentityField.realUserStatus);
    out.push({
      provider,
      subject,
      email,
      emailVerified: email !== null && f(IdentityField.emailVerified) === '1',
      isPrivateEmail: f(IdentityField.isPrivateEmail) === '1',
      realUserStatus: rs === undefined ? null : Number(rs),
      linkedAt: Number(f(IdentityField.linkedAt)),
      pending: f(IdentityField.pending) === '1',
      ...(f(IdentityField.emailForwardingDisabled) === '1' ? { emailForwardingDisabled: true as const } : {}),
    });
  }
  return out.sort(byLinkTime);
}

/** Oldest link first, then by provider name: both stores list an account's identities in this order. */
export function byLinkTime(a: IdentityRecord, b: IdentityRecord): number {
  return a.linkedAt - b.linkedAt || (a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : 0);
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

/** A user record exists from its creation on (`c`); a hash without it is no account. */
export function decodeUser(id: string, h: Record<string, string>): UserRecord | null {
  if (h[UserField.createdAt] === undefined) return null;
  return {
    id,
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
