/**
 * "Collect this turn, flush once": the one batching mechanism behind every per-turn batcher
 * (Redis hash reads, active-session records, log lines, the per-request user loader).
 *
 * Invariants:
 * - Everything added before a flush is scheduled goes out in that one flush, in the order added;
 *   an item added later goes out in a later flush. Nothing is flushed twice or dropped.
 * - A failed flush (a throw or a rejection) is reported once, with the items it carried, to
 *   `onError`; one flush failing never affects another.
 * - `settled()` waits for what was added before the call, never for what comes after: a test
 *   (or a shutdown) can await the background work it caused without sleeping and without
 *   waiting on a busy server's later traffic.
 */

/** When a batch goes out, given the function that sends it. */
export type Schedule = (send: () => void) => void;

/**
 * After the current turn of the event loop (`setImmediate`), not in a microtask: requests whose
 * bytes arrived in the same poll of the event loop reach the batcher in separate ticks, and
 * they should share the batch; the batch then leaves before the loop waits for I/O again.
 */
export const nextTurn: Schedule = (send) => {
  setImmediate(send);
};

/**
 * Once the promise jobs queued so far have run, then one `nextTick` later (the order the
 * `dataloader` package uses). graphql-js resolves sibling fields and list items through promise
 * jobs, so work they start, even a few `await`s deep, lands in one batch; the batch still goes
 * out before any timer or I/O callback, so waiting adds no latency.
 */
export const afterPromiseJobs: Schedule = (send) => {
  void Promise.resolve().then(() => process.nextTick(send));
};

export interface TurnBatchOptions<T> {
  /** Sends one batch; returns (or resolves) when it is done. */
  flush(items: T[]): void | Promise<unknown>;
  /** A flush that threw or rejected, with the items it carried. Must not throw, except to crash on purpose. */
  onError(err: unknown, items: readonly T[]): void;
  /** Default `nextTurn`. */
  schedule?: Schedule;
}

export class TurnBatch<T> {
  private items: T[] = [];
  private readonly schedule: Schedule;
  /** Flushes that have not finished; `settled()` waits for them. */
  private readonly running = new Set<Promise<unknown>>();
  /** `settled()` calls waiting for the batch being collected to go out; handed the flushes to wait for. */
  private waiting: ((flushes: Promise<void>) => void)[] = [];

  constructor(private readonly opts: TurnBatchOptions<T>) {
    this.schedule = opts.schedule ?? nextTurn;
  }

  /** Adds `item` to the batch being collected; the first item of a batch schedules its flush. */
  add(item: T): void {
    if (this.items.length === 0) this.schedule(this.flush);
    this.items.push(item);
  }

  /**
   * Sends what has been collected, now (for `exit` handlers and `close()`). The scheduled flush
   * then finds nothing to send. Returns without waiting for an asynchronous flush to finish.
   */
  readonly flush = (): void => {
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    const waiting = this.waiting;
    this.waiting = [];
    try {
      const done = this.opts.flush(items);
      // A callback typed `=> void` may still return a value (a stream's `write` returns a boolean).
      if (done instanceof Promise) {
        const tracked = done.then(undefined, (err: unknown) => this.opts.onError(err, items));
        this.running.add(tracked);
        void tracked.finally(() => this.running.delete(tracked));
      }
    } catch (err) {
      this.opts.onError(err, items);
    } finally {
      if (waiting.length > 0) {
        const flushes = this.runningNow();
        for (const wake of waiting) wake(flushes);
      }
    }
  };

  /** Resolves once every item added before this call has been flushed and its flush has finished. */
  settled(): Promise<void> {
    if (this.items.length === 0) return this.runningNow();
    return new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  /** The flushes running now (not those started later). */
  private runningNow(): Promise<void> {
    return Promise.all(this.running).then(() => undefined);
  }
}

/**
 * One caller's item in a `RequestBatch`: what it asked for, and how to answer it. Answering is
 * once only; a later `resolve` or `reject` of the same job is ignored.
 */
export class Job<In, Out> {
  private done = false;

  constructor(
    readonly input: In,
    private readonly onValue: (value: Out) => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  get answered(): boolean {
    return this.done;
  }

  resolve(value: Out): void {
    if (this.done) return;
    this.done = true;
    this.onValue(value);
  }

  reject(err: unknown): void {
    if (this.done) return;
    this.done = true;
    this.onError(err);
  }
}

/**
 * A `TurnBatch` of requests whose callers each wait for their own answer. `flush` answers each
 * job: an error that concerns one item goes to that item's caller only. If `flush` throws or
 * rejects, every job it had not answered is rejected with that error (a failed batch fails its
 * callers, and only them); a job it leaves unanswered is rejected, so no caller waits forever.
 */
export class RequestBatch<In, Out> {
  private readonly batch: TurnBatch<Job<In, Out>>;

  constructor(flush: (jobs: readonly Job<In, Out>[]) => void | Promise<unknown>, schedule?: Schedule) {
    this.batch = new TurnBatch<Job<In, Out>>({
      flush: async (jobs) => {
        await flush(jobs);
        for (const job of jobs) if (!job.answered) job.reject(new Error('the batch left this request unanswered'));
      },
      onError: (err, jobs) => {
        for (const job of jobs) job.reject(err);
      },
      schedule,
    });
  }

  /** Joins the batch being collected; settles with this request's own answer. */
  request(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => this.batch.add(new Job(input, resolve, reject)));
  }
}
