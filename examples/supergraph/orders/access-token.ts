import { GraphQLError } from 'graphql';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';

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
    try {
      const { payload } = await jwtVerify(match[1]!, keys, {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: ['ES256'],
        typ: 'at+jwt',
        requiredClaims: ['sub', 'sid', 'iat', 'exp'],
      });
      return { userId: payload.sub!, sessionId: String(payload.sid) };
    } catch (err) {
      // The key set could not be fetched: our problem, not the caller's.
      if (err instanceof errors.JWKSTimeout || !(err instanceof errors.JOSEError)) {
        throw new GraphQLError('The auth keys are unavailable; try again shortly.', { extensions: { code: 'SERVICE_UNAVAILABLE' } });
      }
      throw unauthenticated();
    }
  };
}

function unauthenticated(): GraphQLError {
  return new GraphQLError('The access token is invalid or expired.', { extensions: { code: 'UNAUTHENTICATED' } });
}
