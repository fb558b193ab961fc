import type { SessionActivityStore } from '../store/types.js';

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
   * Sessions recorded in this event-loop turn, by bucket: written together (one PFADD per
   * bucket) instead of two commands per sign-in or refresh (docs/benchmarks.md).
   */
  private pending = new Map<number, Set<string>>();

  constructor(private readonly opts: SessionActivityOptions) {
    this.bucketMs = Math.max(MIN_BUCKET_MS, Math.ceil(opts.windowMs / MAX_BUCKETS_PER_WINDOW));
    this.now = opts.now ?? Date.now;
  }

  /** Notes that a session obtained an access token now. Never throws, never delays the caller. */
  record(sessionId: string): void {
    const bucket = Math.floor(this.now() / this.bucketMs);
    if (this.pending.size === 0) setImmediate(this.flush);
    let ids = this.pending.get(bucket);
    if (!ids) this.pending.set(bucket, (ids = new Set()));
    ids.add(sessionId);
  }

  private readonly flush = (): void => {
    const pending = this.pending;
    this.pending = new Map();
    for (const [bucket, ids] of pending) {
      // The bucket is counted while it overlaps the window: until its end plus the window.
      const expiresAt = (bucket + 1) * this.bucketMs + this.opts.windowMs;
      this.opts.store.record(bucket, [...ids], expiresAt).catch((err: unknown) => this.opts.onError?.(err));
    }
  };

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
