import { createHash, timingSafeEqual } from 'node:crypto';
import * as jose from 'jose';
import type { CryptoKey, JWTPayload } from 'jose';
import { AuthError, AuthReason, ServiceUnavailableError, UnavailableReason } from '../errors.js';
import type { KeyResolver } from '../identity/keys/index.js';
import type { GoogleProfile } from '../store/types.js';

/**
 * Verifies a Google ID token and returns the profile it carries.
 *
 * Order: cheap shape checks (size, three segments, header JSON, `alg`, `kid`) → key by `kid`
 * → `jose.jwtVerify` (RS256 only, issuer, audience, `exp` with 60 s tolerance, required claims)
 * → our own policy (every audience trusted, `azp`, `iat` not in the future, lifetime ≤ 1 day,
 * `sub` shape, hosted domain, nonce).
 *
 * Every rejection is an `AuthError` (UNAUTHENTICATED + reason); key trouble is a
 * `ServiceUnavailableError('keys_unavailable')`. Nothing else escapes, and no error or log
 * carries the token or any part of it.
 *
 * Claims of odd types: the identity claims decide (`sub` must be a string, `iat`/`exp` numbers,
 * `aud`/`azp`/`hd`/`nonce` as below, else rejected). The informational profile claims (`email`,
 * `name`, `given_name`, `family_name`, `picture`, `locale`) are taken when they are strings and
 * treated as absent (null) otherwise; `email_verified` is true only for `true` or `"true"`
 * (Google has sent both), false for anything else, and always false without an email.
 */

/** Longer input is refused before any parsing (Google's ID tokens are ~1 KB). */
export const MAX_ID_TOKEN_LENGTH = 8 * 1024;
/** Allowed clock skew, seconds, for `exp` and `iat`. */
export const CLOCK_TOLERANCE_S = 60;
/** Longest accepted `exp - iat`, seconds (Google issues 1 h tokens). */
export const MAX_LIFETIME_S = 24 * 3600;
export const GOOGLE_ISSUERS: readonly string[] = Object.freeze(['accounts.google.com', 'https://accounts.google.com']);

const MAX_SUB_LENGTH = 255;
const MAX_KID_LENGTH = 256;
/** Client nonces longer than this cannot match (and are not hashed). */
const MAX_NONCE_LENGTH = 1024;
/** Three base64url segments; the signature may be empty so `alg: none` is reported as such. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Resolves a `kid` to a verification key (`ProviderKeys`, src/identity/keys/resolver.ts). */
export type VerificationKeyResolver = KeyResolver;

export interface GoogleIdTokenVerifierOptions {
  keys: VerificationKeyResolver;
  /** Accepted audiences (`config.google.clientIds`); at least one. */
  clientIds: readonly string[];
  /** When non-empty, the token's `hd` must be one of these (case-insensitive). */
  hostedDomains?: readonly string[];
  /** Clock, epoch ms. Default `Date.now`. */
  now?: () => number;
  /**
   * Called when something other than a typed rejection escaped verification: a bug (the client
   * is still answered `malformed`). Gets the error itself; its message may quote the input.
   */
  onUnexpectedError?: (err: unknown) => void;
}

export interface VerifyIdTokenOptions {
  /** The nonce the client generated for this sign-in; null/undefined = the client sent none. */
  nonce?: string | null;
}

export interface VerifiedGoogleIdToken extends GoogleProfile {
  /** Seconds since the epoch, as in the token. */
  exp: number;
  iat: number;
}

export class GoogleIdTokenVerifier {
  readonly #keys: VerificationKeyResolver;
  readonly #clientIds: readonly string[];
  readonly #hostedDomains: ReadonlySet<string>;
  readonly #now: () => number;
  readonly #onUnexpectedError: ((err: unknown) => void) | undefined;

  constructor(options: GoogleIdTokenVerifierOptions) {
    const clientIds = options.clientIds.filter((id) => typeof id === 'string' && id.length > 0);
    if (clientIds.length === 0) throw new TypeError('GoogleIdTokenVerifier: at least one client id is required');
    this.#keys = options.keys;
    this.#clientIds = Object.freeze([...clientIds]);
    this.#hostedDomains = new Set((options.hostedDomains ?? []).map((d) => d.toLowerCase()));
    this.#now = options.now ?? Date.now;
    this.#onUnexpectedError = options.onUnexpectedError;
  }

  /**
   * @throws AuthError (UNAUTHENTICATED, with `reason`) for any token that is not accepted.
   * @throws ServiceUnavailableError `keys_unavailable` when Google's keys cannot be obtained.
   */
  async verify(idToken: string, options: VerifyIdTokenOptions = {}): Promise<VerifiedGoogleIdToken> {
    try {
      return await this.#verify(idToken, options);
    } catch (err) {
      if (err instanceof AuthError || err instanceof ServiceUnavailableError) throw err;
      // Unreachable by design; a client must still never see anything but a typed rejection.
      this.#onUnexpectedError?.(err);
      throw new AuthError(AuthReason.MALFORMED);
    }
  }

  async #verify(token: unknown, options: VerifyIdTokenOptions): Promise<VerifiedGoogleIdToken> {
    // 1. Shape, before any decoding.
    if (typeof token !== 'string') throw new AuthError(AuthReason.MALFORMED);
    if (token.length > MAX_ID_TOKEN_LENGTH) throw new AuthError(AuthReason.TOO_LARGE);
    if (!JWT_SHAPE.test(token)) throw new AuthError(AuthReason.MALFORMED);

    let header: jose.ProtectedHeaderParameters;
    try {
      header = jose.decodeProtectedHeader(token);
    } catch {
      throw new AuthError(AuthReason.MALFORMED);
    }
    if (typeof header.alg !== 'string') throw new AuthError(AuthReason.MALFORMED);
    if (header.alg !== 'RS256') throw new AuthError(AuthReason.UNSUPPORTED_ALGORITHM);
    const kid = header.kid;
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) throw new AuthError(AuthReason.MALFORMED);

    // 2. Key (unknown_key / keys_unavailable).
    let key: CryptoKey;
    try {
      key = await this.#keys.getKey(kid);
    } catch (err) {
      if (err instanceof AuthError || err instanceof ServiceUnavailableError) throw err;
      throw new ServiceUnavailableError(UnavailableReason.KEYS_UNAVAILABLE);
    }

    // 3. Signature and standard claims.
    const nowMs = this.#now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jose.jwtVerify(token, key, {
        algorithms: ['RS256'],
        issuer: [...GOOGLE_ISSUERS],
        audience: [...this.#clientIds],
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['exp', 'iat', 'sub'],
        currentDate: new Date(nowMs),
      }));
    } catch (err) {
      throw new AuthError(reasonForJoseError(err));
    }

    // 4. Our policy.
    return this.#applyPolicy(payload, Math.floor(nowMs / 1000), options);
  }

  #applyPolicy(claims: JWTPayload, nowS: number, options: VerifyIdTokenOptions): VerifiedGoogleIdToken {
    // Every listed audience must be ours: a token also issued to someone else is not only ours.
    const aud = claims.aud;
    if (Array.isArray(aud)) {
      if (aud.some((a) => typeof a !== 'string' || !this.#clientIds.includes(a))) throw new AuthError(AuthReason.UNTRUSTED_AUDIENCE);
      // Several audiences: the authorized party, when named, must be one of ours too.
      if (aud.length > 1 && claims.azp !== undefined) {
        if (typeof claims.azp !== 'string' || !this.#clientIds.includes(claims.azp)) throw new AuthError(AuthReason.UNTRUSTED_AUDIENCE);
      }
    }

    // jose checked `exp`/`iat` are numbers and `exp` has not passed (with the tolerance).
    const { exp, iat } = claims as { exp: number; iat: number };
    if (!Number.isFinite(exp) || !Number.isFinite(iat)) throw new AuthError(AuthReason.MALFORMED);
    if (iat > nowS + CLOCK_TOLERANCE_S) throw new AuthError(AuthReason.ISSUED_IN_FUTURE);
    if (exp <= iat) throw new AuthError(AuthReason.MALFORMED);
    if (exp - iat > MAX_LIFETIME_S) throw new AuthError(AuthReason.LIFETIME_TOO_LONG);

    const sub: unknown = claims.sub;
    if (typeof sub !== 'string') throw new AuthError(AuthReason.MALFORMED);
    if (sub.length === 0) throw new AuthError(AuthReason.MISSING_CLAIM);
    if (sub.length > MAX_SUB_LENGTH) throw new AuthError(AuthReason.MALFORMED);

    const hd = typeof claims.hd === 'string' && claims.hd.length > 0 ? claims.hd : null;
    if (this.#hostedDomains.size > 0 && (hd === null || !this.#hostedDomains.has(hd.toLowerCase()))) {
      throw new AuthError(AuthReason.HOSTED_DOMAIN_NOT_ALLOWED);
    }

    if (options.nonce !== undefined && options.nonce !== null && !nonceMatches(options.nonce, claims.nonce)) {
      throw new AuthError(AuthReason.NONCE_MISMATCH);
    }

    const email = str(claims.email);
    return {
      sub,
      email,
      emailVerified: email !== null && (claims.email_verified === true || claims.email_verified === 'true'),
      name: str(claims.name),
      givenName: str(claims.given_name),
      familyName: str(claims.family_name),
      picture: str(claims.picture),
      locale: str(claims.locale),
      hostedDomain: hd,
      exp,
      iat,
    };
  }
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/**
 * The token's nonce must equal the client's nonce or its SHA-256 (lowercase hex): some
 * clients hand Google the hash and keep the raw value. Both comparisons always run, in
 * constant time for equal lengths. An empty or non-string client nonce matches nothing.
 */
export function nonceMatches(expected: unknown, actual: unknown): boolean {
  if (typeof expected !== 'string' || expected.length === 0 || expected.length > MAX_NONCE_LENGTH) return false;
  if (typeof actual !== 'string' || actual.length === 0) return false;
  const got = Buffer.from(actual, 'utf8');
  const raw = Buffer.from(expected, 'utf8');
  const hashed = Buffer.from(createHash('sha256').update(raw).digest('hex'), 'utf8');
  return equal(got, raw) | equal(got, hashed) ? true : false;
}

function equal(a: Buffer, b: Buffer): 0 | 1 {
  return a.length === b.length && timingSafeEqual(a, b) ? 1 : 0;
}

/** jose's typed errors → our reasons. Anything unrecognised could not be shown authentic. */
export function reasonForJoseError(err: unknown): AuthReason {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  switch (code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return AuthReason.BAD_SIGNATURE;
    case 'ERR_JWT_EXPIRED':
      return AuthReason.EXPIRED;
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return AuthReason.UNSUPPORTED_ALGORITHM;
    // `alg` was checked before: "not supported" here is another feature (e.g. an unknown `crit`).
    case 'ERR_JOSE_NOT_SUPPORTED':
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return AuthReason.MALFORMED;
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const { claim, reason } = err as { claim?: unknown; reason?: unknown };
      if (reason === 'missing') return AuthReason.MISSING_CLAIM;
      if (reason === 'invalid') return AuthReason.MALFORMED;
      if (claim === 'iss') return AuthReason.WRONG_ISSUER;
      if (claim === 'aud') return AuthReason.WRONG_AUDIENCE;
      if (claim === 'nbf' || claim === 'iat') return AuthReason.ISSUED_IN_FUTURE;
      return AuthReason.MALFORMED;
    }
    default:
      return AuthReason.BAD_SIGNATURE;
  }
}
