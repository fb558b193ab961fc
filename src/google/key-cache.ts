import * as jose from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { AuthError, AuthReason, ServiceUnavailableError, UnavailableReason } from '../errors.js';
import type { CachedKeySet, GoogleKeyCache, LockStore } from '../store/types.js';

/**
 * Google's ID-token signing keys, resolved by `kid`:
 *
 *   static keys (development issuer) → in-process set (fresh) → shared cache (Redis) → Google.
 *
 * - One fetch at a time per process (single-flight) and, across instances, a shared lock
 *   (`google-jwks-fetch`): of N instances starting cold, one fetches and the others pick its
 *   result up from the shared cache.
 * - Freshness comes from Google's `Cache-Control: max-age` (bounded). Past it, keys remain
 *   usable for a bounded stale grace while Google cannot be reached.
 * - An unknown `kid` while the keys are fresh refetches at most once per cooldown across all
 *   instances (`google-jwks-cooldown` + a local timestamp), so made-up kids cannot turn into a
 *   flood of requests to Google.
 * - Failures are remembered for a few seconds, so while Google is down requests fail (or use
 *   stale keys) at once instead of each waiting for the timeout.
 *
 * Nothing here logs or sees a token; the `kid` (attacker-chosen) is not logged either.
 */

/**
 * How long keys stay usable past their `Cache-Control` freshness when Google cannot be reached.
 * Google keeps a retired key published for days after it stops signing with it, so a key that
 * was current a few hours ago is still Google's; a longer outage than this fails closed
 * (`keys_unavailable`) rather than trusting keys Google may have withdrawn.
 */
export const STALE_GRACE_MS = 6 * 3_600_000;

/** Shared lock held by the one instance fetching Google's keys. */
export const FETCH_LOCK = 'google-jwks-fetch';
/** Shared lock that spaces unknown-`kid` refetches across every instance. */
export const COOLDOWN_LOCK = 'google-jwks-cooldown';

/**
 * Every tunable, with its default written once here. `GoogleKeySourceOptions` documents each by
 * name. All durations are milliseconds.
 */
export const KEY_SOURCE_DEFAULTS = Object.freeze({
  /** Abort a JWKS request (headers and body) after this long. */
  timeoutMs: 5_000,
  /**
   * With no usable keys, a verification waits at most this long for the fetch in flight, then
   * fails with `keys_unavailable`; the fetch goes on and serves later requests. Keeps sign-in
   * failing fast while Google hangs, instead of every request waiting out `timeoutMs`.
   */
  keyWaitMs: 2_000,
  /** Freshness when Google sends no usable `Cache-Control: max-age`. */
  defaultTtlMs: 3_600_000,
  /** Lower bound on freshness, whatever `max-age` says (0 or tiny values would refetch constantly). */
  minTtlMs: 5 * 60_000,
  /** Upper bound on freshness (a huge `max-age` would pin keys Google has rotated away). */
  maxTtlMs: 24 * 3_600_000,
  /** See {@link STALE_GRACE_MS}. */
  staleGraceMs: STALE_GRACE_MS,
  /** At most one unknown-`kid` refetch per this period, across all instances. */
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
  /** Reject JWKS bodies larger than this (Google's is ~2 KB). */
  maxBodyBytes: 256 * 1024,
});
export type KeySourceTunables = { -readonly [K in keyof typeof KEY_SOURCE_DEFAULTS]: number };

/** The subset of a pino/fastify logger this module uses. */
export interface KeySourceLogger {
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
}

export interface GoogleKeySourceOptions extends Partial<KeySourceTunables> {
  /** Google's JWKS endpoint (`config.google.jwksUri`). */
  jwksUri: string | URL;
  /** Key set shared by every instance (`Stores.googleKeys`). */
  cache: GoogleKeyCache;
  /** Cross-instance locks (`Stores.locks`). */
  locks: LockStore;
  /** Default: `console` (warnings only). */
  logger?: KeySourceLogger;
  /** Clock, epoch ms. Default `Date.now`. */
  now?: () => number;
  /** Default: the global `fetch`. */
  fetch?: typeof globalThis.fetch;
  /**
   * Extra trusted RS256 public keys (e.g. the development issuer's), checked before Google's.
   * Each needs a `kid`. Never pass these in production.
   */
  staticKeys?: readonly JWK[];
  /** Called each time one of `stats` is incremented (metrics count at the source). */
  onEvent?: (event: keyof KeySourceStats) => void;
}

export interface KeySourceStats {
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

interface KeySet {
  readonly keys: ReadonlyMap<string, CryptoKey>;
  readonly fetchedAt: number;
  readonly expiresAt: number;
}

/** Minimal public RSA JWK as fetched, validated and stored in the shared cache. */
export interface RsaPublicJwk {
  kty: 'RSA';
  kid: string;
  n: string;
  e: string;
  alg: 'RS256';
  use: 'sig';
}

const noopLogger: KeySourceLogger = {
  warn: (fields, message) => console.warn(message, fields),
  info: () => undefined,
};

/** At most one "store trouble" warning per this period. */
const STORE_WARNING_INTERVAL_MS = 10_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class GoogleKeySource {
  /** Counters for tests and metrics (mutated in place; read-only to callers). */
  readonly stats: Readonly<KeySourceStats>;

  readonly #stats: KeySourceStats = { fetches: 0, fetchFailures: 0, sharedCacheHits: 0, unknownKidRefetches: 0, staleServed: 0, unavailable: 0 };
  readonly #o: KeySourceTunables;
  readonly #uri: string;
  readonly #cache: GoogleKeyCache;
  readonly #locks: LockStore;
  readonly #logger: KeySourceLogger;
  readonly #now: () => number;
  readonly #fetch: typeof globalThis.fetch;
  readonly #staticJwks: readonly JWK[];
  readonly #onEvent: ((event: keyof KeySourceStats) => void) | undefined;

  #static: Promise<Map<string, CryptoKey>> | null = null;
  #local: KeySet | null = null;
  #inflight: Promise<KeySet> | null = null;
  #sharedRead: Promise<CachedKeySet | null> | null = null;
  /** Imported keys by `n.e`, so a key is imported once, not per verification or per refresh. */
  #imported = new Map<string, CryptoKey>();
  #failedUntil = -Infinity;
  #lastUnknownKidFetchAt = -Infinity;
  #lastSharedRecheckAt = -Infinity;
  #storeWarnedAt = -Infinity;

  constructor(options: GoogleKeySourceOptions) {
    const tunables = { ...KEY_SOURCE_DEFAULTS } as KeySourceTunables;
    for (const name of Object.keys(KEY_SOURCE_DEFAULTS) as (keyof KeySourceTunables)[]) {
      const value = options[name];
      if (value === undefined) continue;
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new TypeError(`GoogleKeySource: "${name}" must be a non-negative finite number`);
      tunables[name] = value;
    }
    if (tunables.minTtlMs > tunables.maxTtlMs) throw new TypeError('GoogleKeySource: minTtlMs must not exceed maxTtlMs');
    if (tunables.lockPollMs <= 0) throw new TypeError('GoogleKeySource: lockPollMs must be positive');
    this.#o = tunables;
    this.#uri = new URL(options.jwksUri).href;
    this.#cache = options.cache;
    this.#locks = options.locks;
    this.#logger = options.logger ?? noopLogger;
    this.#now = options.now ?? Date.now;
    const fetchImpl = options.fetch ?? globalThis.fetch;
    this.#fetch = (input, init) => fetchImpl(input, init);
    this.#staticJwks = options.staticKeys ?? [];
    this.#onEvent = options.onEvent;
    this.stats = this.#stats;
  }

  /**
   * The verification key for `kid`.
   * @throws AuthError `unknown_key` when no trusted key has this kid (after at most one refetch per cooldown).
   * @throws ServiceUnavailableError `keys_unavailable` when no usable Google keys exist (never fetched, Google unreachable).
   */
  async getKey(kid: string): Promise<CryptoKey> {
    const staticKey = (await this.#staticKeys()).get(kid);
    if (staticKey) return staticKey;

    let set = this.#local;
    if (!set || !this.#isFresh(set)) {
      const staleKey = set && this.#isUsable(set) ? set.keys.get(kid) : undefined;
      if (staleKey) {
        // Stale-while-revalidate: within the grace period the key is still Google's; refresh in
        // the background (unless a failure is remembered) instead of making this request wait.
        this.#count('staleServed');
        if (!this.#inflight && this.#now() >= this.#failedUntil) this.#refresh(false).catch(() => undefined);
        return staleKey;
      }
      set = await this.#waitForRefresh();
    }
    const key = set.keys.get(kid) ?? (await this.#refreshForUnknownKid(set, kid)).keys.get(kid);
    if (key) return key;
    throw new AuthError(AuthReason.UNKNOWN_KEY);
  }

  /**
   * Loads keys ahead of the first sign-in (start-up). Resolves true when usable keys are
   * available; never throws for Google or store trouble (it is logged).
   * @throws TypeError when `staticKeys` are invalid (a configuration error).
   */
  async warm(): Promise<boolean> {
    await this.#staticKeys();
    try {
      const set = this.#local && this.#isFresh(this.#local) ? this.#local : await this.#refresh(false);
      return this.#isUsable(set);
    } catch {
      return false;
    }
  }

  /** Resolves when no refresh is in flight (tests; graceful shutdown). */
  async settled(): Promise<void> {
    while (this.#inflight) await this.#inflight.catch(() => undefined);
  }

  #count(event: keyof KeySourceStats): void {
    this.#stats[event]++;
    this.#onEvent?.(event);
  }

  // --- freshness -------------------------------------------------------------------------

  #isFresh(set: { expiresAt: number }): boolean {
    return this.#now() < set.expiresAt;
  }

  #isUsable(set: { expiresAt: number }): boolean {
    return this.#now() < set.expiresAt + this.#o.staleGraceMs;
  }

  // --- refresh ---------------------------------------------------------------------------

  /** The shared refresh, waited for at most `keyWaitMs` (see there). */
  async #waitForRefresh(): Promise<KeySet> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#count('unavailable');
        reject(new ServiceUnavailableError(UnavailableReason.KEYS_UNAVAILABLE));
      }, this.#o.keyWaitMs);
    });
    try {
      return await Promise.race([this.#refresh(false), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Single-flight: concurrent callers in this process share one refresh. */
  #refresh(force: boolean): Promise<KeySet> {
    this.#inflight ??= this.#load(force).finally(() => {
      this.#inflight = null;
    });
    return this.#inflight;
  }

  /**
   * Shared cache first (unless `force`: an unknown kid means the shared set is not enough),
   * then Google under the shared fetch lock. Falls back to usable stale keys on failure.
   */
  async #load(force: boolean): Promise<KeySet> {
    if (!force) {
      const cached = await this.#readShared();
      if (cached) await this.#adoptIfNewer(cached);
      if (this.#local && this.#isFresh(this.#local)) {
        this.#count('sharedCacheHits');
        return this.#local;
      }
    }
    if (this.#now() < this.#failedUntil) return this.#fallback();

    const baseline = this.#local?.fetchedAt ?? -Infinity;
    let locked = await this.#acquire(FETCH_LOCK, this.#o.fetchLockTtlMs, true);
    try {
      if (!locked) {
        // Another instance is fetching: wait for its result to appear in the shared cache.
        const rounds = Math.max(1, Math.ceil(this.#o.lockWaitMs / this.#o.lockPollMs));
        for (let i = 0; i < rounds && !locked; i++) {
          await sleep(this.#o.lockPollMs);
          const published = await this.#newerShared(baseline);
          if (published) return published;
          // The lock is free again without a new key set: the winner failed. Fetch ourselves.
          locked = await this.#acquire(FETCH_LOCK, this.#o.fetchLockTtlMs, false);
        }
      }
      // Double-checked: the previous holder may have published just before we took the lock.
      const published = await this.#newerShared(baseline);
      if (published) return published;

      const record = await this.#fetchFromGoogle();
      const built = await this.#build(record);
      if (!built) throw new Error('none of the keys could be imported');
      this.#install(built, true);
      await this.#writeShared(record);
      return built.set;
    } catch (err) {
      this.#count('fetchFailures');
      this.#failedUntil = this.#now() + this.#o.failureBackoffMs;
      const usable = this.#local && this.#isUsable(this.#local) ? this.#local : null;
      this.#logger.warn(
        {
          jwksUri: this.#uri,
          error: describe(err),
          retryInMs: this.#o.failureBackoffMs,
          staleKeysUsableUntil: usable ? new Date(usable.expiresAt + this.#o.staleGraceMs).toISOString() : null,
        },
        usable
          ? 'Fetching Google signing keys failed; verifying with the last good keys'
          : 'Fetching Google signing keys failed and no usable keys are cached; Google sign-in is unavailable',
      );
      return this.#fallback();
    } finally {
      if (locked) await this.#release(FETCH_LOCK);
    }
  }

  #fallback(): KeySet {
    const local = this.#local;
    if (local && this.#isUsable(local)) return local;
    this.#count('unavailable');
    throw new ServiceUnavailableError(UnavailableReason.KEYS_UNAVAILABLE);
  }

  /** A key set another instance published after `baseline`, adopted; else null. */
  async #newerShared(baseline: number): Promise<KeySet | null> {
    const cached = await this.#readShared();
    if (!cached || cached.fetchedAt <= baseline || !this.#isUsable(cached)) return null;
    const set = await this.#adoptIfNewer(cached);
    if (set && set.fetchedAt > baseline) {
      this.#count('sharedCacheHits');
      return set;
    }
    return null;
  }

  /**
   * The token's kid is not in a usable set: maybe Google rotated. Use the shared set when
   * another instance already refetched (it is newer, or it has this kid: timestamps from
   * different hosts may be skewed), else refetch, at most once per cooldown (locally and
   * across instances).
   */
  async #refreshForUnknownKid(set: KeySet, kid: string): Promise<KeySet> {
    const now = this.#now();
    if (now < this.#failedUntil) return set;
    if (now - this.#lastSharedRecheckAt >= this.#o.sharedRecheckMs) {
      this.#lastSharedRecheckAt = now;
      const cached = await this.#readShared();
      if (cached && this.#isUsable(cached) && (cached.fetchedAt > set.fetchedAt || rsaKeysOf(cached.jwks).some((k) => k.kid === kid))) {
        const adopted = await this.#adoptIfNewer(cached, true);
        if (adopted?.keys.has(kid)) {
          this.#count('sharedCacheHits');
          return adopted;
        }
      }
    }
    const latest = this.#local ?? set;
    // Checked and set with no await in between: concurrent unknown kids in this process pass one at a time.
    if (this.#now() - this.#lastUnknownKidFetchAt < this.#o.cooldownMs) return latest;
    this.#lastUnknownKidFetchAt = this.#now();
    if (!(await this.#acquire(COOLDOWN_LOCK, this.#o.cooldownMs, true))) return this.#local ?? latest;
    this.#count('unknownKidRefetches');
    try {
      return await this.#refresh(true);
    } catch {
      return this.#local ?? latest;
    }
  }

  // --- Google ----------------------------------------------------------------------------

  async #fetchFromGoogle(): Promise<CachedKeySet> {
    this.#count('fetches');
    const res = await this.#fetch(this.#uri, {
      method: 'GET',
      redirect: 'error',
      signal: AbortSignal.timeout(this.#o.timeoutMs),
      headers: { accept: 'application/json, application/jwk-set+json' },
    });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      throw new Error(`unexpected HTTP status ${res.status}`);
    }
    const text = await readBody(res, this.#o.maxBodyBytes);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error('the response is not JSON');
    }
    const keys = rsaKeysOf(body);
    if (keys.length === 0) throw new Error('the response holds no usable RS256 keys');
    const freshness = freshnessOf(res.headers, this.#o);
    const fetchedAt = this.#now();
    this.#logger.info({ jwksUri: this.#uri, keys: keys.length, freshnessMs: freshness }, 'Fetched Google signing keys');
    return { jwks: { keys }, fetchedAt, expiresAt: fetchedAt + freshness };
  }

  // --- shared cache and locks (failures degrade to working alone) ------------------------

  #readShared(): Promise<CachedKeySet | null> {
    this.#sharedRead ??= this.#guard(this.#cache.get(), 'read the shared key cache')
      .then((v) => (isCachedKeySet(v) ? v : null))
      .catch(() => null)
      .finally(() => {
        this.#sharedRead = null;
      });
    return this.#sharedRead;
  }

  async #writeShared(record: CachedKeySet): Promise<void> {
    const ttl = record.expiresAt - record.fetchedAt + this.#o.staleGraceMs;
    await this.#guard(this.#cache.put(record, ttl), 'write the shared key cache').catch(() => undefined);
  }

  /** On store trouble, `onError` decides: true = proceed as if we held the lock (availability first). */
  async #acquire(name: string, ttlMs: number, onError: boolean): Promise<boolean> {
    try {
      return await this.#guard(this.#locks.acquire(name, ttlMs), `acquire ${name}`);
    } catch {
      return onError;
    }
  }

  async #release(name: string): Promise<void> {
    await this.#guard(this.#locks.release(name), `release ${name}`).catch(() => undefined);
  }

  #guard<T>(op: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${this.#o.storeTimeoutMs} ms`)), this.#o.storeTimeoutMs);
    });
    return Promise.race([op, timeout])
      .catch((err: unknown) => {
        // Rate-limited: while Redis is down every request would otherwise log this.
        if (Date.now() - this.#storeWarnedAt >= STORE_WARNING_INTERVAL_MS) {
          this.#storeWarnedAt = Date.now();
          this.#logger.warn({ error: describe(err) }, `Could not ${what}; continuing without it`);
        }
        throw err;
      })
      .finally(() => clearTimeout(timer));
  }

  // --- key import ------------------------------------------------------------------------

  /**
   * Makes `record` the in-process set when it is newer than the current one (or `always`).
   * Returns the resulting current set, or null when there is none.
   */
  async #adoptIfNewer(record: CachedKeySet, always = false): Promise<KeySet | null> {
    if (!always && this.#local && record.fetchedAt <= this.#local.fetchedAt) return this.#local;
    const built = await this.#build(record);
    if (built) this.#install(built, always);
    return this.#local;
  }

  /** Imports the record's keys (reusing already imported ones); null when none is usable. */
  async #build(record: CachedKeySet): Promise<{ set: KeySet; imported: Map<string, CryptoKey> } | null> {
    const keys = new Map<string, CryptoKey>();
    const imported = new Map<string, CryptoKey>();
    for (const jwk of rsaKeysOf(record.jwks)) {
      if (keys.has(jwk.kid)) continue;
      const id = `${jwk.n}.${jwk.e}`;
      let key = imported.get(id) ?? this.#imported.get(id);
      if (!key) {
        try {
          key = await importRsaKey(jwk);
        } catch {
          continue;
        }
      }
      imported.set(id, key);
      keys.set(jwk.kid, key);
    }
    if (keys.size === 0) return null;
    return { set: { keys, fetchedAt: record.fetchedAt, expiresAt: record.expiresAt }, imported };
  }

  /** Checked after the imports' awaits: another adoption may have installed a newer set meanwhile. */
  #install(built: { set: KeySet; imported: Map<string, CryptoKey> }, always: boolean): void {
    if (always || !this.#local || built.set.fetchedAt > this.#local.fetchedAt) {
      this.#local = built.set;
      this.#imported = built.imported;
    }
  }

  #staticKeys(): Promise<Map<string, CryptoKey>> {
    this.#static ??= (async () => {
      const map = new Map<string, CryptoKey>();
      for (const jwk of this.#staticJwks) {
        const [rsa] = rsaKeysOf({ keys: [jwk] });
        if (!rsa) throw new TypeError('GoogleKeySource: every static key must be a public RS256 RSA JWK (2048 bits or more) with a kid');
        map.set(rsa.kid, await importRsaKey(rsa));
      }
      return map;
    })();
    return this.#static;
  }
}

// --- helpers ---------------------------------------------------------------------------------

async function importRsaKey(jwk: RsaPublicJwk): Promise<CryptoKey> {
  const key = await jose.importJWK({ kty: 'RSA', n: jwk.n, e: jwk.e }, 'RS256');
  if (key instanceof Uint8Array) throw new TypeError('not an asymmetric key');
  // The length of `n` says little (leading zero bytes): check the real modulus.
  const bits = (key.algorithm as { modulusLength?: number }).modulusLength;
  if (typeof bits !== 'number' || bits < 2048) throw new TypeError('RSA modulus under 2048 bits');
  return key;
}

const B64URL = /^[A-Za-z0-9_-]+$/;
const MAX_KEYS = 100;
const MAX_KID_LENGTH = 256;

/**
 * The usable keys of a JWKS-shaped value: RSA, RS256-compatible (`alg` absent or RS256, `use`
 * absent or `sig`), a kid, modulus of 2048 bits or more. Everything else is ignored; a value that
 * is not a JWKS yields no keys. Only public members are kept.
 */
export function rsaKeysOf(body: unknown): RsaPublicJwk[] {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { keys?: unknown }).keys)) return [];
  const out: RsaPublicJwk[] = [];
  for (const k of ((body as { keys: unknown[] }).keys).slice(0, MAX_KEYS)) {
    if (typeof k !== 'object' || k === null) continue;
    const { kty, kid, n, e, alg, use } = k as Record<string, unknown>;
    if (kty !== 'RSA') continue;
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) continue;
    if (alg !== undefined && alg !== 'RS256') continue;
    if (use !== undefined && use !== 'sig') continue;
    if (typeof n !== 'string' || !B64URL.test(n) || typeof e !== 'string' || !B64URL.test(e)) continue;
    // 2048-bit modulus = 256 bytes = 342 base64url characters (a leading zero byte may add some).
    if (n.length < 342 || n.length > 2800 || e.length > 16) continue;
    out.push({ kty: 'RSA', kid, n, e, alg: 'RS256', use: 'sig' });
  }
  return out;
}

/** Freshness from `Cache-Control: max-age` minus `Age`, bounded; the default when absent. */
export function freshnessOf(headers: Headers, o: Pick<KeySourceTunables, 'defaultTtlMs' | 'minTtlMs' | 'maxTtlMs'>): number {
  const m = /(?:^|,)\s*max-age\s*=\s*"?(\d{1,10})"?\s*(?:,|$)/i.exec(headers.get('cache-control') ?? '');
  if (!m) return Math.min(Math.max(o.defaultTtlMs, o.minTtlMs), o.maxTtlMs);
  const age = /^\d{1,10}$/.test(headers.get('age')?.trim() ?? '') ? Number(headers.get('age')!.trim()) : 0;
  const seconds = Math.max(0, Number(m[1]) - age);
  return Math.min(Math.max(seconds * 1000, o.minTtlMs), o.maxTtlMs);
}

async function readBody(res: Response, limit: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await res.body?.cancel().catch(() => undefined);
    throw new Error('the response is too large');
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new Error('the response is too large');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function isCachedKeySet(v: unknown): v is CachedKeySet {
  if (typeof v !== 'object' || v === null) return false;
  const { jwks, fetchedAt, expiresAt } = v as Record<string, unknown>;
  return Number.isFinite(fetchedAt) && Number.isFinite(expiresAt) && rsaKeysOf(jwks).length > 0;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.name}: ${err.message}${cause}`;
  }
  return String(err);
}
