import { loadConfig } from '../../src/config/index.js';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/gateway.js';
import type { Stores } from '../../src/store/types.js';
import type { FakeApple } from './fake-apple.js';
import type { FakeGoogle } from './fake-google.js';

export interface GqlResponse<T = Record<string, unknown>> {
  status: number;
  body: { data?: T | null; errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }> };
  raw: string;
  headers: Headers;
}

export interface TestGateway {
  readonly url: string;
  readonly gateway: Gateway;
  /** Everything the gateway logged, one JSON line per entry. */
  readonly logs: string[];
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GqlResponse<T>>;
  close(): Promise<void>;
}

/**
 * Rate limits for tests that are not about rate limits: high enough that a suite signing in
 * hundreds of times from 127.0.0.1 is never refused. test/e2e/rate-limits.test.ts sets its own.
 */
export const RELAXED_RATE_LIMITS: Record<string, string> = {
  RATE_LIMIT_SIGN_IN_PER_ADDRESS: '10000/1m',
  RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS: '10000/1m',
  RATE_LIMIT_SIGN_IN_PER_ACCOUNT: '10000/1m',
  RATE_LIMIT_REFRESH_PER_SESSION: '10000/1m',
};

/**
 * A real gateway (production mode, Redis store: a single node, Sentinel or Cluster) listening
 * on a free loopback port and trusting the fake Google issuer (and the fake Apple one, when
 * given: Sign in with Apple is off otherwise). Tests talk to it over HTTP only. Rate limits are
 * RELAXED_RATE_LIMITS unless `env` sets them.
 */
export async function startTestGateway(opts: {
  /** REDIS_URL; leave out and pass REDIS_SENTINELS or REDIS_CLUSTER_NODES in `env` instead. */
  redisUrl?: string;
  prefix: string;
  google: FakeGoogle;
  apple?: FakeApple;
  env?: Record<string, string>;
  now?: () => number;
  /** Use these stores (the caller closes them) instead of connecting to `redisUrl`. */
  stores?: Stores;
  /** Listen on this port (e.g. one AUTH_ISSUER names) instead of any free one. */
  port?: number;
  /** Apple's token endpoints: timeout, revoker poll period (0: tests flush it). */
  appleOptions?: GatewayOptions['apple'];
}): Promise<TestGateway> {
  const config = loadConfig({
    NODE_ENV: 'production',
    ...(opts.redisUrl ? { REDIS_URL: opts.redisUrl } : {}),
    REDIS_KEY_PREFIX: opts.prefix,
    GOOGLE_CLIENT_IDS: opts.google.clientId,
    GOOGLE_JWKS_URI: opts.google.jwksUri,
    GOOGLE_RISC_CONFIG_URI: opts.google.riscConfigUri,
    ...(opts.apple ? { APPLE_CLIENT_IDS: opts.apple.clientId, APPLE_JWKS_URI: opts.apple.jwksUri } : {}),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    AUTH_ISSUER: 'https://auth.gateway.test',
    ...RELAXED_RATE_LIMITS,
    ...opts.env,
  });
  const logs: string[] = [];
  const gateway = await createGateway(config, { now: opts.now, stores: opts.stores, apple: opts.appleOptions, logStream: { write: (line: string) => logs.push(line) } });
  const url = await gateway.listen(opts.port ?? 0);
  return {
    url,
    gateway,
    logs,
    gql: (query, variables, headers) => postGraphql(`${url}/graphql`, query, variables, headers),
    async close() {
      await gateway.close();
    },
  };
}

export const SIGN_IN = `mutation SignIn($idToken: String!, $nonce: String) {
  signInWithGoogle(idToken: $idToken, nonce: $nonce) {
    accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt isNewUser
    user { id email emailVerified name givenName familyName picture locale hostedDomain createdAt lastSignInAt }
  }
}`;
export const REFRESH = `mutation Refresh($refreshToken: String!) {
  refreshSession(refreshToken: $refreshToken) { accessToken refreshToken refreshTokenExpiresAt isNewUser user { id } }
}`;
export const SIGN_IN_APPLE = `mutation SignInWithApple($identityToken: String!, $nonce: String, $authorizationCode: String, $givenName: String, $familyName: String) {
  signInWithApple(identityToken: $identityToken, nonce: $nonce, authorizationCode: $authorizationCode, givenName: $givenName, familyName: $familyName) {
    accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt isNewUser
    user { id email emailVerified name givenName familyName picture locale hostedDomain createdAt lastSignInAt identities { provider email emailVerified isPrivateEmail linkedAt } }
  }
}`;
export const ME = `{ me { id email name } }`;
export const SIGN_OUT = `mutation { signOut }`;

export interface AuthPayloadShape {
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
  isNewUser: boolean;
  user: Record<string, unknown> & { id: string };
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** POST a GraphQL request as JSON to `endpoint` (a full URL); the parsed answer. */
export async function postGraphql<T = Record<string, unknown>>(
  endpoint: string,
  query: string,
  variables?: Record<string, unknown>,
  headers?: Record<string, string>,
): Promise<GqlResponse<T>> {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const raw = await res.text();
  return { status: res.status, body: JSON.parse(raw), raw, headers: res.headers };
}
