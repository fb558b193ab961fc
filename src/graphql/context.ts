import type { FastifyRequest } from 'fastify';
import { AuthError } from '../errors.js';
import type { RouterTrust } from '../federation/router-trust.js';
import type { AuthRateLimits } from '../rate-limit/auth-limits.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { Principal, RequestMeta, SessionService } from '../sessions/session-service.js';
import type { GoogleProfile, UserRecord } from '../store/types.js';
import { BatchLoader } from './batch-loader.js';
import type { SignInGuards } from '../sessions/sign-in-guards.js';
import type { AccountService } from '../users/account-service.js';

/** Verifies a Google ID token against our policy (src/google); throws AuthError. */
export type VerifyIdToken = (idToken: string, nonce: string | null) => Promise<GoogleProfile>;

export interface GatewayServices {
  sessions: SessionService;
  verifyIdToken: VerifyIdToken;
  /** Users by id, in order, null where absent; one store round trip (store errors → SERVICE_UNAVAILABLE). */
  loadUsers: (ids: readonly string[]) => Promise<(UserRecord | null)[]>;
  /** True when the request comes from the supergraph's trusted router (src/federation/router-trust.ts). */
  isTrustedRouter: RouterTrust;
  /** Rate limits around sign-in and refresh (src/rate-limit). */
  limits: AuthRateLimits;
  signInGuards: SignInGuards;
  accounts: AccountService;
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
  /** The request carries the trusted router's shared secret (ROUTER_SHARED_SECRET). */
  fromTrustedRouter: boolean;
  /** Per-request batch of user reads: every `_entities` reference of a request shares one store call. */
  users: BatchLoader<string, UserRecord | null>;
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
  const fromTrustedRouter = services.isTrustedRouter(request.headers);
  const users = new BatchLoader((ids: readonly string[]) => services.loadUsers(ids));
  if (header === undefined || header === '') {
    return { services, meta, hasCredentials: false, principal: async () => null, fromTrustedRouter, users };
  }
  let memo: Promise<Principal> | null = null;
  return {
    services,
    meta,
    fromTrustedRouter,
    users,
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
