import type { CryptoKey } from 'jose';
import { AuthError, AuthReason, ServiceUnavailableError, UnavailableReason } from '../../errors.js';
import type { CachedKeySet } from '../../store/types.js';
import { sleep, systemClock, withTimeout, type Clock } from './clock.js';
import { fetchJwks } from './fetch-jwks.js';
import { keySetUrlProblem } from '../../config/key-set-url.js';
import { freshnessOf, issuerOf, jwksUriOf, rsaKeysOf } from './jwks.js';
import { LocalKeySet, type KeySet } from './key-set.js';
import { consoleWarnings, describeError, resolveTunables, type KeySetCacheOptions, type KeySetEvent, type KeySetLogger, type KeySetStats, type KeySetTunables } from './options.js';
import { SharedKeySetStore } from './shared-store.js';

/** Becomes part of a Redis key and lock names: chosen by code, never by a client. */
const PROVIDER_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * One identity provider's signing keys (Google's, Apple's, …), resolved by `kid`:
 *
 *   in-process set (fresh) → shared cache (`jwks:<provider>`) → the provider's JWKS endpoint.
 *
 * - One fetch at a time per process (single-flight) and, across instances, a shared lock: of N
 *   instances starting cold, one fetches and the others pick its result up from the shared cache.
 * - Freshness comes from the provider's `Cache-Control: max-age` (bounded). Past it, keys remain
 *   usable for a bounded stale grace while the provider cannot be reached, and are refreshed in
 *   the background meanwhile (stale-while-revalidate).
 * - An unknown `kid` while the keys are fresh refetches at most once per cooldown across all
 *   instances (a shared cooldown lock + a local timestamp), so made-up kids cannot turn into a
 *   flood of requests to the provider.
 * - Failures are remembered for a few seconds, so while the provider is down requests fail (or
 *   use stale keys) at once instead of each waiting for the timeout; with no usable keys at all a
 *   request waits at most `keyWaitMs` for the fetch in flight.
 *
 * jose's `createRemoteJWKSet` is the model (single-flight reload, cooldown on unknown kids); it
 * is not used directly because it has none of the above that is shared across instances, no
 * failure back-off or stale grace, reads time from `Date.now`, and does not cap the body size.
 *
 * Nothing here logs or sees a token; the `kid` (attacker-chosen) is not logged either.
 *
 * (About 330 lines: the states above — fresh, stale, failing, cooling down, discovery — share
 * one refresh path and its lock, so they stay in one class; fetching, parsing and the shared
 * record are in their own modules beside it.)
 */
export class KeySetCache {
  readonly provider: string;
  /** Counters for tests and metrics (mutated in place; read-only to callers). */
  readonly stats: Readonly<KeySetStats>;

  readonly #stats: KeySetStats = { fetches: 0, fetchFailures: 0, sharedCacheHits: 0, unknownKidRefetches: 0, staleServed: 0, unavailable: 0 };
  readonly #o: Readonly<KeySetTunables>;
  readonly #name: string;
  readonly #uri: string;
  /** True when `#uri` is a discovery document (naming the issuer and the key set), not a key set. */
  readonly #discovery: boolean;
  readonly #clock: Clock;
  readonly #logger: KeySetLogger;
  readonly #fetch: typeof globalThis.fetch;
  readonly #onEvent: ((event: KeySetEvent) => void) | undefined;
  readonly #shared: SharedKeySetStore;
  readonly #local = new LocalKeySet();
  /** Aborted by `close()`: a fetch in flight stops, none starts. */
  readonly #closing = new AbortController();

  #inflight: Promise<KeySet> | null = null;
  #failedUntil = -Infinity;
  #lastUnknownKidFetchAt = -Infinity;
  #lastSharedRecheckAt = -Infinity;

  constructor(options: KeySetCacheOptions) {
    if (!PROVIDER_NAME.test(options.provider)) throw new TypeError(`key cache: invalid provider name "${options.provider}"`);
    this.provider = options.provider;
    this.#name = options.displayName ?? options.provider;
    this.#o = resolveTunables(options);
    const uri = options.discoveryUri ?? options.jwksUri;
    if (uri === undefined || (options.discoveryUri !== undefined && options.jwksUri !== undefined)) throw new TypeError('key cache: give either jwksUri or discoveryUri');
    this.#uri = new URL(uri).href;
    this.#discovery = options.discoveryUri !== undefined;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? consoleWarnings;
    const fetchImpl = options.fetch ?? globalThis.fetch;
    this.#fetch = (input, init) => fetchImpl(input, init);
    this.#onEvent = options.onEvent;
    const { provider, store, locks } = options;
    const { storeTimeoutMs: timeoutMs, storeWarningIntervalMs: warningIntervalMs } = this.#o;
    this.#shared = new SharedKeySetStore({ provider, store, locks, clock: this.#clock, logger: this.#logger, timeoutMs, warningIntervalMs });
    this.stats = this.#stats;
  }

  /**
   * The verification key for `kid`.
   * @throws AuthError `unknown_key` when the provider has no key with this kid (after at most one refetch per cooldown).
   * @throws ServiceUnavailableError `keys_unavailable` when no usable keys exist (never fetched, provider unreachable).
   */
  async getKey(kid: string): Promise<CryptoKey> {
    return (await this.getKeyOfSet(kid)).key;
  }

  /**
   * `getKey`, with the issuer the discovery document named alongside that key (null for a
   * plain key set): both come from one record, so a key and an issuer from different
   * fetches are never paired.
   */
  async getKeyOfSet(kid: string): Promise<{ key: CryptoKey; issuer: string | null }> {
    let set = this.#local.current;
    if (!set || !this.#isFresh(set)) {
      const staleKey = set && this.#isUsable(set) ? set.keys.get(kid) : undefined;
      if (staleKey) {
        // Stale-while-revalidate: within the grace period the key is still the provider's;
        // refresh in the background (unless a failure is remembered) instead of making this
        // request wait.
        this.#count('staleServed');
        if (!this.#inflight && this.#clock.now() >= this.#failedUntil) this.#refresh(false).catch(() => undefined);
        return { key: staleKey, issuer: set!.issuer };
      }
      set = await this.#waitForRefresh();
    }
    const key = set.keys.get(kid);
    if (key) return { key, issuer: set.issuer };
    const refreshed = await this.#refreshForUnknownKid(set, kid);
    const found = refreshed.keys.get(kid);
    if (found) return { key: found, issuer: refreshed.issuer };
    throw new AuthError(AuthReason.UNKNOWN_KEY);
  }

  /** Loads keys ahead of the first token. True when usable keys are available; never throws. */
  async warm(): Promise<boolean> {
    try {
      const set = this.#local.current && this.#isFresh(this.#local.current) ? this.#local.current : await this.#refresh(false);
      return this.#isUsable(set);
    } catch {
      return false;
    }
  }

  /** Resolves when no refresh is in flight (tests' flush hook; `close`). */
  async settled(): Promise<void> {
    while (this.#inflight) await this.#inflight.catch(() => undefined);
  }

  /** Shutdown: aborts a fetch in flight, starts none, resolves once nothing is in flight (so nothing writes to a closing store). */
  async close(): Promise<void> {
    this.#closing.abort();
    await this.settled();
  }

  #count(event: KeySetEvent): void {
    this.#stats[event]++;
    this.#onEvent?.(event);
  }

  #isFresh(set: { expiresAt: number }): boolean {
    return this.#clock.now() < set.expiresAt;
  }

  #isUsable(set: { expiresAt: number }): boolean {
    return this.#clock.now() < set.expiresAt + this.#o.staleGraceMs;
  }

  /** The shared refresh, waited for at most `keyWaitMs` (see there). */
  #waitForRefresh(): Promise<KeySet> {
    return withTimeout(this.#clock, this.#refresh(false), this.#o.keyWaitMs, () => {
      this.#count('unavailable');
      return new ServiceUnavailableError(UnavailableReason.KEYS_UNAVAILABLE);
    });
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
   * then the provider under the shared fetch lock. Falls back to usable stale keys on failure.
   */
  async #load(force: boolean): Promise<KeySet> {
    if (!force) {
      const cached = await this.#shared.read();
      const current = cached ? await this.#local.adopt(cached) : this.#local.current;
      if (current && this.#isFresh(current)) {
        this.#count('sharedCacheHits');
        return current;
      }
    }
    if (this.#closing.signal.aborted || this.#clock.now() < this.#failedUntil) return this.#fallback();

    const baseline = this.#local.current?.fetchedAt ?? -Infinity;
    let locked = await this.#shared.acquire(this.#shared.fetchLock, this.#o.fetchLockTtlMs, true);
    try {
      if (!locked) {
        const waited = await this.#awaitWinner(baseline);
        if ('published' in waited) return waited.published;
        locked = waited.locked;
      }
      // Double-checked: the previous holder may have published just before we took the lock.
      const published = await this.#newerShared(baseline);
      if (published) return published;

      const record = await this.#fetchFromProvider();
      const set = await this.#local.replace(record);
      if (!set) throw new Error('none of the keys could be imported');
      await this.#shared.write(record, record.expiresAt - record.fetchedAt + this.#o.staleGraceMs);
      return set;
    } catch (err) {
      if (this.#closing.signal.aborted) return this.#fallback();
      this.#count('fetchFailures');
      this.#failedUntil = this.#clock.now() + this.#o.failureBackoffMs;
      this.#warnFetchFailed(err);
      return this.#fallback();
    } finally {
      if (locked) await this.#shared.release(this.#shared.fetchLock);
    }
  }

  /**
   * Another instance holds the fetch lock: wait (at most `lockWaitMs`) for its key set to
   * appear in the shared cache. When the lock comes free without a new set, the winner failed:
   * take the lock and fetch ourselves; when the wait ends, fetch anyway (without the lock).
   */
  async #awaitWinner(baseline: number): Promise<{ published: KeySet } | { locked: boolean }> {
    const rounds = Math.max(1, Math.ceil(this.#o.lockWaitMs / this.#o.lockPollMs));
    for (let i = 0; i < rounds; i++) {
      await sleep(this.#clock, this.#o.lockPollMs);
      const published = await this.#newerShared(baseline);
      if (published) return { published };
      if (await this.#shared.acquire(this.#shared.fetchLock, this.#o.fetchLockTtlMs, false)) return { locked: true };
    }
    return { locked: false };
  }

  #fallback(): KeySet {
    const local = this.#local.current;
    if (local && this.#isUsable(local)) return local;
    this.#count('unavailable');
    throw new ServiceUnavailableError(UnavailableReason.KEYS_UNAVAILABLE);
  }

  /** A key set another instance published after `baseline`, adopted; else null. */
  async #newerShared(baseline: number): Promise<KeySet | null> {
    const cached = await this.#shared.read();
    if (!cached || cached.fetchedAt <= baseline || !this.#isUsable(cached)) return null;
    const set = await this.#local.adopt(cached);
    if (set && set.fetchedAt > baseline) {
      this.#count('sharedCacheHits');
      return set;
    }
    return null;
  }

  /**
   * The token's kid is not in a usable set: maybe the provider rotated. Use the shared set when
   * another instance already refetched (it is newer, or it has this kid: timestamps from
   * different hosts may be skewed), else refetch, at most once per cooldown (locally and
   * across instances).
   */
  async #refreshForUnknownKid(set: KeySet, kid: string): Promise<KeySet> {
    const now = this.#clock.now();
    if (now < this.#failedUntil) return set;
    if (now - this.#lastSharedRecheckAt >= this.#o.sharedRecheckMs) {
      this.#lastSharedRecheckAt = now;
      const cached = await this.#shared.read();
      if (cached && this.#isUsable(cached) && (cached.fetchedAt > set.fetchedAt || cached.jwks.keys.some((k) => k.kid === kid))) {
        const adopted = await this.#local.adopt(cached, true);
        if (adopted?.keys.has(kid)) {
          this.#count('sharedCacheHits');
          return adopted;
        }
      }
    }
    const latest = this.#local.current ?? set;
    // Checked and set with no await in between: concurrent unknown kids in this process pass one at a time.
    if (this.#clock.now() - this.#lastUnknownKidFetchAt < this.#o.cooldownMs) return latest;
    this.#lastUnknownKidFetchAt = this.#clock.now();
    if (!(await this.#shared.acquire(this.#shared.cooldownLock, this.#o.cooldownMs, true))) return this.#local.current ?? latest;
    this.#count('unknownKidRefetches');
    try {
      return await this.#refresh(true);
    } catch {
      return this.#local.current ?? latest;
    }
  }

  async #fetchFromProvider(): Promise<CachedKeySet> {
    this.#count('fetches');
    const get = (url: string) =>
      fetchJwks(url, { fetch: this.#fetch, clock: this.#clock, timeoutMs: this.#o.timeoutMs, maxBodyBytes: this.#o.maxBodyBytes, signal: this.#closing.signal });
    let issuer: string | undefined;
    let jwksUri = this.#uri;
    let freshness = Infinity;
    if (this.#discovery) {
      // The discovery document names the issuer and where the keys are: both are trusted only
      // as far as the document's origin is, so the key set's URL must meet the configured
      // URLs' rule (https, http only on loopback), and a document without both is no document.
      const doc = await get(this.#uri);
      issuer = issuerOf(doc.body) ?? undefined;
      const named = jwksUriOf(doc.body);
      if (!issuer || !named) throw new Error('the discovery document lacks a usable issuer or jwks_uri');
      const problem = keySetUrlProblem(named);
      if (problem) throw new Error(`the discovery document's jwks_uri ${problem}`);
      jwksUri = new URL(named).href;
      freshness = freshnessOf(doc.headers, this.#o);
    }
    const { body, headers } = await get(jwksUri);
    const keys = rsaKeysOf(body);
    if (keys.length === 0) throw new Error('the response holds no usable RS256 keys');
    freshness = Math.min(freshness, freshnessOf(headers, this.#o));
    const fetchedAt = this.#clock.now();
    if (this.#discovery) {
      this.#logger.info({ provider: this.provider, discoveryUri: this.#uri, jwksUri, keys: keys.length, freshnessMs: freshness }, `Fetched ${this.#name} signing keys`);
      return { jwks: { keys }, fetchedAt, expiresAt: fetchedAt + freshness, issuer };
    }
    this.#logger.info({ provider: this.provider, jwksUri: this.#uri, keys: keys.length, freshnessMs: freshness }, `Fetched ${this.#name} signing keys`);
    return { jwks: { keys }, fetchedAt, expiresAt: fetchedAt + freshness };
  }

  #warnFetchFailed(err: unknown): void {
    const local = this.#local.current;
    const usable = local && this.#isUsable(local) ? local : null;
    this.#logger.warn(
      {
        provider: this.provider,
        [this.#discovery ? 'discoveryUri' : 'jwksUri']: this.#uri,
        error: describeError(err),
        retryInMs: this.#o.failureBackoffMs,
        staleKeysUsableUntil: usable ? new Date(usable.expiresAt + this.#o.staleGraceMs).toISOString() : null,
      },
      usable
        ? `Fetching ${this.#name} signing keys failed; verifying with the last good keys`
        : `Fetching ${this.#name} signing keys failed and no usable keys are cached; ${this.#discovery ? `what ${this.#name} signs cannot be verified` : `${this.#name} sign-in is unavailable`}`,
    );
  }
}
