import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { AuthError, guardStore } from '../errors.js';
import { CLOCK_TOLERANCE_S } from '../google/verify-id-token.js';
import type { SignInGuardStore } from '../store/types.js';

/**
 * Two optional defences around `signInWithGoogle`, both backed by single-use records in the
 * store (shared by every instance):
 *
 * - Server-issued nonces. `createSignInNonce` hands out a random nonce that lives 10 minutes;
 *   the app passes it to Google Sign-In (raw or as its SHA-256 hex, the verifier accepts
 *   both) and then to `signInWithGoogle`, which consumes it. A stolen ID token is then only
 *   good together with a nonce we issued and nobody used yet. Server nonces are recognisable
 *   by their shape (`sn_` + 43 base64url characters), so they are single use whatever
 *   REQUIRE_SIGN_IN_NONCE says; with it off, any other nonce is a client nonce and works as
 *   before (checked against the token, nothing stored).
 * - Single-use ID tokens (REJECT_REPLAYED_ID_TOKENS). A verified token is remembered until it
 *   expires (plus the allowed clock skew); the second sign-in with it is refused (`replayed`).
 *
 * Only hashes are stored. A verified ID token is identified by its signing input (header and
 * payload exactly as sent): the signature segment is left out because one signature can be
 * spelled several ways in base64url (unused trailing bits), while the signed part cannot
 * change without breaking the signature.
 */

/** How long a server-issued nonce may wait for its sign-in. */
export const SIGN_IN_NONCE_TTL_MS = 10 * 60_000;
const SERVER_NONCE = /^sn_[A-Za-z0-9_-]{43}$/;

export interface SignInGuardOptions {
  store: SignInGuardStore;
  requireNonce: boolean;
  rejectReplayedIdTokens: boolean;
  log: { error(obj: object, msg: string): void };
  now?: () => number;
}

export class SignInGuards {
  private readonly now: () => number;

  constructor(private readonly opts: SignInGuardOptions) {
    this.now = opts.now ?? Date.now;
  }

  private guard<T>(work: Promise<T>): Promise<T> {
    return guardStore(work, this.opts.log);
  }

  /** A new single-use nonce and when it stops being accepted. */
  async createNonce(): Promise<{ nonce: string; expiresAt: number }> {
    const nonce = `sn_${randomBytes(32).toString('base64url')}`;
    const now = this.now();
    const expiresAt = now + SIGN_IN_NONCE_TTL_MS;
    await this.guard(this.opts.store.putNonce(sha256(nonce), expiresAt, now));
    return { nonce, expiresAt };
  }

  /** Before the token is verified (cheap): with REQUIRE_SIGN_IN_NONCE, a server nonce must be sent. */
  checkNonce(nonce: string | null): void {
    if (this.opts.requireNonce && (nonce === null || !SERVER_NONCE.test(nonce))) throw new AuthError('nonce_required');
  }

  /**
   * After the token is verified (so junk never reaches the store): consumes a server nonce,
   * then, when replays are refused, records the token. Both are atomic in the store, so of
   * two concurrent sign-ins with one nonce or one token exactly one passes.
   */
  async afterVerification(idToken: string, nonce: string | null): Promise<void> {
    if (nonce !== null && SERVER_NONCE.test(nonce)) {
      if (!(await this.guard(this.opts.store.consumeNonce(sha256(nonce), this.now())))) throw new AuthError('invalid_nonce');
    }
    if (this.opts.rejectReplayedIdTokens) {
      const { exp } = decodeJwt(idToken); // verified already: exp is a number
      const expiresAt = (Number(exp) + CLOCK_TOLERANCE_S) * 1000;
      const signed = idToken.slice(0, idToken.lastIndexOf('.'));
      if (!(await this.guard(this.opts.store.markIdTokenUsed(sha256(signed), expiresAt, this.now())))) throw new AuthError('replayed');
    }
  }
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}
