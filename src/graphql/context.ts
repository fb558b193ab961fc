import type { FastifyRequest } from 'fastify';
import { AuthError } from '../errors.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { Principal, RequestMeta, SessionService } from '../sessions/session-service.js';
import type { GoogleProfile } from '../store/types.js';

/** Verifies a Google ID token against our policy (src/google); throws AuthError. */
export type VerifyIdToken = (idToken: string, nonce: string | null) => Promise<GoogleProfile>;

export interface GatewayServices {
  sessions: SessionService;
  verifyIdToken: VerifyIdToken;
  metrics: Pick<GatewayMetrics, 'observeSignIn' | 'observeRefresh'>;
}

export interface GatewayContext {
  services: GatewayServices;
  meta: RequestMeta;
  /** True when the request carries an Authorization header. */
  hasCredentials: boolean;
  /**
   * The signed-in caller: null when anonymous; rejects with AuthError when the header is
   * malformed or the token is expired/revoked. Lazy and memoised, so a request that never
   * asks (e.g. `signInWithGoogle` with a stale token attached) costs no verification and no
   * store round trip, and is not rejected.
   */
  principal(): Promise<Principal | null>;
}

const BEARER = /^Bearer[ \t]+([A-Za-z0-9_.~+/-]+=*)[ \t]*$/i;

/**
 * Never throws: an Apollo context function that throws rejects the whole request, and an
 * anonymous mutation must keep working whatever token a client left attached.
 */
export function buildContext(request: FastifyRequest, services: GatewayServices): GatewayContext {
  const header = request.headers.authorization;
  const meta: RequestMeta = {
    userAgent: typeof request.headers['user-agent'] === 'string' ? request.headers['user-agent'] : null,
    clientAddress: request.ip ?? null,
  };
  if (header === undefined || header === '') {
    return { services, meta, hasCredentials: false, principal: async () => null };
  }
  let memo: Promise<Principal> | null = null;
  return {
    services,
    meta,
    hasCredentials: true,
    principal: () => {
      memo ??= (async () => {
        const match = BEARER.exec(header);
        if (!match) throw new AuthError('invalid_token');
        return services.sessions.authenticate(match[1]!);
      })();
      return memo;
    },
  };
}

/** The caller, or AuthError `authentication_required` when anonymous. */
export async function requirePrincipal(ctx: GatewayContext): Promise<Principal> {
  const p = await ctx.principal();
  if (!p) throw new AuthError('authentication_required');
  return p;
}
