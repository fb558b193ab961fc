import { RequestBatch, afterPromiseJobs } from '../util/turn-batch.js';

/**
 * A per-request batching loader (the DataLoader idea, in the few lines we need): every
 * `load(key)` made while a request resolves one level of its query is collected and
 * answered by one call to `batch(keys)`. The router asks for N entities in one `_entities`
 * field, graphql-js calls `__resolveReference` N times, and this turns those N calls into
 * one store read (one Redis round trip).
 *
 * Unlike the other per-turn batchers it memoises, and it flushes after the promise jobs of the
 * current tick (`afterPromiseJobs`), not after the event-loop turn: it batches one request's
 * resolvers, which all run in that tick, and must not hold the request for a turn.
 *
 * Create one per request (in the GraphQL context): results are memoised per key for the
 * life of the loader, which is only correct while the data cannot change under it.
 */
export type BatchFn<K, V> = (keys: readonly K[]) => Promise<readonly V[]>;

export class BatchLoader<K, V> {
  private readonly memo = new Map<K, Promise<V>>();
  private readonly batch: RequestBatch<K, V>;

  constructor(batch: BatchFn<K, V>) {
    this.batch = new RequestBatch<K, V>(async (jobs) => {
      const values = await batch(jobs.map((job) => job.input));
      if (values.length !== jobs.length) throw new Error(`batch function returned ${values.length} values for ${jobs.length} keys`);
      jobs.forEach((job, i) => job.resolve(values[i] as V));
    }, afterPromiseJobs);
  }

  load(key: K): Promise<V> {
    const known = this.memo.get(key);
    if (known) return known;
    // A key already remembered is never asked again, so a batch holds each key once.
    const promise = this.batch.request(key);
    this.memo.set(key, promise);
    // A failed read is not remembered: a later load in the same request may retry it. (This
    // handler is attached first, so it runs before the caller's.)
    promise.catch(() => {
      if (this.memo.get(key) === promise) this.memo.delete(key);
    });
    return promise;
  }
}
