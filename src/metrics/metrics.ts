import { Registry, collectDefaultMetrics, type Counter, type Histogram } from 'prom-client';
import { MetricDeclarations } from './declare.js';
import { AccountError, AuthError, BadUserInputError, RateLimitedError, ServiceUnavailableError } from '../errors.js';
import type { KeySetEvent } from '../identity/keys/index.js';
import type { Outcome } from '../sessions/auth-result.js';

/**
 * The gateway's Prometheus metrics, served at GET /metrics (src/metrics/routes.ts).
 *
 * One registry per gateway instance (tests run several in one process; prom-client's global
 * registry would make them collide). Counters are incremented where things happen (the key
 * source, the Redis client, the sign-in and refresh use cases) through the small methods
 * below, so no part of the gateway depends on prom-client itself. The README's metric list mirrors this file.
 *
 * Label values are closed sets (outcomes, error reasons from src/errors.ts, Redis command
 * names the stores use), never anything a client chooses, so the number of series is bounded.
 */
export { METRIC_PREFIX } from './declare.js';

/** How a sign-in or refresh ended. */
export type AttemptOutcome = 'success' | 'rejected' | 'unavailable' | 'rate_limited' | 'error';

/** What a provider's key cache reports (src/identity/keys/key-set-cache.ts `onEvent`). */
export type KeySourceEvent = KeySetEvent;

/** The `event` label of authgw_provider_key_cache_events_total for each key-cache event (fetches have their own counters). */
const KEY_CACHE_EVENT_LABELS: Record<Exclude<KeySourceEvent, 'fetches' | 'fetchFailures'>, string> = {
  sharedCacheHits: 'shared_cache_hit',
  unknownKidRefetches: 'unknown_kid_refetch',
  staleServed: 'stale_served',
  unavailable: 'unavailable',
};

/** Bounded, lower-case label values only. */
const LABEL_VALUE = /^[a-z0-9_-]{1,40}$/;
/** More distinct Redis command names than the stores send. */
const MAX_COMMAND_NAMES = 64;

export interface GatewayMetricsOptions {
  /** Default: a new registry (one per gateway). */
  registry?: Registry;
  /** Node.js process metrics (CPU, memory, event loop lag, GC, handles). Default true. */
  defaultMetrics?: boolean;
}

export class GatewayMetrics {
  readonly registry: Registry;

  readonly #signIns: Counter<'provider' | 'outcome' | 'reason'>;
  readonly #refreshes: Counter<'outcome' | 'reason'>;
  readonly #verification: Histogram<'provider' | 'outcome'>;
  readonly #keyFetches: Counter<'provider'>;
  readonly #keyFetchFailures: Counter<'provider'>;
  readonly #keyEvents: Counter<'provider' | 'event'>;
  readonly #rateLimitHits: Counter<'kind'>;
  readonly #riscEvents: Counter<'type' | 'outcome'>;
  readonly #redisErrors: Counter<'kind'>;
  readonly #redisDuration: Histogram<'command'>;
  #redisStatus: (() => boolean) | null = null;
  #activeSource: (() => Promise<number>) | null = null;

  constructor(opts: GatewayMetricsOptions = {}) {
    this.registry = opts.registry ?? new Registry();
    const m = new MetricDeclarations(this.registry);
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const self = this;

    this.#signIns = m.counter('sign_ins_total', 'signInWithGoogle and signInWithApple calls by provider (google, apple), outcome (success, rejected, unavailable, rate_limited, error) and reason (new_user/returning_user, or the error reason)', ['provider', 'outcome', 'reason']);
    this.#refreshes = m.counter('refreshes_total', 'refreshSession calls by outcome and reason (refresh_token_reused means a stolen or replayed token: the session was revoked)', ['outcome', 'reason']);
    this.#verification = m.histogram('id_token_verification_seconds', 'ID-token verification time (sign-in and linkIdentity), including any wait for the provider keys, by provider and outcome (valid, rejected, unavailable, error)', ['provider', 'outcome'], [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
    this.#keyFetches = m.counter('provider_key_fetches_total', "HTTP requests to an identity provider's key set (GOOGLE_JWKS_URI, APPLE_JWKS_URI), successful or not, by provider", ['provider']);
    this.#keyFetchFailures = m.counter('provider_key_fetch_failures_total', "Failed fetches of an identity provider's key set (network, HTTP status, timeout, unusable body), by provider", ['provider']);
    this.#keyEvents = m.counter('provider_key_cache_events_total', 'Key cache events by provider: shared_cache_hit (keys another instance fetched), unknown_kid_refetch, stale_served (keys past their freshness used while the provider is unreachable), unavailable (no usable keys: keys_unavailable)', ['provider', 'event']);
    this.#rateLimitHits = m.counter('rate_limit_hits_total', 'Requests refused with RATE_LIMITED, by limit kind', ['kind']);
    this.#riscEvents = m.counter('risc_events_total', 'Google security events (Cross-Account Protection) by type (sessions-revoked, account-disabled, …, unknown; none for a rejected token) and outcome: applied, no_account (the identity has no account: its state is kept for its sign-in), duplicate, ignored, logged (verification), or the rejection (invalid_request, invalid_key, invalid_issuer, invalid_audience, authentication_failed)', ['type', 'outcome']);
    this.#redisErrors = m.counter('redis_command_errors_total', 'Redis commands that failed, by kind: connection (not connected, connection lost), timeout (no answer within 2 s), reply (an error reply from Redis), other', ['kind']);
    this.#redisDuration = m.histogram('redis_command_duration_seconds', 'Redis command time as the gateway sees it (network round trip included), by command', ['command'], [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);
    m.gauge('redis_up', '1 while the Redis client is connected and ready, else 0 (absent with the embedded store)', [], function () {
      if (self.#redisStatus) this.set(self.#redisStatus() ? 1 : 0);
    });
    m.gauge('active_sessions', 'Estimated distinct sessions that signed in or refreshed within the last access-token lifetime, i.e. that may hold a usable access token (HyperLogLog in Redis, about 1% error)', [], async function () {
      if (!self.#activeSource) return;
      try {
        this.set(await self.#activeSource());
      } catch {
        // Redis is down: keep the last value rather than failing the whole scrape
        // (authgw_redis_up says why it is stale).
      }
    });
  }

  /** Counts one sign-in by provider and how it ended (src/sessions/sign-in.ts calls it once per sign-in). */
  readonly countSignIn = (outcome: Outcome<{ isNewUser: boolean }>, provider: string): void => {
    const labels = outcome.ok ? { outcome: 'success' as const, reason: outcome.value.isNewUser ? 'new_user' : 'returning_user' } : classify(outcome.error);
    this.#signIns.inc({ provider: label(provider), ...labels });
  };

  /** Counts one `refreshSession` by how it ended (src/sessions/refresh.ts). */
  readonly countRefresh = (outcome: Outcome<unknown>): void => {
    this.#refreshes.inc(outcome.ok ? { outcome: 'success', reason: 'rotated' } : classify(outcome.error));
  };

  /** Wraps a provider's ID-token verifier so every call is timed. */
  timeVerification<A extends unknown[], R>(provider: string, verify: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return async (...args: A) => {
      const end = this.#verification.startTimer({ provider: label(provider) });
      try {
        const result = await verify(...args);
        end({ outcome: 'valid' });
        return result;
      } catch (err) {
        const { outcome } = classify(err);
        end({ outcome });
        throw err;
      }
    };
  }

  /** For the `onEvent` of each provider's key cache (src/identity/verification.ts). */
  readonly keySourceEvent = (provider: string, event: KeySourceEvent): void => {
    const p = label(provider);
    if (event === 'fetches') this.#keyFetches.inc({ provider: p });
    else if (event === 'fetchFailures') this.#keyFetchFailures.inc({ provider: p });
    else this.#keyEvents.inc({ provider: p, event: KEY_CACHE_EVENT_LABELS[event] });
  };

  /** One Google security event (or rejected token) by type and outcome: both from closed lists (src/risc/receiver.ts). */
  readonly riscEvent = (type: string, outcome: string): void => {
    this.#riscEvents.inc({ type: label(type), outcome: label(outcome) });
  };

  /** Call once per request refused by a rate limit; `kind` names the limit (e.g. `sign-in-addr`). */
  readonly rateLimitHit = (kind: string): void => {
    this.#rateLimitHits.inc({ kind: label(kind) });
  };

  /**
   * For the Redis client instrumentation (src/store/redis/instrument.ts): every command, so the
   * histogram's child for a command name is looked up once, not its labels hashed per command.
   */
  readonly redisCommand = (command: string, seconds: number, error: unknown): void => {
    let observe = this.#redisObservers.get(command);
    if (!observe) {
      observe = this.#redisDuration.labels({ command: label(command) }).observe;
      // Command names come from our stores (a closed set); the bound keeps it so whatever happens.
      if (this.#redisObservers.size < MAX_COMMAND_NAMES) this.#redisObservers.set(command, observe);
    }
    observe(seconds);
    if (error !== null && error !== undefined) this.#redisErrors.inc({ kind: redisErrorKind(error) });
  };
  readonly #redisObservers = new Map<string, (seconds: number) => void>();

  /** Where `authgw_redis_up` comes from (the Redis client's status). */
  watchRedis(isReady: () => boolean): void {
    this.#redisStatus = isReady;
  }

  /** Where `authgw_active_sessions` comes from (read at scrape time). */
  watchActiveSessions(estimate: () => Promise<number>): void {
    this.#activeSource = estimate;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** A label value from code (a provider's name, a limit's kind, a command), or `other`. */
function label(value: string): string {
  return LABEL_VALUE.test(value) ? value : 'other';
}

/** Outcome and reason labels for a failed attempt; reasons are the closed lists of src/errors.ts. */
export function classify(err: unknown): { outcome: AttemptOutcome; reason: string } {
  if (err instanceof AuthError) return { outcome: 'rejected', reason: err.reason };
  if (err instanceof AccountError) return { outcome: 'rejected', reason: err.code.toLowerCase() };
  if (err instanceof ServiceUnavailableError) return { outcome: 'unavailable', reason: err.reason };
  if (err instanceof RateLimitedError) return { outcome: 'rate_limited', reason: 'rate_limited' };
  if (err instanceof BadUserInputError) return { outcome: 'rejected', reason: 'bad_user_input' };
  return { outcome: 'error', reason: 'internal' };
}

/** ioredis' error messages for "no usable connection" (client, Sentinel and Cluster variants). */
const CONNECTION_ERROR = /connection is closed|stream isn't writeable|isn't ready|cluster is ended|all sentinels are unreachable|too many cluster redirections|connect (?:etimedout|econnrefused)|econnreset|epipe/i;

export function redisErrorKind(err: unknown): 'connection' | 'timeout' | 'reply' | 'other' {
  const e = err as { name?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : '';
  if (message === 'Command timed out') return 'timeout';
  if (e?.name === 'ReplyError') return 'reply';
  if (e?.name === 'AbortError' || CONNECTION_ERROR.test(message)) return 'connection';
  return 'other';
}
