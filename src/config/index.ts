import { bool, cleanEnv, makeValidator, port, str, EnvError, EnvMissingError } from 'envalid';
import { DEFAULT_PUBLISH_AHEAD_MS, DEFAULT_ROTATION_INTERVAL_MS } from '../sessions/signing-keys.js';
import { parseDuration } from './duration.js';
import { parseRateLimitRule, type RateLimitRule } from './rate-limit-rule.js';
import { parseTrustProxy, type TrustProxy } from './trust-proxy.js';

export type { RateLimitRule } from './rate-limit-rule.js';
export type { TrustProxy } from './trust-proxy.js';

/**
 * Environment → one typed, frozen config object. Every variable is declared once here,
 * with its default next to it; the README's configuration table mirrors this file.
 * A bad value stops start-up with one message naming every bad variable (ConfigError).
 */

export const GOOGLE_JWKS_URI_DEFAULT = 'https://www.googleapis.com/oauth2/v3/certs';
/** Audience the development issuer mints for when GOOGLE_CLIENT_IDS is unset (never in production). */
export const DEV_CLIENT_ID = 'dev-client.apps.googleusercontent.com';
export const MIN_ROUTER_SECRET_LENGTH = 32;

const duration = makeValidator<number>((input) => {
  try {
    return parseDuration(input);
  } catch (e) {
    throw new EnvError((e as Error).message);
  }
});

const list = makeValidator<string[]>((input) =>
  input
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0),
);

const rateLimit = makeValidator<RateLimitRule>((input) => {
  try {
    return parseRateLimitRule(input);
  } catch (e) {
    throw new EnvError((e as Error).message);
  }
});

const trustProxy = makeValidator<TrustProxy>((input) => {
  try {
    return parseTrustProxy(input);
  } catch (e) {
    throw new EnvError((e as Error).message);
  }
});

/** A positive integer no larger than `max`. */
const boundedInt = (max: number) =>
  makeValidator<number>((input) => {
    if (!/^\d{1,9}$/.test(input.trim()) || Number(input) < 1 || Number(input) > max) throw new EnvError(`expected an integer from 1 to ${max}`);
    return Number(input);
  });

/** Whole number in [min, max]. */
const intIn = (min: number, max: number) =>
  makeValidator<number>((input) => {
    if (!/^\s*\d{1,9}\s*$/.test(input)) throw new EnvError(`expected a whole number from ${min} to ${max}, got "${input}"`);
    const n = Number(input);
    if (n < min || n > max) throw new EnvError(`expected a whole number from ${min} to ${max}, got "${input}"`);
    return n;
  });

/**
 * Sessions per user when MAX_SESSIONS_PER_USER is unset. A backstop rather than a policy: no
 * one has a hundred devices, but without a cap one reusable ID token could open sessions
 * (and grow a user's session index) without bound.
 */
export const DEFAULT_MAX_SESSIONS_PER_USER = 100;
/** Eviction reads each session's creation time inside one Lua script: keep it small. */
const MAX_SESSIONS_PER_USER_LIMIT = 1000;
/** A successor key must outlive a cached JWKS (max-age 5 min) plus an instance's key reload (1 min). */
const MIN_PUBLISH_AHEAD_MS = 10 * 60_000;
const MIN_ROTATION_INTERVAL_MS = 3_600_000;

const logLevel = str({ choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' });

const specs = {
  NODE_ENV: str({ default: 'development', desc: '`production` turns off development conveniences' }),
  PORT: port({ default: 4000 }),
  HOST: str({ default: '0.0.0.0' }),
  LOG_LEVEL: logLevel,
  REDIS_URL: str({ default: '', desc: 'unset: embedded in-memory store (development only)' }),
  REDIS_KEY_PREFIX: str({ default: 'ag:' }),
  REDIS_SENTINELS: list({ default: [], desc: 'host:port of each Sentinel (instead of REDIS_URL)' }),
  REDIS_SENTINEL_NAME: str({ default: '', desc: 'the master name the Sentinels monitor' }),
  REDIS_SENTINEL_PASSWORD: str({ default: '', desc: 'password of the Sentinels themselves' }),
  REDIS_CLUSTER_NODES: list({ default: [], desc: 'host:port of some Cluster nodes (instead of REDIS_URL)' }),
  REDIS_USERNAME: str({ default: '', desc: 'ACL user of the data nodes (Sentinel, Cluster)' }),
  REDIS_PASSWORD: str({ default: '', desc: 'password of the data nodes (Sentinel, Cluster)' }),
  GOOGLE_CLIENT_IDS: list({ default: [] }),
  GOOGLE_JWKS_URI: str({ default: GOOGLE_JWKS_URI_DEFAULT }),
  GOOGLE_HOSTED_DOMAINS: list({ default: [] }),
  ACCESS_TOKEN_TTL: duration({ default: parseDuration('15m') }),
  REFRESH_TOKEN_TTL: duration({ default: parseDuration('30d') }),
  SESSION_MAX_LIFETIME: duration({ default: parseDuration('90d') }),
  REFRESH_GRACE_PERIOD: duration({ default: parseDuration('10s') }),
  MAX_SESSIONS_PER_USER: intIn(1, MAX_SESSIONS_PER_USER_LIMIT)({ default: DEFAULT_MAX_SESSIONS_PER_USER }),
  REQUIRE_SIGN_IN_NONCE: bool({ default: false }),
  REJECT_REPLAYED_ID_TOKENS: bool({ default: false }),
  SIGNING_KEY_ROTATION_INTERVAL: duration({ default: DEFAULT_ROTATION_INTERVAL_MS }),
  SIGNING_KEY_PUBLISH_AHEAD: duration({ default: DEFAULT_PUBLISH_AHEAD_MS }),
  AUTH_ISSUER: str({ default: '', desc: 'iss of our access tokens; default http://localhost:<PORT>' }),
  AUTH_AUDIENCE: str({ default: 'graphql-auth-gateway' }),
  DEV_ISSUER: bool({ default: true }),
  DEV_DIR: str({ default: '.dev' }),
  ROUTER_SHARED_SECRET: str({ default: '', desc: 'unset: no router is trusted' }),
  // Abuse resistance (src/rate-limit, src/graphql/limits.ts; threat model in SECURITY.md).
  TRUST_PROXY: trustProxy({ default: false, desc: 'whether X-Forwarded-For is believed: unset = never, a hop count, or loopback/CIDRs' }),
  RATE_LIMIT_SIGN_IN_PER_ADDRESS: rateLimit({ default: parseRateLimitRule('30/1m') }),
  RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS: rateLimit({ default: parseRateLimitRule('10/1m') }),
  RATE_LIMIT_SIGN_IN_PER_ACCOUNT: rateLimit({ default: parseRateLimitRule('10/10m') }),
  RATE_LIMIT_REFRESH_PER_SESSION: rateLimit({ default: parseRateLimitRule('10/1m') }),
  GRAPHQL_MAX_DEPTH: boundedInt(100)({ default: 6 }),
  GRAPHQL_MAX_ALIASES: boundedInt(1000)({ default: 15 }),
  GRAPHQL_MAX_TOKENS: boundedInt(100_000)({ default: 1000 }),
  GRAPHQL_MAX_COST: boundedInt(10_000_000)({ default: 5000 }),
  SHUTDOWN_DELAY: duration({ default: 0, desc: 'after a stop signal, keep serving (readyz 503) this long before closing the listener' }),
  SHUTDOWN_TIMEOUT: duration({ default: parseDuration('10s'), desc: 'bound on waiting for in-flight requests once the listener is closed' }),
};

/** A Sentinel or Cluster node address. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** How to reach Redis. `username`/`password` are the data nodes' credentials (in the URL for `standalone`). */
export type RedisTopology =
  | { readonly kind: 'standalone'; readonly url: string }
  | {
      readonly kind: 'sentinel';
      readonly sentinels: readonly HostPort[];
      /** The master name the Sentinels monitor. */
      readonly name: string;
      readonly sentinelPassword: string | null;
      readonly username: string | null;
      readonly password: string | null;
    }
  | { readonly kind: 'cluster'; readonly nodes: readonly HostPort[]; readonly username: string | null; readonly password: string | null };

export interface Config {
  readonly production: boolean;
  readonly port: number;
  readonly host: string;
  readonly logLevel: string;
  readonly redis: {
    /** REDIS_URL (null with Sentinel, Cluster or the embedded store). */
    readonly url: string | null;
    readonly keyPrefix: string;
    /** null: the embedded store (development only). */
    readonly topology: RedisTopology | null;
  };
  readonly google: {
    readonly clientIds: readonly string[];
    readonly jwksUri: string;
    readonly hostedDomains: readonly string[];
  };
  readonly tokens: {
    /** Access token lifetime, ms. */
    readonly accessTtlMs: number;
    /** Refresh token lifetime (also the session's inactivity timeout: it slides on every refresh), ms. */
    readonly refreshTtlMs: number;
    /** Absolute session lifetime, ms: no refresh extends a session past it. */
    readonly sessionMaxLifetimeMs: number;
    /** How long a rotated refresh token may be presented again (a response lost on a mobile network). */
    readonly refreshGraceMs: number;
    /** `iss` of our access tokens (and of the OpenID discovery document). Every instance must agree. */
    readonly issuer: string;
    readonly audience: string;
  };
  readonly sessions: {
    /** At most this many live sessions per user; a new sign-in ends the oldest (by creation). */
    readonly maxPerUser: number;
  };
  readonly signIn: {
    /** Every sign-in must present a nonce from `createSignInNonce`. */
    readonly requireNonce: boolean;
    /** An ID token signs in once; a second sign-in with it is refused (`replayed`). */
    readonly rejectReplayedIdTokens: boolean;
  };
  /** Rotation schedule of the gateway's own signing keys (src/sessions/signing-keys.ts). */
  readonly signingKeys: {
    readonly rotationIntervalMs: number;
    /** How long a new key is published before it signs anything. */
    readonly publishAheadMs: number;
  };
  /** Development issuer (Google-shaped tokens signed by a local key); never on in production. */
  readonly devIssuer: { readonly enabled: boolean; readonly dir: string };
  /**
   * Apollo Federation: the secret the supergraph's router sends in `router-authorization`.
   * A request carrying it may read private user fields through `_entities` and receives inline
   * traces (src/federation/router-trust.ts). Null: no router is trusted.
   */
  readonly federation: { readonly routerSecret: string | null };
  /** Fastify's `trustProxy` (src/config/trust-proxy.ts): who may set the client address via X-Forwarded-For. */
  readonly trustProxy: TrustProxy;
  /** Limits kept in the store, shared by every instance (src/rate-limit). */
  readonly rateLimits: {
    /** Sign-in attempts per client address (IPv6: per /64). */
    readonly signInPerAddress: RateLimitRule;
    /** Rejected ID tokens and refresh tokens per client address; once exhausted, sign-in and refresh are refused before any verification. */
    readonly authFailuresPerAddress: RateLimitRule;
    /** Successful ID-token verifications per Google account (`sub`). */
    readonly signInPerAccount: RateLimitRule;
    /** Refreshes per session. */
    readonly refreshPerSession: RateLimitRule;
  };
  /** Per-operation GraphQL limits (src/graphql/limits.ts). */
  readonly graphql: {
    readonly maxDepth: number;
    readonly maxAliases: number;
    readonly maxTokens: number;
    readonly maxCost: number;
  };
  /** Graceful shutdown (src/http/lifecycle.ts). */
  readonly shutdown: {
    /** After a stop signal, /readyz answers 503 but requests are still served for this long (load balancers notice). */
    readonly delayMs: number;
    /** Then the listener closes and in-flight requests get at most this long to finish. */
    readonly timeoutMs: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: Record<string, string>) {
    super(
      'Invalid configuration:\n' +
        Object.entries(problems)
          .map(([k, v]) => `  ${k}: ${v}`)
          .join('\n'),
    );
    this.name = 'ConfigError';
  }
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);
export function isLoopbackUrl(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname) || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: Record<string, string> = {};
  const e = cleanEnv(env, specs, {
    reporter: ({ errors }) => {
      for (const [k, err] of Object.entries(errors)) {
        problems[k] = err instanceof EnvMissingError ? 'is required' : (err?.message ?? 'is invalid');
      }
    },
  });
  // Cross-variable rules run even when some variable was bad, so one message names them all.
  const production = e.NODE_ENV === 'production';
  const topologies = [e.REDIS_URL && 'REDIS_URL', e.REDIS_SENTINELS?.length && 'REDIS_SENTINELS', e.REDIS_CLUSTER_NODES?.length && 'REDIS_CLUSTER_NODES'].filter(Boolean);
  if (production && topologies.length === 0 && !problems.REDIS_URL && !problems.REDIS_SENTINELS && !problems.REDIS_CLUSTER_NODES) {
    problems.REDIS_URL = 'is required when NODE_ENV=production (or REDIS_SENTINELS, or REDIS_CLUSTER_NODES; the embedded store is for development only)';
  }
  if (topologies.length > 1) problems[String(topologies[1])] = `set only one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES (${topologies.join(' and ')} are set)`;
  const sentinels = parseHostPorts(e.REDIS_SENTINELS ?? [], 'REDIS_SENTINELS', problems);
  const clusterNodes = parseHostPorts(e.REDIS_CLUSTER_NODES ?? [], 'REDIS_CLUSTER_NODES', problems);
  if (sentinels.length > 0 && !e.REDIS_SENTINEL_NAME && !problems.REDIS_SENTINEL_NAME) problems.REDIS_SENTINEL_NAME = 'is required with REDIS_SENTINELS (the master name the Sentinels monitor)';
  if (e.REDIS_URL && (e.REDIS_USERNAME || e.REDIS_PASSWORD)) {
    problems[e.REDIS_PASSWORD ? 'REDIS_PASSWORD' : 'REDIS_USERNAME'] = 'applies to REDIS_SENTINELS and REDIS_CLUSTER_NODES; with REDIS_URL put the credentials in the URL (redis://user:password@host:port)';
  }
  if (production && !e.GOOGLE_CLIENT_IDS?.length && !problems.GOOGLE_CLIENT_IDS) problems.GOOGLE_CLIENT_IDS = 'is required when NODE_ENV=production (comma-separated OAuth client ids)';
  if (!problems.REDIS_URL && e.REDIS_URL && !/^rediss?:\/\//.test(e.REDIS_URL)) problems.REDIS_URL = 'expected a redis:// or rediss:// URL';
  if (!problems.GOOGLE_JWKS_URI) {
    const u = URL.canParse(e.GOOGLE_JWKS_URI) ? new URL(e.GOOGLE_JWKS_URI) : null;
    // Keys fetched over plain HTTP could be swapped by anyone on the path; loopback is
    // allowed for tests and air-gapped mirrors on the same host.
    if (!u) problems.GOOGLE_JWKS_URI = 'expected a URL';
    else if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopbackUrl(u))) {
      problems.GOOGLE_JWKS_URI = 'must be an https: URL (http: only on a loopback address)';
    }
  }
  const durationsOk = !problems.ACCESS_TOKEN_TTL && !problems.REFRESH_TOKEN_TTL && !problems.SESSION_MAX_LIFETIME;
  if (!problems.ACCESS_TOKEN_TTL && e.ACCESS_TOKEN_TTL < 10_000) problems.ACCESS_TOKEN_TTL = 'must be at least 10s';
  if (durationsOk && e.REFRESH_TOKEN_TTL < e.ACCESS_TOKEN_TTL) problems.REFRESH_TOKEN_TTL = 'must be at least ACCESS_TOKEN_TTL';
  if (durationsOk && e.SESSION_MAX_LIFETIME < e.ACCESS_TOKEN_TTL) problems.SESSION_MAX_LIFETIME = 'must be at least ACCESS_TOKEN_TTL';
  if (!problems.REFRESH_GRACE_PERIOD && e.REFRESH_GRACE_PERIOD > 10_000) problems.REFRESH_GRACE_PERIOD = 'must be at most 10s';
  // A guessable router secret would hand every user's private fields to whoever guesses it.
  if (!problems.ROUTER_SHARED_SECRET && e.ROUTER_SHARED_SECRET && e.ROUTER_SHARED_SECRET.length < MIN_ROUTER_SECRET_LENGTH) {
    problems.ROUTER_SHARED_SECRET = `must be at least ${MIN_ROUTER_SECRET_LENGTH} characters (e.g. \`openssl rand -base64 48\`)`;
  }
  if (!problems.SIGNING_KEY_PUBLISH_AHEAD && e.SIGNING_KEY_PUBLISH_AHEAD < MIN_PUBLISH_AHEAD_MS) {
    problems.SIGNING_KEY_PUBLISH_AHEAD = 'must be at least 10m (a cached JWKS must see a new key before it signs)';
  }
  if (!problems.SIGNING_KEY_ROTATION_INTERVAL && e.SIGNING_KEY_ROTATION_INTERVAL < MIN_ROTATION_INTERVAL_MS) {
    problems.SIGNING_KEY_ROTATION_INTERVAL = 'must be at least 1h';
  } else if (
    !problems.SIGNING_KEY_ROTATION_INTERVAL &&
    !problems.SIGNING_KEY_PUBLISH_AHEAD &&
    e.SIGNING_KEY_ROTATION_INTERVAL <= e.SIGNING_KEY_PUBLISH_AHEAD
  ) {
    problems.SIGNING_KEY_ROTATION_INTERVAL = 'must be longer than SIGNING_KEY_PUBLISH_AHEAD';
  }
  if (!problems.SHUTDOWN_TIMEOUT && e.SHUTDOWN_TIMEOUT < 1_000) problems.SHUTDOWN_TIMEOUT = 'must be at least 1s';
  if (Object.keys(problems).length > 0) throw new ConfigError(problems);

  const credentials = { username: e.REDIS_USERNAME || null, password: e.REDIS_PASSWORD || null };
  const topology: RedisTopology | null = e.REDIS_URL
    ? { kind: 'standalone', url: e.REDIS_URL }
    : sentinels.length > 0
      ? { kind: 'sentinel', sentinels, name: e.REDIS_SENTINEL_NAME, sentinelPassword: e.REDIS_SENTINEL_PASSWORD || null, ...credentials }
      : clusterNodes.length > 0
        ? { kind: 'cluster', nodes: clusterNodes, ...credentials }
        : null;

  const devIssuer = !production && e.DEV_ISSUER;
  return Object.freeze({
    production,
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    redis: { url: e.REDIS_URL || null, keyPrefix: e.REDIS_KEY_PREFIX, topology },
    google: {
      clientIds: e.GOOGLE_CLIENT_IDS.length > 0 ? e.GOOGLE_CLIENT_IDS : devIssuer ? [DEV_CLIENT_ID] : [],
      jwksUri: e.GOOGLE_JWKS_URI,
      hostedDomains: e.GOOGLE_HOSTED_DOMAINS.map((d) => d.toLowerCase()),
    },
    tokens: {
      accessTtlMs: e.ACCESS_TOKEN_TTL,
      refreshTtlMs: e.REFRESH_TOKEN_TTL,
      sessionMaxLifetimeMs: e.SESSION_MAX_LIFETIME,
      refreshGraceMs: e.REFRESH_GRACE_PERIOD,
      issuer: e.AUTH_ISSUER || `http://localhost:${e.PORT}`,
      audience: e.AUTH_AUDIENCE,
    },
    sessions: { maxPerUser: e.MAX_SESSIONS_PER_USER },
    signIn: { requireNonce: e.REQUIRE_SIGN_IN_NONCE, rejectReplayedIdTokens: e.REJECT_REPLAYED_ID_TOKENS },
    signingKeys: { rotationIntervalMs: e.SIGNING_KEY_ROTATION_INTERVAL, publishAheadMs: e.SIGNING_KEY_PUBLISH_AHEAD },
    devIssuer: { enabled: devIssuer, dir: e.DEV_DIR },
    federation: { routerSecret: e.ROUTER_SHARED_SECRET || null },
    trustProxy: e.TRUST_PROXY,
    rateLimits: {
      signInPerAddress: e.RATE_LIMIT_SIGN_IN_PER_ADDRESS,
      authFailuresPerAddress: e.RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS,
      signInPerAccount: e.RATE_LIMIT_SIGN_IN_PER_ACCOUNT,
      refreshPerSession: e.RATE_LIMIT_REFRESH_PER_SESSION,
    },
    graphql: {
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
      maxCost: e.GRAPHQL_MAX_COST,
    },
    shutdown: { delayMs: e.SHUTDOWN_DELAY, timeoutMs: e.SHUTDOWN_TIMEOUT },
  });
}

/** `host:port` or `[ipv6]:port` items; a bad one is reported under `name`. */
function parseHostPorts(items: readonly string[], name: string, problems: Record<string, string>): HostPort[] {
  const out: HostPort[] = [];
  for (const item of items) {
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(item);
    const port = m ? Number(m[3]) : 0;
    if (!m || port < 1 || port > 65_535) {
      problems[name] ??= `expected host:port items separated by commas, got "${item}"`;
      continue;
    }
    out.push({ host: m[1] ?? m[2]!, port });
  }
  return out;
}
