import { AuthError, storeCall } from '../errors.js';
import type { Profile, Stores } from '../store/types.js';
import { accounted, type AuthResult, type RequestMeta, type UseCaseDeps } from './auth-result.js';
import { randomId } from './ids.js';
import { newSessionTimes } from './policy.js';
import { issueRefreshToken } from './refresh-token.js';
import type { SignInNonces, UsedIdTokens } from './single-use.js';

/** Verifies a Google ID token against our policy (src/google); throws AuthError or ServiceUnavailableError. */
export type VerifyIdToken = (idToken: string, nonce: string | null) => Promise<Profile>;

export interface SignInRequest {
  idToken: string;
  /** The nonce the client sent, if any (a server nonce from createSignInNonce, or its own). */
  nonce: string | null;
  meta: RequestMeta;
}

export interface SignInDeps extends UseCaseDeps {
  stores: Pick<Stores, 'identities' | 'accounts'>;
  nonces: SignInNonces;
  usedIdTokens: UsedIdTokens;
  verifyIdToken: VerifyIdToken;
}

/** The identity provider this use case signs in with (the store takes it as a parameter). */
const PROVIDER = 'google';
/** The user agent kept with a session (the store also bounds it to 256 bytes). */
const MAX_USER_AGENT = 256;
/** Writes per sign-in: one, and one more per account that vanished or was not yet written (see writeSession). */
const MAX_WRITES = 3;

/**
 * `signInWithGoogle`: a verified Google ID token becomes an account (created on first use) and
 * a new session. Three Redis round trips whatever the account: the address limits; the
 * single-use records and the identity link, together; the session write.
 */
export class SignInWithGoogle {
  constructor(private readonly d: SignInDeps) {}

  signIn(req: SignInRequest): Promise<AuthResult> {
    return accounted(this.attempt(req), {
      count: this.d.count,
      // A rejected token or nonce spends the address's failure budget. A good token for an
      // account that may not sign in (disabled, or vanishing in a race) is not a rejected token.
      rejectsCredential: (err) => err instanceof AuthError && err.reason !== 'account_disabled' && err.reason !== 'account_not_found',
      spendFailure: () => this.d.rateLimits.countRejection(req.meta.clientAddress),
    });
  }

  private async attempt({ idToken, nonce, meta }: SignInRequest): Promise<AuthResult> {
    // An address over its attempt or failure budget is refused before any work: guessing
    // tokens costs the guesser, not us, and a valid token waits once its address is spent.
    await this.d.rateLimits.checkSignIn(meta.clientAddress);

    // With REQUIRE_SIGN_IN_NONCE, a sign-in without a server nonce is refused before the
    // (costly) verification.
    this.d.nonces.requireShape(nonce);

    // Signature (Google's keys, RS256 only), issuer, audience, lifetime, hosted domain, and
    // the token's nonce claim against the nonce sent. Nothing about the caller is trusted
    // before this line.
    const profile = await this.d.verifyIdToken(idToken, nonce);

    // One round trip, three single-key commands. A server nonce is spent and the token
    // recorded as used (REJECT_REPLAYED_ID_TOKENS), each atomically: of two sign-ins sharing
    // one, exactly one passes. Taking the identity link before those two pass writes nothing
    // that matters: at worst a link to an account never created, which the next sign-in of
    // that identity creates (writeSession).
    const [nonceSpent, firstUse, link] = await Promise.all([
      this.d.nonces.consume(nonce),
      this.d.usedIdTokens.claim(idToken),
      storeCall(this.d.stores.identities.link(PROVIDER, profile.sub, randomId()), this.d.log),
    ]);
    if (!nonceSpent) throw new AuthError('invalid_nonce');
    if (!firstUse) throw new AuthError('replayed');

    return this.writeSession(profile, link, meta);
  }

  /**
   * The session write: one atomic script that admits the sign-in (a disabled account is
   * refused, the account's sign-in budget is spent) and only then writes the profile, the
   * session and its index entry, ending the sessions over the cap. Nothing of the account is
   * written before it is admitted.
   *
   * An account the link already named must still exist (`mustExist`). Account deletion unlinks
   * first, then deletes the account's keys; a sign-in that read the link just before the
   * unlink and wrote just after the delete would recreate the account under the deleted id,
   * with no identity pointing to it. The script finds the record gone and writes nothing;
   * linking again then links a fresh account. When the link still names the same missing id,
   * that account's first sign-in has not written it yet (two first sign-ins at once) or never
   * will (it was refused or failed after linking): that id is the account, and this sign-in
   * creates it.
   */
  private async writeSession(profile: Profile, link: { userId: string; created: boolean }, meta: RequestMeta): Promise<AuthResult> {
    let { userId, created } = link;
    for (let write = 1; ; write++) {
      const sessionId = randomId();
      const refresh = issueRefreshToken(userId, sessionId);
      const times = newSessionTimes(this.d.now(), this.d.rules);
      const written = await storeCall(
        this.d.stores.accounts.writeSession({
          userId,
          profile,
          session: {
            id: sessionId,
            refreshHash: refresh.hash,
            ...times,
            userAgent: meta.userAgent?.slice(0, MAX_USER_AGENT) ?? null,
            clientAddress: meta.clientAddress,
          },
          mustExist: !created,
          maxSessions: this.d.rules.maxSessionsPerUser,
          limit: this.d.rateLimits.perAccount,
        }),
        this.d.log,
      );
      switch (written.kind) {
        case 'written':
          return this.d.tokens.issue(written.user, sessionId, { token: refresh.token, expiresAt: times.refreshExpiresAt }, written.isNewUser);
        case 'account_disabled':
          throw new AuthError('account_disabled');
        case 'limited':
          throw this.d.rateLimits.refused('sign-in-account', written.retryAfterMs);
        case 'gone': {
          // A further miss would need another account to vanish a moment after it was linked.
          if (write >= MAX_WRITES) throw new AuthError('account_not_found');
          const again = await storeCall(this.d.stores.identities.link(PROVIDER, profile.sub, randomId()), this.d.log);
          created = again.created || again.userId === userId;
          userId = again.userId;
        }
      }
    }
  }
}
