/**
 * A per-request batching loader (the DataLoader idea, in the few lines we need): every
 * `load(key)` made while a request resolves one level of its query is collected and
 * answered by one call to `batch(keys)`. The router asks for N entities in one `_entities`
 * field, graphql-js calls `__resolveReference` N times, and this turns those N calls into
 * one store read (one Redis round trip).
 *
 * Create one per request (in the GraphQL context): results are memoised per key for the
 * life of the loader, which is only correct while the data cannot change under it.
 */
export type BatchFn<K, V> = (keys: readonly K[]) => Promise<readonly V[]>;

interface Pending<V> {
  resolve(value: V): void;
  reject(err: unknown): void;
}

export class BatchLoader<K, V> {
  private readonly memo = new Map<K, Promise<V>>();
  private queue = new Map<K, Pending<V>>();

  constructor(private readonly batch: BatchFn<K, V>) {}

  load(key: K): Promise<V> {
    const known = this.memo.get(key);
    if (known) return known;
    const promise = new Promise<V>((resolve, reject) => {
      if (this.queue.size === 0) scheduleAfterPromiseJobs(() => this.dispatch());
      this.queue.set(key, { resolve, reject });
    });
    this.memo.set(key, promise);
    return promise;
  }

  private dispatch(): void {
    const pending = this.queue;
    this.queue = new Map();
    const keys = [...pending.keys()];
    const failAll = (err: unknown) => {
      // A failed read is not remembered: a later load in the same request may retry it.
      for (const [key, p] of pending) {
        this.memo.delete(key);
        p.reject(err);
      }
    };
    this.batch(keys).then((values) => {
      if (values.length !== keys.length) {
        failAll(new Error(`batch function returned ${values.length} values for ${keys.length} keys`));
        return;
      }
      keys.forEach((key, i) => pending.get(key)!.resolve(values[i] as V));
    }, failAll);
  }
}

/**
 * Runs `fn` once the promise jobs queued so far have run, then one `nextTick` later (the
 * order DataLoader uses). graphql-js resolves sibling fields and list items through promise
 * jobs, so loads issued by all of them, even a few `await`s deep, land in the same batch;
 * the batch still goes out before any timer or I/O callback, so waiting adds no latency.
 */
function scheduleAfterPromiseJobs(fn: () => void): void {
  void Promise.resolve().then(() => process.nextTick(fn));
}
