import { createHash, randomBytes } from 'node:crypto';
import { AuthError, storeCall } from '../errors.js';
import type { SingleUseStore } from '../store/types.js';

/**
 * Server-issued sign-in nonces. `createSignInNonce` hands out a random nonce that lives 10
 * minutes; the app passes it to Google Sign-In (raw or as its SHA-256 hex, the verifier accepts
 * both) and then to `signInWithGoogle`, which spends it. A stolen ID token is then only good
 * together with a nonce we issued and nobody used yet.
 *
 * Server nonces are recognisable by their shape (`sn_` + 43 base64url characters), so they
 * are single use whatever REQUIRE_SIGN_IN_NONCE says; with it off, any other nonce is a client
 * nonce and works as before (checked against the token by the verifier, nothing stored). Only
 * a hash of the nonce is stored.
 */

/** How long a server-issued nonce may wait for its sign-in. */
export const SIGN_IN_NONCE_TTL_MS = 10 * 60_000;
const SERVER_NONCE = /^sn_[A-Za-z0-9_-]{43}$/;

export interface SignInNoncesOptions {
  store: SingleUseStore;
  /** REQUIRE_SIGN_IN_NONCE */
  requireNonce: boolean;
  log: { error(obj: object, msg: string): void };
  now?: () => number;
}

export class SignInNonces {
  private readonly now: () => number;

  constructor(private readonly opts: SignInNoncesOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** A new single-use nonce and when it stops being accepted. */
  async create(): Promise<{ nonce: string; expiresAt: number }> {
    const nonce = `sn_${randomBytes(32).toString('base64url')}`;
    const now = this.now();
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
   * Atomic in the store: of two sign-ins with one nonce, exactly one gets true.
   */
  async consume(nonce: string | null): Promise<boolean> {
    if (!isServerNonce(nonce)) return true;
    return storeCall(this.opts.store.take('sign-in-nonce', sha256(nonce), this.now()), this.opts.log);
  }
}

function isServerNonce(nonce: string | null): nonce is string {
  return nonce !== null && SERVER_NONCE.test(nonce);
}

/** SHA-256, base64url: what single-use records are keyed by (never the nonce or token itself). */
export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}
