import type { SessionActivityStore } from '../store/types.js';
import { TurnBatch } from '../util/turn-batch.js';

/**
 * "Active sessions", estimated: distinct sessions that signed in or refreshed within the last
 * `windowMs` (the access-token lifetime). A client that keeps using the API must refresh at
 * least once per access-token lifetime, so this counts the sessions that may hold a usable
 * access token right now. Counting every session record instead would need a SCAN over the
 * whole keyspace (on every Cluster shard); counting requests would need a write per request.
 *
 * Time is cut into at most ~30 buckets per window (at least one minute each), so the count
 * reads a bounded number of records and the window is exact to one bucket.
 */
const MAX_BUCKETS_PER_WINDOW = 30;
const MIN_BUCKET_MS = 60_000;

export interface SessionActivityOptions {
  store: SessionActivityStore;
  windowMs: number;
  now?: () => number;
  /** Recording is fire-and-forget: its failures are reported here, never to the request. */
  onError?: (err: unknown) => void;
}

export class SessionActivity {
  readonly bucketMs: number;
  private readonly now: () => number;
  /**
   * Sessions recorded within one event-loop turn are written together, one store call per
   * bucket (a `PFADD` and its `PEXPIREAT`), not per sign-in or refresh: the write is off the
   * request's path, and what batching saves is client and Redis CPU (docs/benchmarks.md,
   * change 6).
   */
  private readonly writes: TurnBatch<[bucket: number, sessionId: string]>;

  constructor(private readonly opts: SessionActivityOptions) {
    this.bucketMs = Math.max(MIN_BUCKET_MS, Math.ceil(opts.windowMs / MAX_BUCKETS_PER_WINDOW));
    this.now = opts.now ?? Date.now;
    this.writes = new TurnBatch({ flush: (records) => this.write(records), onError: (err) => this.opts.onError?.(err) });
  }

  /** Notes that a session obtained an access token now. Never throws, never delays the caller. */
  record(sessionId: string): void {
    this.writes.add([Math.floor(this.now() / this.bucketMs), sessionId]);
  }

  /** Resolves once every session recorded before the call has been written (or its failure reported). */
  settled(): Promise<void> {
    return this.writes.settled();
  }

  private write(records: readonly [number, string][]): Promise<unknown> {
    const byBucket = new Map<number, Set<string>>();
    for (const [bucket, id] of records) {
      let ids = byBucket.get(bucket);
      if (!ids) byBucket.set(bucket, (ids = new Set()));
      ids.add(id);
    }
    return Promise.all(
      [...byBucket].map(([bucket, ids]) => {
        // The bucket is counted while it overlaps the window: until its end plus the window.
        const expiresAt = (bucket + 1) * this.bucketMs + this.opts.windowMs;
        // Each bucket's failure is reported on its own; the others are still written.
        return this.opts.store.record(bucket, [...ids], expiresAt).catch((err: unknown) => this.opts.onError?.(err));
      }),
    );
  }

  /** Distinct sessions recorded within the window (to one bucket). */
  estimate(): Promise<number> {
    const now = this.now();
    const last = Math.floor(now / this.bucketMs);
    const first = Math.floor((now - this.opts.windowMs) / this.bucketMs);
    const buckets: number[] = [];
    for (let b = first; b <= last; b++) buckets.push(b);
    return this.opts.store.count(buckets);
  }
}
