import type { CachedKeySet, KeySetStore, LockStore } from '../../store/types.js';
import { withTimeout, type Clock } from './clock.js';
import { parseCachedKeySet } from './jwks.js';
import { describeError, type KeySetLogger } from './options.js';

/**
 * One provider's record in the shared store (`jwks:<provider>`) and its cross-instance locks
 * (`<provider>-jwks-fetch`, `<provider>-jwks-cooldown`).
 *
 * The shared cache is an optimisation, never a dependency: every call is bounded by
 * `timeoutMs`, and a failure (Redis down, stalled, a corrupt record) degrades to "this
 * instance works alone". Failures are logged at most once per `warningIntervalMs`.
 */
export interface SharedKeySetStoreOptions {
  provider: string;
  store: KeySetStore;
  locks: LockStore;
  clock: Clock;
  logger: KeySetLogger;
  timeoutMs: number;
  warningIntervalMs: number;
}

export class SharedKeySetStore {
  /** Held by the one instance fetching the provider's keys. */
  readonly fetchLock: string;
  /** Spaces unknown-`kid` refetches across every instance. */
  readonly cooldownLock: string;

  readonly #o: SharedKeySetStoreOptions;
  /** Concurrent reads in this process share one store call. */
  #reading: Promise<CachedKeySet | null> | null = null;
  #warnedAt = -Infinity;

  constructor(options: SharedKeySetStoreOptions) {
    this.#o = options;
    this.fetchLock = `${options.provider}-jwks-fetch`;
    this.cooldownLock = `${options.provider}-jwks-cooldown`;
  }

  /** The validated shared record, or null (absent, corrupt, or the store failed). */
  read(): Promise<CachedKeySet | null> {
    this.#reading ??= this.#bounded(this.#o.store.get(this.#o.provider), 'read the shared key cache')
      .then(parseCachedKeySet, () => null)
      .finally(() => {
        this.#reading = null;
      });
    return this.#reading;
  }

  /** Publishes `record` for `ttlMs`; a failure is logged and otherwise ignored. */
  async write(record: CachedKeySet, ttlMs: number): Promise<void> {
    await this.#bounded(this.#o.store.put(this.#o.provider, record, ttlMs), 'write the shared key cache').catch(() => undefined);
  }

  /**
   * True when this caller now holds `name` for `ttlMs`. On store trouble `onError` decides:
   * true = proceed as if we held it (availability first: at worst several instances fetch).
   */
  async acquire(name: string, ttlMs: number, onError: boolean): Promise<boolean> {
    return this.#bounded(this.#o.locks.acquire(name, ttlMs), `acquire ${name}`).catch(() => onError);
  }

  async release(name: string): Promise<void> {
    await this.#bounded(this.#o.locks.release(name), `release ${name}`).catch(() => undefined);
  }

  #bounded<T>(op: Promise<T>, what: string): Promise<T> {
    const { clock, timeoutMs } = this.#o;
    return withTimeout(clock, op, timeoutMs, () => new Error(`timed out after ${timeoutMs} ms`)).catch((err: unknown) => {
      if (clock.now() - this.#warnedAt >= this.#o.warningIntervalMs) {
        this.#warnedAt = clock.now();
        this.#o.logger.warn({ provider: this.#o.provider, error: describeError(err) }, `Could not ${what}; continuing without it`);
      }
      throw err;
    });
  }
}
