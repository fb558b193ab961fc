import { AuthError, storeCall } from '../errors.js';
import type { Stores } from '../store/types.js';
import { accounted, type AuthResult, type RequestMeta, type UseCaseDeps } from './auth-result.js';
import { hashRefreshToken, issueRefreshToken, openGraceBox, parseRefreshToken, sealForGrace } from './refresh-token.js';

export interface RefreshRequest {
  refreshToken: string;
  meta: RequestMeta;
}

export interface RefreshDeps extends UseCaseDeps {
  stores: Pick<Stores, 'accounts'>;
}

/**
 * `refreshSession`: a refresh token is exchanged for a new pair, and spent. Two Redis round
 * trips: the address's failure budget; then one script that decides and applies the rotation
 * (src/sessions/policy.ts decideRotation), spends the session's refresh budget and returns
 * the user.
 */
export class RefreshSession {
  constructor(private readonly d: RefreshDeps) {}

  refresh(req: RefreshRequest): Promise<AuthResult> {
    return accounted(this.attempt(req), {
      count: this.d.count,
      // Every refused refresh token spends the address's failure budget.
      rejectsCredential: (err) => err instanceof AuthError,
      spendFailure: () => this.d.rateLimits.countRejection(req.meta.clientAddress),
    });
  }

  private async attempt({ refreshToken, meta }: RefreshRequest): Promise<AuthResult> {
    // An address that spent its failure budget is refused before its token is looked at.
    await this.d.rateLimits.checkRefresh(meta.clientAddress);

    // The token names its session (user id, session id); its secret proves possession.
    const ids = parseRefreshToken(refreshToken);
    if (!ids) throw new AuthError('invalid_refresh_token');

    // Compare-and-rotate, atomically in the store, so concurrent retries of one token produce
    // one successor: the first rotates, the others (within the grace period) receive that same
    // successor from the grace box, sealed under the presented token so only its holder can
    // open it. A spent token presented after the grace period means two parties hold it: the
    // session ends (RFC 9700 §4.14.2). The session's refresh budget is checked before anything
    // is spent, so a refused refresh keeps its token.
    const next = issueRefreshToken(ids.userId, ids.sessionId);
    const r = await storeCall(
      this.d.stores.accounts.rotateSession(ids.userId, ids.sessionId, {
        presentedHash: hashRefreshToken(refreshToken),
        nextHash: next.hash,
        graceBox: sealForGrace(next.token, refreshToken),
        now: this.d.now(),
        graceMs: this.d.rules.refreshGraceMs,
        refreshTtlMs: this.d.rules.refreshTtlMs,
        limit: this.d.rateLimits.perSession,
      }),
      this.d.log,
    );
    switch (r.kind) {
      case 'rotated':
        return this.d.tokens.issue(r.user, ids.sessionId, { token: next.token, expiresAt: r.session.refreshExpiresAt }, false);
      case 'grace': {
        const successor = openGraceBox(r.graceBox, refreshToken);
        if (!successor) throw new AuthError('invalid_refresh_token');
        return this.d.tokens.issue(r.user, ids.sessionId, { token: successor, expiresAt: r.session.refreshExpiresAt }, false);
      }
      case 'limited':
        throw this.d.rateLimits.refused('refresh-session', r.retryAfterMs);
      case 'reused':
        throw new AuthError('refresh_token_reused');
      case 'account_disabled':
      case 'account_not_found':
        throw new AuthError(r.kind);
      case 'not_found':
      case 'mismatch':
        throw new AuthError('invalid_refresh_token');
    }
  }
}
