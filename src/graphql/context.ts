import type { FastifyRequest } from 'fastify';
import { AuthError } from '../errors.js';
import type { RouterTrust } from '../federation/router-trust.js';
import type { AuthRateLimits } from '../rate-limit/auth-limits.js';
import type { RequestMeta } from '../sessions/auth-result.js';
import type { RefreshSession } from '../sessions/refresh.js';
import type { Principal, SessionService } from '../sessions/session-service.js';
import type { SignIn } from '../sessions/sign-in.js';
import type { SignInNonces } from '../sessions/single-use.js';
import type { UserRecord } from '../store/types.js';
import { BatchLoader } from './batch-loader.js';
import type { AccountService } from '../users/account-service.js';
import type { IdentityService } from '../users/identity-service.js';

/** What resolvers reach through the context: the domain's use cases and services. */
export interface GatewayServices {
  signIn: SignIn;
  refresh: RefreshSession;
  /** Authenticated requests and the caller's sessions. */
  sessions: SessionService;
  /** Server-issued sign-in nonces (createSignInNonce). */
  nonces: SignInNonces;
  /** Rate limits around sign-in and refresh (src/rate-limit); resolvers use the nonce request's. */
  rateLimits: AuthRateLimits;
  accounts: AccountService;
  /** The caller's identities: list, link, unlink. */
  identities: IdentityService;
  /** Users by id, in order, null where absent; one store round trip (store errors → SERVICE_UNAVAILABLE). */
  loadUsers: (ids: readonly string[]) => Promise<(UserRecord | null)[]>;
  /** True when the request comes from the supergraph's trusted router (src/federation/router-trust.ts). */
  isTrustedRouter: RouterTrust;
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
