import { AccountError, AuthError, storeCall } from '../errors.js';
import { identityOf, profileWriteOf, type ClientNames } from '../identity/account-claims.js';
import type { IdTokenVerification } from '../identity/verification.js';
import type { VerifiedIdToken } from '../identity/provider.js';
import type { Stores } from '../store/types.js';
import { accounted, type AuthResult, type Outcome, type RequestMeta, type UseCaseDeps } from './auth-result.js';
import { randomId } from './ids.js';
import { newSessionTimes } from './policy.js';
import { issueRefreshToken } from './refresh-token.js';
import type { SignInNonces, UsedIdTokens } from './single-use.js';

export interface SignInRequest {
  /** The identity provider's name (`google`, `apple`): chosen by the resolver, never by a client. */
  provider: string;
  idToken: string;
  /** The nonce the client sent, if any (a server nonce from createSignInNonce, or its own). */
  nonce: string | null;
  /** Names the app sent (Sign in with Apple), kept only for an account that has none. */
  names: ClientNames | null;
  /** The authorization code the app sent with the token (Sign in with Apple), if any. */
  authorizationCode?: string | null;
  meta: RequestMeta;
}

/** A written sign-in or link that brought an authorization code (src/identity/apple/exchange.ts). */
export interface AuthorizationCodeGrant {
  provider: string;
  userId: string;
  subject: string;
  /** The verified ID token (its `aud` is the client the code was issued to). */
  identityToken: string;
  authorizationCode: string;
}

export interface SignInDeps extends Omit<UseCaseDeps, 'count'> {
  stores: Pick<Stores, 'identities' | 'accounts'>;
  nonces: SignInNonces;
  usedIdTokens: UsedIdTokens;
  /** The configured providers' verifiers (src/identity/verification.ts). */
  verification: Pick<IdTokenVerification, 'enabled' | 'verify'>;
  /** Counts every attempt once, by provider and how it ended (`sign_ins_total`). */
  count(outcome: Outcome<AuthResult>, provider: string): void;
  /**
   * A sign-in was written and brought an authorization code: exchanged in the background (never
   * awaited: the sign-in does not wait for the provider, and its failure never fails the sign-in).
   * Absent (codes are ignored) without the provider's credentials.
   */
  onAuthorizationCode?(grant: AuthorizationCodeGrant): void;
}

/** A good token for an account or identity that may not sign in: not a rejected token (spends no failure budget). */
export const ACCOUNT_REFUSALS: ReadonlySet<string> = new Set(['account_disabled', 'account_not_found', 'google_account_disabled', 'sign_in_revoked']);

/** The user agent kept with a session (the store also bounds it to 256 bytes). */
const MAX_USER_AGENT = 256;
/** Writes per sign-in: one, and one more per account that vanished, was not yet written, or let the identity go (see writeSession). */
const MAX_WRITES = 3;

/**
 * `signInWithGoogle`, `signInWithApple`: a verified ID token of a configured provider becomes an
 * account (created on first use) and a new session. Three Redis round trips whatever the
 * provider and the account: the address limits; the single-use records and the identity link,
 * together; the session write.
 */
export class SignIn {
  constructor(private readonly d: SignInDeps) {}

  signIn(req: SignInRequest): Promise<AuthResult> {
    return accounted(this.attempt(req), {
      count: (outcome) => this.d.count(outcome, req.provider),
      // A rejected token or nonce spends the address's failure budget. A good token for an
      // account that may not sign in (disabled, or vanishing in a race) is not a rejected token.
      rejectsCredential: (err) => err instanceof AuthError && !ACCOUNT_REFUSALS.has(err.reason),
      spendFailure: () => this.d.rateLimits.countRejection(req.meta.clientAddress),
    });
  }

  private async attempt({ provider, idToken, nonce, names, authorizationCode, meta }: SignInRequest): Promise<AuthResult> {
    // A provider that is off answers so before anything else: its sign-in changes nothing.
    if (!this.d.verification.enabled(provider)) throw new AccountError('PROVIDER_NOT_CONFIGURED');

    // An address over its attempt or failure budget is refused before any work: guessing
    // tokens costs the guesser, not us, and a valid token waits once its address is spent.
    await this.d.rateLimits.checkSignIn(meta.clientAddress);

    // With REQUIRE_SIGN_IN_NONCE, a sign-in without a server nonce is refused before the
    // (costly) verification.
    this.d.nonces.requireShape(nonce);

    // Signature (the provider's keys, RS256 only), issuer, audience, lifetime, the provider's
    // claim rules, and the token's nonce claim against the nonce sent. Nothing about the
    // caller is trusted before this line.
    const token = await this.d.verification.verify(provider, idToken, nonce);

    // One round trip, three single-key commands. A server nonce is spent and the token
    // recorded as used (REJECT_REPLAYED_ID_TOKENS), each atomically: of two sign-ins sharing
    // one, exactly one passes. Taking the identity link before those two pass writes nothing
    // that matters: at worst a link to an account never created, which the next sign-in of
    // that identity creates (writeSession), or linkIdentity takes over.
    const [nonceSpent, firstUse, link] = await Promise.all([
      this.d.nonces.consume(nonce),
      this.d.usedIdTokens.claim(idToken),
      // The link, in one command with the identity's security state (Google Cross-Account
      // Protection, src/risc/policy.ts): a locked identity takes no link, so creates no account.
      storeCall(this.d.stores.identities.signInLink(provider, token.sub, randomId(), token.iat), this.d.log),
    ]);
    if (!nonceSpent) throw new AuthError('invalid_nonce');
    if (!firstUse) throw new AuthError('replayed');
    if (link.kind === 'locked') throw new AuthError('google_account_disabled');
    if (link.kind === 'revoked') throw new AuthError('sign_in_revoked');

    const result = await this.writeSession(token, names, link, meta);
    if (authorizationCode && this.d.onAuthorizationCode) {
      this.d.onAuthorizationCode({ provider, userId: result.user.id, subject: token.sub, identityToken: idToken, authorizationCode });
    }
    return result;
  }

  /**
   * The session write: one atomic script that admits the sign-in (the account lists this
   * identity, is not disabled, has sign-in budget left) and only then writes the profile, the
   * identity's claims, the session and its index entry, ending the sessions over the cap.
   * Nothing of the account is written before it is admitted.
   *
   * An account the link already named must still exist (`mustExist`). Account deletion unlinks
   * first, then deletes the account's keys; a sign-in that read the link just before the
   * unlink and wrote just after the delete would recreate the account under the deleted id,
   * with no identity pointing to it. The script finds the record gone (and the id retired) and
   * writes nothing; linking again then links a fresh account. When the link still names the
   * same missing id, that account's first sign-in has not written it yet (two first sign-ins at
   * once) or never will (it was refused or failed after linking): that id is the account, and
   * this sign-in creates it.
   *
   * An account that exists but does not list the identity (`not_linked`) let it go: unlinking
   * removes the account's entry before the link. The stale link is removed here (only while it
   * still names that account) and the identity signs in to a new account, never back into
   * the one that let it go.
   */
  private async writeSession(token: VerifiedIdToken, names: ClientNames | null, link: { userId: string; created: boolean }, meta: RequestMeta): Promise<AuthResult> {
    const identity = identityOf(token);
    const profile = profileWriteOf(token, names);
    let { userId, created } = link;
    for (let write = 1; ; write++) {
      const sessionId = randomId();
      const refresh = issueRefreshToken(userId, sessionId);
      const times = newSessionTimes(this.d.now(), this.d.rules);
      const written = await storeCall(
        this.d.stores.accounts.writeSession({
          userId,
          identity,
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
        case 'identity_locked':
          throw new AuthError('google_account_disabled');
        case 'limited':
          throw this.d.rateLimits.refused('sign-in-account', written.retryAfterMs);
        case 'not_linked':
        case 'gone': {
          // A further miss would need another account to vanish a moment after it was linked.
          if (write >= MAX_WRITES) throw new AuthError('account_not_found');
          if (written.kind === 'not_linked') await storeCall(this.d.stores.identities.unlink(identity.provider, identity.subject, userId), this.d.log);
          const again = await storeCall(this.d.stores.identities.link(identity.provider, identity.subject, randomId()), this.d.log);
          created = again.created || again.userId === userId;
          userId = again.userId;
        }
      }
    }
  }
}
