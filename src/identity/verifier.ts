import * as jose from 'jose';
import type { CryptoKey, JWTPayload } from 'jose';
import { AuthError, AuthReason, ServiceUnavailableError, UnavailableReason } from '../errors.js';
import { nonceMatches, reasonForJoseError } from './checks.js';
import type { KeyResolver } from './keys/index.js';
import type { OidcProvider, VerifiedIdToken } from './provider.js';

/**
 * Verifies an identity provider's ID token and returns what it says, for any provider
 * described by an OidcProvider (src/identity/providers/).
 *
 * Order: cheap shape checks (size, three segments, header JSON, `alg`, `kid`) → key by `kid`
 * → `jose.jwtVerify` (RS256 only, the provider's issuers, our audiences, `exp` with 60 s
 * tolerance, required claims) → the common policy (every audience trusted, `azp`, `iat` not in
 * the future, lifetime ≤ 1 day, `sub` shape, nonce) → the provider's own claim rules.
 *
 * Every rejection is an `AuthError` (UNAUTHENTICATED + reason); key trouble is a
 * `ServiceUnavailableError('keys_unavailable')`. Nothing else escapes, and no error or log
 * carries the token or any part of it.
 *
 * Claims of odd types: the identity claims decide (`sub` must be a string, `iat`/`exp` numbers,
 * `aud`/`azp`/`nonce` as below, else rejected); informational claims are the provider's to map
 * (they read as absent when odd, unless the provider's rules say otherwise).
 */

/** Longer input is refused before any parsing (ID tokens are ~1 KB). */
export const MAX_ID_TOKEN_LENGTH = 8 * 1024;
/** Allowed clock skew, seconds, for `exp` and `iat`. */
export const CLOCK_TOLERANCE_S = 60;
/** Longest accepted `exp - iat`, seconds (Google issues 1 h tokens, Apple 10 min). */
export const MAX_LIFETIME_S = 24 * 3600;
/**
 * The only signature algorithm accepted. Both providers sign with RSA keys (Apple's pages say
 * ES256 in places; the keys it serves are RSA): anything else (`none`, HS256 with the public key
 * as secret, another key type under a published kid) is refused before a key is looked up.
 */
const ALGORITHM = 'RS256';

const MAX_SUB_LENGTH = 255;
const MAX_KID_LENGTH = 256;
/** Three base64url segments; the signature may be empty so `alg: none` is reported as such. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export interface IdTokenVerifierOptions<Options> {
  provider: OidcProvider<Options>;
  /** The provider's keys (`ProviderKeys`, src/identity/keys/resolver.ts). */
  keys: KeyResolver;
  /** Accepted audiences (the provider's client ids from the config); at least one. */
  audiences: readonly string[];
  /** The provider's own options (Google's hosted domains). */
  options: Options;
  /** Clock, epoch ms. Default `Date.now`. */
  now?: () => number;
  /**
   * Called when something other than a typed rejection escaped verification: a bug (the client
   * is still answered `malformed`). Gets the error itself; its message may quote the input.
   */
  onUnexpectedError?: (err: unknown) => void;
}

export interface VerifyOptions {
  /** The nonce the client sent for this sign-in; null/undefined = the client sent none. */
  nonce?: string | null;
}

export class IdTokenVerifier<Options = unknown> {
  readonly provider: OidcProvider<Options>;
  readonly #keys: KeyResolver;
  readonly #audiences: readonly string[];
  readonly #options: Options;
  readonly #now: () => number;
  readonly #onUnexpectedError: ((err: unknown) => void) | undefined;

  constructor(o: IdTokenVerifierOptions<Options>) {
    const audiences = o.audiences.filter((id) => typeof id === 'string' && id.length > 0);
    if (audiences.length === 0) throw new TypeError(`${o.provider.displayName} ID-token verifier: at least one client id is required`);
    this.provider = o.provider;
    this.#keys = o.keys;
    this.#audiences = Object.freeze([...audiences]);
    this.#options = o.options;
    this.#now = o.now ?? Date.now;
    this.#onUnexpectedError = o.onUnexpectedError;
  }

  /**
   * @throws AuthError (UNAUTHENTICATED, with `reason`) for any token that is not accepted.
   * @throws ServiceUnavailableError `keys_unavailable` when the provider's keys cannot be obtained.
   */
  async verify(idToken: string, options: VerifyOptions = {}): Promise<VerifiedIdToken> {
    try {
      return await this.#verify(idToken, options);
    } catch (err) {
      if (err instanceof AuthError || err instanceof ServiceUnavailableError) throw err;
      // Unreachable by design; a client must still never see anything but a typed rejection.
      this.#onUnexpectedError?.(err);
      throw new AuthError(AuthReason.MALFORMED);
    }
  }

  /**
   * A provider's signed event (Apple's server-to-server notifications) rather than an ID token:
   * the same shape checks, key, algorithm (RS256), issuer and audiences, and every listed
   * audience ours; `iat` required and not in the future. No `sub`, `exp` or nonce: a notification
   * names its subject inside its events and carries no expiry. Returns the verified claims.
   * @throws AuthError / ServiceUnavailableError as `verify`.
   */
  async verifyEvent(token: string): Promise<JWTPayload> {
    try {
      const nowMs = this.#now();
      const payload = await this.#verifySigned(token, ['iat'], nowMs);
      this.#checkAudiences(payload);
      const iat = payload.iat as number;
      if (!Number.isFinite(iat)) throw new AuthError(AuthReason.MALFORMED);
      if (iat > Math.floor(nowMs / 1000) + CLOCK_TOLERANCE_S) throw new AuthError(AuthReason.ISSUED_IN_FUTURE);
      return payload;
    } catch (err) {
      if (err instanceof AuthError || err instanceof ServiceUnavailableError) throw err;
      this.#onUnexpectedError?.(err);
      throw new AuthError(AuthReason.MALFORMED);
    }
  }

  async #verify(token: unknown, options: VerifyOptions): Promise<VerifiedIdToken> {
    const nowMs = this.#now();
    const payload = await this.#verifySigned(token, ['exp', 'iat', 'sub'], nowMs);

    // 4. The common policy, the provider's rules, then the nonce.
    const { sub, exp, iat } = this.#applyPolicy(payload, Math.floor(nowMs / 1000));
    const claims = this.provider.claims(payload, this.#options);
    if (options.nonce !== undefined && options.nonce !== null && !nonceMatches(options.nonce, payload.nonce)) {
      throw new AuthError(AuthReason.NONCE_MISMATCH);
    }
    return { provider: this.provider.name, sub, ...claims, exp, iat };
  }

  /** Steps 1–3: shape, header, key, signature, issuer, audience, expiry when present, the required claims. */
  async #verifySigned(token: unknown, requiredClaims: readonly string[], nowMs: number): Promise<JWTPayload> {
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
    if (header.alg !== ALGORITHM) throw new AuthError(AuthReason.UNSUPPORTED_ALGORITHM);
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
    let payload: JWTPayload;
    try {
      ({ payload } = await jose.jwtVerify(token, key, {
        algorithms: [ALGORITHM],
        issuer: [...this.provider.issuers],
        audience: [...this.#audiences],
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: [...requiredClaims],
        currentDate: new Date(nowMs),
      }));
    } catch (err) {
      throw new AuthError(reasonForJoseError(err));
    }
    return payload;
  }

  /** Every listed audience must be ours: a token also issued to someone else is not only ours. */
  #checkAudiences(claims: JWTPayload): void {
    const aud = claims.aud;
    if (Array.isArray(aud)) {
      if (aud.some((a) => typeof a !== 'string' || !this.#audiences.includes(a))) throw new AuthError(AuthReason.UNTRUSTED_AUDIENCE);
      // Several audiences: the authorized party, when named, must be one of ours too.
      if (aud.length > 1 && claims.azp !== undefined) {
        if (typeof claims.azp !== 'string' || !this.#audiences.includes(claims.azp)) throw new AuthError(AuthReason.UNTRUSTED_AUDIENCE);
      }
    }
  }

  #applyPolicy(claims: JWTPayload, nowS: number): { sub: string; exp: number; iat: number } {
    this.#checkAudiences(claims);

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
    return { sub, exp, iat };
  }
}
