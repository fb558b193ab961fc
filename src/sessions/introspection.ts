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

/**
 * The answer as the JSON text sent, and for an inactive token why (for the log; never sent).
 * A router asks on each of its requests, so the active answer is written straight into its
 * JSON text: the members that never change (`iss`, `aud`, `token_type`) are serialised once,
 * and nothing per request is built only to be stringified (issue 15, round 2).
 */
export type Introspection = { active: true; json: string } | { active: false; json: string; reason: AuthReason };

/** RFC 7662 §2.2: an inactive token gets this and nothing else. */
export const INACTIVE_JSON = JSON.stringify({ active: false } satisfies IntrospectionResponse);

export class TokenIntrospection {
  /** `,"iss":…,"aud":…,"token_type":"Bearer"}`: the end of every active answer. */
  private readonly activeTail: string;

  constructor(private readonly opts: { sessions: SessionService; issuer: string; audience: string }) {
    this.activeTail = `,"iss":${JSON.stringify(opts.issuer)},"aud":${JSON.stringify(opts.audience)},"token_type":"Bearer"}`;
  }

  /**
   * Throws only what the session check throws besides AuthError: SERVICE_UNAVAILABLE when the
   * store cannot be reached, which must not be mistaken for an inactive token.
   */
  async introspect(token: string): Promise<Introspection> {
    let principal;
    try {
      principal = await this.opts.sessions.authenticate(token);
    } catch (err) {
      if (err instanceof AuthError) return { active: false, json: INACTIVE_JSON, reason: err.reason };
      throw err;
    }
    // Everything here is the verified token's own claims: the ids are those the session and
    // user were read under, and random ids (`isRandomId`, checked when the token was verified:
    // base64url only), so nothing in them needs escaping in JSON; exp and iat are whole
    // seconds, kept ×1000 with the claims.
    const { claims } = principal;
    return {
      active: true,
      json: `{"active":true,"sub":"${claims.userId}","sid":"${claims.sessionId}","exp":${claims.expiresAt / 1000},"iat":${claims.issuedAt / 1000}${this.activeTail}`,
    };
  }
}
