import type { KeySetStore, LockStore } from '../../store/types.js';
import type { Clock } from './clock.js';

/**
 * The key cache's options and tunables, each default written once here with what it governs. All durations
 * are milliseconds on the cache's clock.
 */

/**
 * How long keys stay usable past their `Cache-Control` freshness when the provider cannot be
 * reached. Providers keep a retired key published for days after they stop signing with it, so
 * a key that was current a few hours ago is still theirs; a longer outage than this fails closed
 * (`keys_unavailable`) rather than trusting keys the provider may have withdrawn.
 */
export const STALE_GRACE_MS = 6 * 3_600_000;

export const KEY_SET_DEFAULTS = Object.freeze({
  /** Abort a JWKS request (headers and body) after this long. */
  timeoutMs: 5_000,
  /**
   * With no usable keys, a verification waits at most this long for the fetch in flight, then
   * fails with `keys_unavailable`; the fetch goes on and serves later requests. Keeps sign-in
   * failing fast while the provider hangs, instead of every request waiting out `timeoutMs`.
   */
  keyWaitMs: 2_000,
  /** Freshness when the provider sends no usable `Cache-Control: max-age`. */
  defaultTtlMs: 3_600_000,
  /** Lower bound on freshness, whatever `max-age` says (0 or tiny values would refetch constantly). */
  minTtlMs: 5 * 60_000,
  /** Upper bound on freshness (a huge `max-age` would pin keys the provider has rotated away). */
  maxTtlMs: 24 * 3_600_000,
  /** See {@link STALE_GRACE_MS}. */
  staleGraceMs: STALE_GRACE_MS,
  /** At most one unknown-`kid` refetch per this period, across all instances (jose's `cooldownDuration`). */
  cooldownMs: 30_000,
  /** After a failed fetch, do not try again for this long (requests fail or use stale keys at once). */
  failureBackoffMs: 5_000,
  /** TTL of the shared fetch lock; longer than `timeoutMs` so it outlives a slow fetch. */
  fetchLockTtlMs: 10_000,
  /** How long an instance that lost the fetch lock waits for the winner's keys before fetching itself. */
  lockWaitMs: 2_500,
  /** Poll interval of that wait. */
  lockPollMs: 75,
  /** Re-read the shared cache for an unknown `kid` at most this often (another instance may have refetched). */
  sharedRecheckMs: 1_000,
  /** Give up on one shared-cache or lock operation after this long (Redis trouble must not stall sign-in). */
  storeTimeoutMs: 1_000,
  /** At most one "store trouble" warning per this period (while Redis is down every request would log one). */
  storeWarningIntervalMs: 10_000,
  /** Reject JWKS bodies larger than this (Google's and Apple's are ~2 KB). */
  maxBodyBytes: 256 * 1024,
});

export type KeySetTunables = { -readonly [K in keyof typeof KEY_SET_DEFAULTS]: number };

/** The defaults with `overrides` applied; a TypeError names a bad value (a programming error). */
export function resolveTunables(overrides: Partial<KeySetTunables>): Readonly<KeySetTunables> {
  const t = { ...KEY_SET_DEFAULTS } as KeySetTunables;
  for (const name of Object.keys(KEY_SET_DEFAULTS) as (keyof KeySetTunables)[]) {
    const value = overrides[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new TypeError(`key cache: "${name}" must be a non-negative finite number`);
    t[name] = value;
  }
  if (t.minTtlMs > t.maxTtlMs) throw new TypeError('key cache: minTtlMs must not exceed maxTtlMs');
  if (t.lockPollMs <= 0) throw new TypeError('key cache: lockPollMs must be positive');
  return Object.freeze(t);
}

/** Counters, for tests and metrics. */
export interface KeySetStats {
  /** HTTP requests made to the JWKS endpoint. */
  fetches: number;
  /** Of those, how many failed (network, status, timeout, body). */
  fetchFailures: number;
  /** Refreshes satisfied by the shared cache (another instance had fetched). */
  sharedCacheHits: number;
  /** Refetches triggered by an unknown `kid`. */
  unknownKidRefetches: number;
  /** Verifications served with keys past their freshness (within the stale grace). */
  staleServed: number;
  /** Key look-ups that ended in `keys_unavailable`. */
  unavailable: number;
}
export type KeySetEvent = keyof KeySetStats;

/** The subset of a pino/fastify logger the key cache uses. */
export interface KeySetLogger {
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
}

/** Warnings to the console, nothing else (when no logger is given). */
export const consoleWarnings: KeySetLogger = {
  warn: (fields, message) => console.warn(message, fields),
  info: () => undefined,
};

/** An error's class and message (and its cause's), for a log line. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.name}: ${err.message}${cause}`;
  }
  return String(err);
}

/** Options of `KeySetCache` (src/identity/keys/key-set-cache.ts); the tunables are above. */
export interface KeySetCacheOptions extends Partial<KeySetTunables> {
  /** Short name (`[a-z][a-z0-9-]*`): the shared record `jwks:<provider>`, lock names, log field. */
  provider: string;
  /** The provider as log lines name it ("Google"). Default: `provider`. */
  displayName?: string;
  /** The provider's JWKS endpoint (or `discoveryUri`: exactly one of the two). */
  jwksUri?: string | URL;
  /**
   * A discovery document naming `issuer` and `jwks_uri` (Google's RISC configuration): each
   * refresh fetches it, then the key set it names; the issuer is cached with the keys, in the
   * same record, under the same lock, freshness and stale grace (the smaller of the two
   * documents' `max-age`). Its `jwks_uri` must be https (http only on loopback), like the
   * configured URIs.
   */
  discoveryUri?: string | URL;
  /** Key sets shared by every instance (`Stores.keySets`). */
  store: KeySetStore;
  /** Cross-instance locks (`Stores.locks`). */
  locks: LockStore;
  /** Default: the real clock. */
  clock?: Clock;
  /** Default: warnings to the console. */
  logger?: KeySetLogger;
  /** Default: the global `fetch`. */
  fetch?: typeof globalThis.fetch;
  /** Called each time one of `stats` is incremented (metrics count at the source). */
  onEvent?: (event: KeySetEvent) => void;
}
