import { GraphQLError } from 'graphql';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import type { Verdict } from '../session-check.js';

/**
 * How any subgraph checks the caller: the router forwards the client's
 * `Authorization: Bearer <access token>` and the subgraph verifies the token itself against
 * the auth gateway's published keys. Nothing here is specific to the auth gateway beyond its
 * three settings: standard JWT middleware does the same.
 */
export interface AccessTokenSettings {
  /** The auth gateway's key set, e.g. http://localhost:4000/.well-known/jwks.json */
  jwksUrl: string;
  /** The gateway's AUTH_ISSUER. */
  issuer: string;
  /** The gateway's AUTH_AUDIENCE. */
  audience: string;
  /**
   * Ask the gateway on every request whether the token's session is still live
   * (../session-check.ts). Needed when the router in front does not (Apollo Router without a
   * coprocessor: router.yaml); without it a signed-out token works here until it expires.
   */
  sessionCheck?: (token: string) => Promise<Verdict>;
}

export interface Caller {
  userId: string;
  sessionId: string;
}

export type VerifyAuthorization = (header: string | undefined) => Promise<Caller | null>;

export function accessTokenVerifier(settings: AccessTokenSettings): VerifyAuthorization {
  // Fetches the key set on first use, keeps it, and refetches (at most every 30 s) when a
  // token names a key it does not know: the gateway publishes new keys before they sign.
  const keys = createRemoteJWKSet(new URL(settings.jwksUrl));
  return async (header) => {
    if (!header) return null;
    const match = /^Bearer[ \t]+(\S+)$/i.exec(header);
    if (!match) throw unauthenticated();
    let caller: Caller;
    try {
      const { payload } = await jwtVerify(match[1]!, keys, {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: ['ES256'],
        typ: 'at+jwt',
        requiredClaims: ['sub', 'sid', 'iat', 'exp'],
      });
      caller = { userId: payload.sub!, sessionId: String(payload.sid) };
    } catch (err) {
      // The key set could not be fetched: our problem, not the caller's.
      if (err instanceof errors.JWKSTimeout || !(err instanceof errors.JOSEError)) throw unavailable('The auth keys are unavailable; try again shortly.');
      throw unauthenticated();
    }
    const verdict = settings.sessionCheck ? await settings.sessionCheck(match[1]!) : 'active';
    if (verdict === 'inactive') throw unauthenticated('The session has ended; sign in again.');
    if (verdict === 'unavailable') throw unavailable('The session could not be checked; try again shortly.');
    return caller;
  };
}

function unauthenticated(message = 'The access token is invalid or expired.'): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED' } });
}

function unavailable(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'SERVICE_UNAVAILABLE' } });
}
