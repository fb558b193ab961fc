import { AuthError, type AuthReason } from '../errors.js';
import type { SessionService } from './session-service.js';

/**
 * Token introspection (RFC 7662) of our access tokens: is this a live session's token, and
 * whose? The answer is exactly what an authenticated GraphQL request would conclude, because
 * it is the same check (`SessionService.authenticate`: the signature in process, then one
 * store round trip for the session and its user). A token is active only while its session
 * is: from the moment `signOut`, `revokeSession`, `signOutEverywhere`, `deleteMyAccount`, a
 * reused refresh token or an operator's `disable` has answered, it is inactive on every
 * instance.
 *
 * Only access tokens are introspected; anything else (a refresh token, an ID token, garbage)
 * is simply not an active access token: `active: false`, as RFC 7662 §2.2 asks for every
 * token that is not active, without saying why (the reason goes to our log only).
 */
export interface ActiveToken {
  active: true;
  /** The user id. */
  sub: string;
  /** The session id. */
  sid: string;
  /** Expiry and issue time of the token, seconds since the epoch. */
  exp: number;
  iat: number;
  iss: string;
  aud: string;
  /** RFC 7662 §2.2: the token's type as RFC 6749 §7.1 names it. */
  token_type: 'Bearer';
}

export type IntrospectionResponse = ActiveToken | { active: false };

/** The answer, and for an inactive token why (for the log; never sent). */
export type Introspection = { response: ActiveToken } | { response: { active: false }; reason: AuthReason };

export class TokenIntrospection {
  constructor(private readonly opts: { sessions: SessionService; issuer: string; audience: string }) {}

  /**
   * Throws only what the session check throws besides AuthError: SERVICE_UNAVAILABLE when the
   * store cannot be reached, which must not be mistaken for an inactive token.
   */
  async introspect(token: string): Promise<Introspection> {
    let principal;
    try {
      principal = await this.opts.sessions.authenticate(token);
    } catch (err) {
      if (err instanceof AuthError) return { response: { active: false }, reason: err.reason };
      throw err;
    }
    // The signature and claims were verified above (a canonical JWT: three segments), so the
    // payload is ours; iat and exp are read back from it rather than kept anywhere else.
    const { iat, exp } = JSON.parse(Buffer.from(token.split('.', 2)[1]!, 'base64url').toString('utf8')) as { iat: number; exp: number };
    return {
      response: {
        active: true,
        sub: principal.user.id,
        sid: principal.session.id,
        exp,
        iat,
        iss: this.opts.issuer,
        aud: this.opts.audience,
        token_type: 'Bearer',
      },
    };
  }
}
