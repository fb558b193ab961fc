import { AccountError, AuthError, storeCall } from '../errors.js';
import { identityOf } from '../identity/account-claims.js';
import type { IdTokenVerification } from '../identity/verification.js';
import type { AuthRateLimits } from '../rate-limit/auth-limits.js';
import { accounted, type RequestMeta } from '../sessions/auth-result.js';
import { ACCOUNT_REFUSALS, type AuthorizationCodeGrant } from '../sessions/sign-in.js';
import { decideIdentitySignIn } from '../risc/policy.js';
import type { SignInNonces, UsedIdTokens } from '../sessions/single-use.js';
import type { IdentityRecord, Stores, UserRecord } from '../store/types.js';

export interface IdentityServiceDeps {
  stores: Pick<Stores, 'identities' | 'accounts' | 'securityEvents'>;
  verification: Pick<IdTokenVerification, 'enabled' | 'verify'>;
  nonces: SignInNonces;
  usedIdTokens: UsedIdTokens;
  rateLimits: AuthRateLimits;
  log: { error(obj: object, msg: string): void };
  now: () => number;
  /** As SignInDeps.onAuthorizationCode: a linked identity's authorization code, exchanged in the background. */
  onAuthorizationCode?(grant: AuthorizationCodeGrant): void;
}

export interface LinkRequest {
  provider: string;
  idToken: string;
  nonce: string | null;
  /** The authorization code the app sent with the token (Apple), if any. */
  authorizationCode?: string | null;
  meta: RequestMeta;
}

/** Taking a link held by another account id: attempts before giving up (each needs the link to change under us). */
const MAX_LINK_ATTEMPTS = 3;

/**
 * An account's identities: listing, linking and unlinking them, in the order
 * src/users/identity-policy.ts explains (the account's entry and the identity's link are in
 * different Cluster slots). Never by e-mail: an identity joins an account only when the
 * account's signed-in owner presents a verified token for it.
 */
export class IdentityService {
  constructor(private readonly d: IdentityServiceDeps) {}

  /** The account's linked identities, oldest first (pending ones are not yet the account's). */
  async list(userId: string): Promise<IdentityRecord[]> {
    const [identities = []] = await storeCall(this.d.stores.accounts.getIdentities([userId]), this.d.log);
    return identities.filter((i) => !i.pending);
  }

  /** The account an identity signs in to, if it lists the identity as its own (Apple's notifications name a `sub`). */
  async accountOf(provider: string, subject: string): Promise<string | null> {
    const userId = await storeCall(this.d.stores.identities.get(provider, subject), this.d.log);
    if (userId === null) return null;
    return (await this.list(userId)).some((i) => i.provider === provider && i.subject === subject) ? userId : null;
  }

  /**
   * linkIdentity: the token is verified as for a sign-in (address limits, the failure budget,
   * nonce and replay rules), then the identity joins the account: recorded as pending, its
   * link taken, confirmed. The account answers as it is afterwards.
   * @throws AccountError PROVIDER_NOT_CONFIGURED, PROVIDER_ALREADY_LINKED, IDENTITY_ALREADY_LINKED (nothing changed).
   */
  link(userId: string, req: LinkRequest): Promise<UserRecord> {
    return accounted(this.attemptLink(userId, req), {
      count: () => undefined,
      rejectsCredential: (err) => err instanceof AuthError && !ACCOUNT_REFUSALS.has(err.reason),
      spendFailure: () => this.d.rateLimits.countRejection(req.meta.clientAddress),
    });
  }

  private async attemptLink(userId: string, { provider, idToken, nonce, authorizationCode, meta }: LinkRequest): Promise<UserRecord> {
    if (!this.d.verification.enabled(provider)) throw new AccountError('PROVIDER_NOT_CONFIGURED');
    await this.d.rateLimits.checkSignIn(meta.clientAddress);
    this.d.nonces.requireShape(nonce);
    const token = await this.d.verification.verify(provider, idToken, nonce);
    const identity = identityOf(token);
    // The identity's security state (Google Cross-Account Protection) in the same round trip:
    // an identity the provider locked joins no account, as it signs in to none.
    const [nonceSpent, firstUse, security] = await Promise.all([
      this.d.nonces.consume(nonce),
      this.d.usedIdTokens.claim(idToken),
      storeCall(this.d.stores.securityEvents.state(identity.provider, identity.subject), this.d.log),
    ]);
    if (!nonceSpent) throw new AuthError('invalid_nonce');
    if (!firstUse) throw new AuthError('replayed');
    const admitted = decideIdentitySignIn(security, token.iat);
    if (admitted === 'locked') throw new AuthError('google_account_disabled');
    if (admitted === 'revoked') throw new AuthError('sign_in_revoked');

    // 1. The account lists the identity as pending (or already has it).
    const added = await storeCall(this.d.stores.accounts.addIdentity(userId, identity, this.d.now()), this.d.log);
    if (added.kind === 'gone') throw new AuthError('account_not_found');
    if (added.kind === 'account_disabled') throw new AuthError('account_disabled');
    if (added.kind === 'provider_taken') throw new AccountError('PROVIDER_ALREADY_LINKED');

    // 2. The identity's link: of two accounts linking one identity at once, one gets it.
    if (!(await this.takeLink(identity.provider, identity.subject, userId))) {
      await storeCall(this.d.stores.accounts.removeIdentity(userId, identity.provider, { subject: identity.subject, keepLast: true, now: this.d.now() }), this.d.log);
      throw new AccountError('IDENTITY_ALREADY_LINKED');
    }

    // 3. Confirmed: from now on it counts as the account's. If the entry went meanwhile (the
    // account was deleted, or the owner unlinked it at the same moment), the link goes too.
    if (!(await storeCall(this.d.stores.accounts.confirmIdentity(userId, identity.provider, identity.subject), this.d.log))) {
      await storeCall(this.d.stores.identities.unlink(identity.provider, identity.subject, userId), this.d.log);
    } else if (authorizationCode && this.d.onAuthorizationCode) {
      this.d.onAuthorizationCode({ provider, userId, subject: identity.subject, identityToken: idToken, authorizationCode });
    }
    return this.account(userId);
  }

  /**
   * Points the identity's link at the account. A link held by a live account is that
   * account's: false. A link to an id with no account is a first sign-in that failed after
   * linking (a spent server nonce, a replayed token, a store failure): that id is retired, so
   * the sign-in, if it is still on its way, can no longer create it, and the link is taken over.
   */
  private async takeLink(provider: string, subject: string, userId: string): Promise<boolean> {
    for (let attempt = 0; attempt < MAX_LINK_ATTEMPTS; attempt++) {
      const link = await storeCall(this.d.stores.identities.link(provider, subject, userId), this.d.log);
      if (link.created || link.userId === userId) return true;
      if (!(await storeCall(this.d.stores.accounts.retire(link.userId), this.d.log))) return false;
      if (await storeCall(this.d.stores.identities.relink(provider, subject, link.userId, userId), this.d.log)) return true;
    }
    return false;
  }

  /**
   * unlinkIdentity: the account's identity of `provider` goes, its entry first, then its link
   * (only while it names the account). Unlinking a provider the account has no identity of
   * changes nothing. Another identity must remain, one whose link really leads to the account:
   * an account must never be left reachable only through an entry whose link is gone.
   * @throws AccountError LAST_IDENTITY (nothing changed).
   */
  async unlink(userId: string, provider: string): Promise<UserRecord> {
    const [identities = []] = await storeCall(this.d.stores.accounts.getIdentities([userId]), this.d.log);
    const target = identities.find((i) => i.provider === provider);
    if (target && !target.pending) {
      const others = identities.filter((i) => i.provider !== provider && !i.pending);
      const owners = await storeCall(Promise.all(others.map((i) => this.d.stores.identities.get(i.provider, i.subject))), this.d.log);
      if (!owners.includes(userId)) throw new AccountError('LAST_IDENTITY');
    }
    if (target) {
      const removed = await storeCall(this.d.stores.accounts.removeIdentity(userId, provider, { subject: target.subject, keepLast: true, now: this.d.now() }), this.d.log);
      if (removed.kind === 'last_identity') throw new AccountError('LAST_IDENTITY');
      if (removed.kind === 'removed') await storeCall(this.d.stores.identities.unlink(provider, removed.subject, userId), this.d.log);
    }
    return this.account(userId);
  }

  private async account(userId: string): Promise<UserRecord> {
    const [user] = await storeCall(this.d.stores.accounts.getUsers([userId]), this.d.log);
    if (!user) throw new AuthError('account_not_found');
    return user;
  }
}
