import * as jose from 'jose';
import type { CryptoKey } from 'jose';
import { AuthError, ServiceUnavailableError, UnavailableReason } from '../errors.js';

/**
 * Verifies a Security Event Token (RFC 8417) pushed by Google's Cross-Account Protection
 * (RFC 8935 delivery), and answers its claims or an RFC 8935 error code.
 *
 * Order: size and shape → header (`alg` RS256 only, a `kid`) → the key by `kid` from the RISC
 * key set (found through the discovery document, src/identity/keys; an unknown kid refetches
 * at most once per cooldown) → the signature (jose's compactVerify: RS256 only; a `crit` other
 * than RFC 7797's `b64` refused as jose does, and `b64: false` leaves a payload that is not JSON,
 * refused below) → the claims: `iss` equal to the discovery document's issuer (a trailing slash
 * ignored on both sides: Google's discovery says `https://accounts.google.com/`), `aud` one of
 * our Google client ids, `jti` and `iat` present, `iat` at most 5 minutes ahead, `events` an
 * object of event objects.
 *
 * No `exp` check, on purpose: a security event is a statement about the past and does not
 * expire; Google retries undelivered events for a while, and a delivery that arrives late must
 * still act (a hijacking reported an hour late still ends the sessions). Replays are what
 * `jti` is for (src/risc/receiver.ts acts on each once).
 *
 * Nothing here logs or returns the token or part of it; errors carry fixed descriptions.
 */

/** RFC 8935 §2.4's error codes we answer (`access_denied` has no use here). */
export type SetErrorCode = 'invalid_request' | 'invalid_key' | 'invalid_issuer' | 'invalid_audience' | 'authentication_failed';

export class SetRejection extends Error {
  constructor(
    readonly err: SetErrorCode,
    readonly description: string,
  ) {
    super(description);
    this.name = 'SetRejection';
  }
}

/** A verified SET's claims that matter here. */
export interface VerifiedSet {
  iss: string;
  jti: string;
  /** Seconds. */
  iat: number;
  /** Event type URI → its payload (an object). */
  events: Record<string, Record<string, unknown>>;
}

export interface SetKeys {
  /** The RISC key set's key for `kid` and the issuer named with it (KeySetCache.getKeyOfSet). */
  getKeyOfSet(kid: string): Promise<{ key: CryptoKey; issuer: string | null }>;
}

/** Google's SETs are ~1 KB; longer input is refused before any parsing. */
export const MAX_SET_LENGTH = 16 * 1024;
/** `iat` may be this far ahead of our clock (seconds): clocks differ, events are not from the future. */
export const MAX_IAT_SKEW_S = 5 * 60;
/** More events in one SET than any transmitter sends (Google sends one). */
const MAX_EVENTS = 16;
const MAX_JTI_LENGTH = 256;
const MAX_KID_LENGTH = 256;
const JWS_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Issuers compare with a trailing slash removed on both sides. */
export function sameIssuer(a: string, b: string): boolean {
  const trim = (s: string) => s.replace(/\/+$/, '');
  return trim(a) === trim(b);
}

export class SetVerifier {
  readonly #keys: SetKeys;
  readonly #audiences: readonly string[];
  readonly #now: () => number;

  constructor(o: { keys: SetKeys; audiences: readonly string[]; now?: () => number }) {
    this.#audiences = o.audiences.filter((a) => a.length > 0);
    if (this.#audiences.length === 0) throw new TypeError('RISC receiver: at least one Google client id is required');
    this.#keys = o.keys;
    this.#now = o.now ?? Date.now;
  }

  /**
   * @throws SetRejection for every token that is not accepted.
   * @throws ServiceUnavailableError `keys_unavailable` when the discovery document or keys cannot be had (nothing usable cached).
   */
  async verify(token: string): Promise<VerifiedSet> {
    if (token.length === 0) throw new SetRejection('invalid_request', 'the body must be a Security Event Token (a signed JWT)');
    if (token.length > MAX_SET_LENGTH) throw new SetRejection('invalid_request', `the token is over ${MAX_SET_LENGTH} bytes`);
    if (!JWS_SHAPE.test(token)) throw new SetRejection('invalid_request', 'the body is not a compact JWS');

    let header: jose.ProtectedHeaderParameters;
    try {
      header = jose.decodeProtectedHeader(token);
    } catch {
      throw new SetRejection('invalid_request', 'the token header is not valid JSON');
    }
    if (header.alg !== 'RS256') throw new SetRejection('invalid_key', 'only RS256-signed tokens are accepted');
    const kid = header.kid;
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) throw new SetRejection('invalid_key', 'the token header names no usable kid');

    let key: CryptoKey;
    let issuer: string | null;
    try {
      ({ key, issuer } = await this.#keys.getKeyOfSet(kid));
    } catch (err) {
      if (err instanceof AuthError) throw new SetRejection('invalid_key', 'the token is signed with a key the issuer does not publish');
      if (err instanceof ServiceUnavailableError) throw err;
      throw new ServiceUnavailableError(UnavailableReason.KEYS_UNAVAILABLE);
    }
    if (issuer === null) throw new ServiceUnavailableError(UnavailableReason.KEYS_UNAVAILABLE);

    let payloadBytes: Uint8Array;
    try {
      ({ payload: payloadBytes } = await jose.compactVerify(token, key, { algorithms: ['RS256'] }));
    } catch (err) {
      if (err instanceof jose.errors.JWSSignatureVerificationFailed) throw new SetRejection('authentication_failed', 'the token signature is invalid');
      throw new SetRejection('invalid_request', 'the token could not be verified as a JWS');
    }

    let claims: unknown;
    try {
      claims = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payloadBytes));
    } catch {
      throw new SetRejection('invalid_request', 'the token payload is not JSON');
    }
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new SetRejection('invalid_request', 'the token payload is not a JSON object');
    return this.#claims(claims as Record<string, unknown>, issuer);
  }

  #claims(c: Record<string, unknown>, issuer: string): VerifiedSet {
    if (typeof c.iss !== 'string' || !sameIssuer(c.iss, issuer)) throw new SetRejection('invalid_issuer', 'the token was not issued by Google’s RISC issuer');
    const aud = c.aud;
    const ours = (a: unknown) => typeof a === 'string' && this.#audiences.includes(a);
    // Every audience listed must be ours, as for ID tokens (src/identity/verifier.ts).
    if (!(Array.isArray(aud) ? aud.length > 0 && aud.every(ours) : ours(aud))) throw new SetRejection('invalid_audience', 'the token is addressed to another client id');
    if (typeof c.jti !== 'string' || c.jti.length === 0 || c.jti.length > MAX_JTI_LENGTH) throw new SetRejection('invalid_request', 'the token needs a jti');
    if (typeof c.iat !== 'number' || !Number.isFinite(c.iat) || c.iat < 0) throw new SetRejection('invalid_request', 'the token needs a numeric iat');
    if (c.iat > Math.floor(this.#now() / 1000) + MAX_IAT_SKEW_S) throw new SetRejection('invalid_request', 'the token is issued in the future');
    const events = c.events;
    if (typeof events !== 'object' || events === null || Array.isArray(events)) throw new SetRejection('invalid_request', 'the token needs an events object');
    const entries = Object.entries(events as Record<string, unknown>);
    if (entries.length === 0 || entries.length > MAX_EVENTS) throw new SetRejection('invalid_request', 'the token must carry between 1 and 16 events');
    for (const [, payload] of entries) {
      if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new SetRejection('invalid_request', 'each event must be a JSON object');
    }
    return { iss: c.iss, jti: c.jti, iat: Math.floor(c.iat), events: events as Record<string, Record<string, unknown>> };
  }
}
