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
   * malformed or the token is expired/revoked. Memoised, and only the resolvers that ask see
   * the outcome, so a request that never asks (e.g. `signInWithGoogle` with a stale token
   * attached) is not rejected; for such operations it is never even looked up
   * (src/graphql/early-auth.ts).
   */
  principal(): Promise<Principal | null>;
  /**
   * Starts `principal()` now and resolves once its outcome is known; never rejects (the outcome
   * is for whoever asks). See src/graphql/early-auth.ts.
   */
  principalSettled(): Promise<void>;
  /** The request carries the trusted router's shared secret (ROUTER_SHARED_SECRET). */
  fromTrustedRouter: boolean;
  /** Per-request batch of user reads: every `_entities` reference of a request shares one store call. */
  users: BatchLoader<string, UserRecord | null>;
}

const BEARER = /^Bearer[ \t]+([A-Za-z0-9_.~+/-]+=*)[ \t]*$/i;

/** Where the Fastify request behind a context is kept, for the request's log line (src/graphql/plugin.ts). */
export const FASTIFY_REQUEST = Symbol('fastify request');

/**
 * Never throws: an Apollo context function that throws rejects the whole request, and an
 * anonymous mutation must keep working whatever token a client left attached.
 */
export function buildContext(request: FastifyRequest, services: GatewayServices): GatewayContext {
  return new RequestContext(request, services);
}

/**
 * One request's context, as a class so that every request's context has the same shape and
 * nothing per request is built before it is asked for (`principal`, `users`). Apollo clones
 * the context once per operation with `Object.assign(Object.create(prototype), context)`: the
 * methods and getters stay on the prototype, and the memo fields, still empty when the clone
 * is taken, are filled on the clone the resolvers see.
 */
class RequestContext implements GatewayContext {
  readonly meta: RequestMeta;
  readonly hasCredentials: boolean;
  readonly fromTrustedRouter: boolean;
  [FASTIFY_REQUEST]: FastifyRequest;
  private readonly header: string | undefined;
  private principalMemo: Promise<Principal | null> | null = null;
  private settledMemo: Promise<void> | null = null;
  private usersMemo: BatchLoader<string, UserRecord | null> | null = null;

  constructor(
    request: FastifyRequest,
    readonly services: GatewayServices,
  ) {
    const headers = request.headers;
    const userAgent = headers['user-agent'];
    this.meta = { userAgent: typeof userAgent === 'string' ? userAgent : null, clientAddress: request.ip ?? null };
    this.header = headers.authorization;
    this.hasCredentials = this.header !== undefined && this.header !== '';
    this.fromTrustedRouter = services.isTrustedRouter(headers);
    this[FASTIFY_REQUEST] = request;
  }

  principal(): Promise<Principal | null> {
    this.principalMemo ??= this.hasCredentials ? this.authenticate(this.header!) : Promise.resolve(null);
    return this.principalMemo;
  }

  principalSettled(): Promise<void> {
    // Memoised too: looked up in the context function, the caller is waited for again (at once) before execution.
    this.settledMemo ??= this.principal().then(ignore, ignore);
    return this.settledMemo;
  }

  get users(): BatchLoader<string, UserRecord | null> {
    this.usersMemo ??= new BatchLoader((ids: readonly string[]) => this.services.loadUsers(ids));
    return this.usersMemo;
  }

  private async authenticate(header: string): Promise<Principal> {
    const match = BEARER.exec(header);
    if (!match) throw new AuthError('invalid_token');
    return this.services.sessions.authenticate(match[1]!);
  }
}

const ignore = (): void => undefined;

/** The caller, or AuthError `authentication_required` when anonymous. */
export async function requirePrincipal(ctx: GatewayContext): Promise<Principal> {
  const p = await ctx.principal();
  if (!p) throw new AuthError('authentication_required');
  return p;
}
