import { decodeJwt } from 'jose';
import { storeCall } from '../errors.js';
import { CLOCK_TOLERANCE_S } from '../google/verify-id-token.js';
import type { SingleUseStore } from '../store/types.js';
import { sha256 } from './sign-in-nonces.js';

/**
 * Single-use ID tokens (REJECT_REPLAYED_ID_TOKENS): a verified token is remembered until it
 * expires (plus the allowed clock skew), and a second sign-in with it is refused (`replayed`).
 *
 * A token is identified by the hash of its signing input (header and payload exactly as
 * sent): the signature segment is left out because one signature can be spelled several ways
 * in base64url (unused trailing bits), while the signed part cannot change without breaking
 * the signature.
 */
export interface UsedIdTokensOptions {
  store: SingleUseStore;
  /** REJECT_REPLAYED_ID_TOKENS */
  enabled: boolean;
  log: { error(obj: object, msg: string): void };
  now?: () => number;
}

export class UsedIdTokens {
  private readonly now: () => number;

  constructor(private readonly opts: UsedIdTokensOptions) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * Records a verified token as used; false when it was used before. Always true when the
   * option is off (nothing stored). Atomic in the store: of two sign-ins with one token,
   * exactly one gets true.
   */
  async claim(idToken: string): Promise<boolean> {
    if (!this.opts.enabled) return true;
    const { exp } = decodeJwt(idToken); // verified already: exp is a number
    const expiresAt = (Number(exp) + CLOCK_TOLERANCE_S) * 1000;
    const signed = idToken.slice(0, idToken.lastIndexOf('.'));
    return storeCall(this.opts.store.put('used-id-token', sha256(signed), expiresAt, this.now()), this.opts.log);
  }
}
