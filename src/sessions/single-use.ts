import { hash, randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { AuthError, storeCall } from '../errors.js';
import { CLOCK_TOLERANCE_S } from '../identity/verifier.js';
import type { SingleUseStore } from '../store/types.js';

/**
 * Two optional defences around sign-in (every provider), both single-use records in the store
 * (shared by every instance, spent atomically: of two sign-ins sharing one, exactly one
 * passes). Only hashes are stored, never a nonce or a token.
 */
export interface SingleUseOptions {
  store: SingleUseStore;
  log: { error(obj: object, msg: string): void };
  now: () => number;
}

/** How long a server-issued nonce may wait for its sign-in. */
export const SIGN_IN_NONCE_TTL_MS = 10 * 60_000;
const SERVER_NONCE = /^sn_[A-Za-z0-9_-]{43}$/;

/**
 * Server-issued sign-in nonces. `createSignInNonce` hands out a random nonce that lives 10
 * minutes; the app passes it to the provider (raw or as its SHA-256 hex, the verifier accepts
 * both) and then to the sign-in (`signInWithGoogle`, `signInWithApple`, `linkIdentity`), which spends it. A stolen ID token is then only good
 * together with a nonce we issued and nobody used yet.
 *
 * Server nonces are recognisable by their shape (`sn_` + 43 base64url characters), so they
 * are single use whatever REQUIRE_SIGN_IN_NONCE says; with it off, any other nonce is a client
 * nonce and works as before (checked against the token by the verifier, nothing stored).
 */
export class SignInNonces {
  constructor(private readonly opts: SingleUseOptions & { /** REQUIRE_SIGN_IN_NONCE */ requireNonce: boolean }) {}

  /** A new single-use nonce and when it stops being accepted. */
  async create(): Promise<{ nonce: string; expiresAt: number }> {
    const nonce = `sn_${randomBytes(32).toString('base64url')}`;
    const now = this.opts.now();
    const expiresAt = now + SIGN_IN_NONCE_TTL_MS;
    await storeCall(this.opts.store.put('sign-in-nonce', sha256(nonce), expiresAt, now), this.opts.log);
    return { nonce, expiresAt };
  }

  /** Before verification (cheap): with REQUIRE_SIGN_IN_NONCE, a server nonce must be sent. Throws `nonce_required`. */
  requireShape(nonce: string | null): void {
    if (this.opts.requireNonce && !isServerNonce(nonce)) throw new AuthError('nonce_required');
  }

  /**
   * After verification (so junk never reaches the store): spends a server nonce. False when it
   * is unknown, expired or already spent; true for a client nonce or none (nothing stored).
   */
  async consume(nonce: string | null): Promise<boolean> {
    if (!isServerNonce(nonce)) return true;
    return storeCall(this.opts.store.take('sign-in-nonce', sha256(nonce), this.opts.now()), this.opts.log);
  }
}

/**
 * Single-use ID tokens (REJECT_REPLAYED_ID_TOKENS): a verified token is remembered until it
 * expires (plus the allowed clock skew), and a second sign-in with it is refused (`replayed`).
 *
 * A token is identified by the hash of its signing input (header and payload exactly as
 * sent): the signature segment is left out because one signature can be spelled several ways
 * in base64url (unused trailing bits), while the signed part cannot change without breaking
 * the signature.
 */
export class UsedIdTokens {
  constructor(private readonly opts: SingleUseOptions & { /** REJECT_REPLAYED_ID_TOKENS */ enabled: boolean }) {}

  /** Records a verified token as used; false when it was used before. Always true when the option is off (nothing stored). */
  async claim(idToken: string): Promise<boolean> {
    if (!this.opts.enabled) return true;
    const { exp } = decodeJwt(idToken); // verified already: exp is a number
    const expiresAt = (Number(exp) + CLOCK_TOLERANCE_S) * 1000;
    const signed = idToken.slice(0, idToken.lastIndexOf('.'));
    return storeCall(this.opts.store.put('used-id-token', sha256(signed), expiresAt, this.opts.now()), this.opts.log);
  }
}

function isServerNonce(nonce: string | null): nonce is string {
  return nonce !== null && SERVER_NONCE.test(nonce);
}

function sha256(value: string): string {
  return hash('sha256', value, 'base64url');
}
