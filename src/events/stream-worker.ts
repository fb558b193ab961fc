import type { DeliveryRecord, DeliveryStore, StreamDelivery } from '../store/types.js';
import type { AccountEvent } from './event.js';
import { nextAttempt, type RetryRules } from './retry-policy.js';

/**
 * One consumer of the account event stream with durable retries: the part the webhook deliverer
 * (src/events/webhooks/deliverer.ts, one worker per endpoint) and the Apple token revoker
 * (src/identity/apple/revoker.ts) share. What it does with an event is its `attempt`.
 *
 * - New events: the consumer's own group on the stream; an event goes to one instance
 *   (XREADGROUP), which attempts it and acknowledges it once the outcome is recorded. An
 *   instance that dies before acknowledging leaves it pending; another takes it over
 *   (XAUTOCLAIM) once it has been idle for the lease, twice the attempt timeout: longer than
 *   any live attempt can take.
 * - Failures become retries (src/events/retry-policy.ts), each leased to one instance while it
 *   is attempted (DeliveryStore.claimDue / settle): two instances never send one at once, and
 *   any instance picks up the retries of one that died.
 * - `relevant`: a consumer that acts on few event types (the revoker) reads in larger batches
 *   and acknowledges the rest at once, so it keeps up with a busy stream.
 *
 * Everything it needs survives a restart of every instance and of Redis (AOF): the stream, the
 * group's pending list, the retries and the failed records all live in Redis.
 */

/** An attempt's outcome: done; failed, to be retried; or `drop`: failed in a way no retry can fix (forgotten, with a log and a count). */
export type AttemptResult = { ok: true } | { ok: false; error: string; drop?: boolean };

/** Thrown by an attempt the gateway's own shutdown aborted: not an outcome (another instance retries it). */
export class AttemptAborted extends Error {}

export type WorkerOutcome = 'delivered' | 'retry' | 'failed' | 'claimed' | 'dropped';

export interface StreamWorkerOptions {
  /** The consumer's id in the DeliveryStore (its group and retry keys). */
  id: string;
  store: DeliveryStore;
  /** Its name per process lifetime (a restarted instance is a new consumer). */
  consumer: string;
  /** One attempt's limit; the lease on an attempt is twice this. */
  timeoutMs: number;
  retry: RetryRules;
  now: () => number;
  /** At most this many attempts in flight per instance. */
  maxInFlight: number;
  attempt(event: AccountEvent, shutdown: AbortSignal): Promise<AttemptResult>;
  /** Events this consumer acts on; the others are acknowledged unread (default: every event). */
  relevant?(event: AccountEvent): boolean;
  count?(outcome: WorkerOutcome, n?: number): void;
  /** Log lines (rate-limited warnings); `fields` say what the line is about (never secrets). */
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  /** What a log line says about an event's delivery. */
  describe(event: AccountEvent, record: DeliveryRecord): object;
  /** Words for the log lines: `webhook delivery`, `Apple token revocation`. */
  noun: string;
}

/** Events read per round trip by a consumer with a `relevant` filter, and rounds per poll. */
const FILTERED_BATCH = 200;
const FILTERED_ROUNDS = 20;
/** Consumers (instances) gone this long with nothing pending are removed from the group. */
const CONSUMER_EXPIRY_MS = 24 * 3_600_000;
/** Warnings: at most one per this period (the metrics count every attempt). */
const WARN_EVERY_MS = 10_000;

export class StreamWorker {
  closed = false;
  private polling: Promise<void> | null = null;
  private readonly attempts = new Set<Promise<void>>();
  private lastStaleClaim = -Infinity;
  private lastPrune = -Infinity;
  private lastWarn = -Infinity;

  constructor(
    private readonly o: StreamWorkerOptions,
    private readonly shutdown: AbortSignal,
  ) {}

  /** Twice the attempt timeout: no live attempt is still running when its lease runs out. */
  private get leaseMs(): number {
    return 2 * this.o.timeoutMs;
  }

  /** Starts a poll unless one is running. */
  poll(): void {
    if (this.closed || this.polling) return;
    this.polling = this.runPoll()
      .catch((err: unknown) => this.warn({ err }, `${this.o.noun} poll failed; retrying at the next poll`))
      .finally(() => (this.polling = null));
  }

  async flush(): Promise<void> {
    await this.polling;
    this.poll();
    await this.settled();
  }

  async settled(): Promise<void> {
    await this.polling;
    while (this.attempts.size > 0) await Promise.all([...this.attempts]);
  }

  private async runPoll(): Promise<void> {
    const { store, id } = this.o;
    const free = () => this.o.maxInFlight - this.attempts.size;
    const wall = Date.now();
    if (free() > 0 && wall - this.lastStaleClaim >= this.leaseMs / 2) {
      this.lastStaleClaim = wall;
      const claimed = await this.take(await store.claimStale(id, this.o.consumer, this.leaseMs, this.o.relevant ? FILTERED_BATCH : free()));
      if (claimed.length > 0) this.o.count?.('claimed', claimed.length);
      for (const d of claimed) this.start(this.first(d, true));
    }
    if (this.o.relevant) {
      // Few events matter here: read them all, attempt the relevant (rare) ones whatever the slots.
      for (let round = 0; round < FILTERED_ROUNDS; round++) {
        const batch = await store.readNew(id, this.o.consumer, FILTERED_BATCH);
        for (const d of await this.take(batch)) this.start(this.first(d, false));
        if (batch.length < FILTERED_BATCH) break;
      }
    } else if (free() > 0) {
      for (const d of await store.readNew(id, this.o.consumer, free())) this.start(this.first(d, false));
    }
    if (free() > 0) {
      const now = this.o.now();
      for (const due of await store.claimDue(id, now, now + this.leaseMs, Math.max(free(), 1))) this.start(this.retry(due.record, due.lease));
    }
    if (wall - this.lastPrune >= CONSUMER_EXPIRY_MS / 24) {
      this.lastPrune = wall;
      await store.pruneConsumers(id, CONSUMER_EXPIRY_MS);
    }
  }

  /** The deliveries this consumer acts on; the others are acknowledged now. */
  private async take(batch: StreamDelivery[]): Promise<StreamDelivery[]> {
    const relevant = this.o.relevant;
    if (!relevant) return batch;
    const skip = batch.filter((d) => !relevant(d.event)).map((d) => d.streamId);
    await this.o.store.ack(this.o.id, skip);
    return batch.filter((d) => relevant(d.event));
  }

  private start(attempt: Promise<void>): void {
    const tracked: Promise<void> = attempt
      .catch((err: unknown) => {
        if (!(err instanceof AttemptAborted)) this.warn({ err }, `recording a ${this.o.noun} attempt failed; it will be attempted again`);
      })
      .finally(() => this.attempts.delete(tracked));
    this.attempts.add(tracked);
  }

  /** A first attempt (from the stream); `claimed`: taken over from a dead instance, which may have left a retry record too. */
  private async first(d: StreamDelivery, claimed: boolean): Promise<void> {
    const startedAt = this.o.now();
    const result = await this.o.attempt(d.event, this.shutdown);
    const record: DeliveryRecord = { event: d.event, attempts: 1, firstAttemptAt: startedAt, lastAttemptAt: startedAt, lastError: result.ok ? '' : result.error };
    if (result.ok || result.drop) {
      if (claimed) await this.o.store.settle(this.o.id, d.event.id, null, { kind: 'delivered' });
      this.done(result, record);
    } else {
      await this.failed(record, null);
    }
    // Acknowledged only once its outcome is recorded: a crash in between repeats the attempt, never loses it.
    await this.o.store.ack(this.o.id, [d.streamId]);
  }

  private async retry(stored: DeliveryRecord, lease: number): Promise<void> {
    const startedAt = this.o.now();
    const result = await this.o.attempt(stored.event, this.shutdown);
    const record = { ...stored, attempts: stored.attempts + 1, lastAttemptAt: startedAt, lastError: result.ok ? stored.lastError : result.error };
    if (result.ok || result.drop) {
      if (await this.o.store.settle(this.o.id, stored.event.id, lease, { kind: 'delivered' })) this.done(result, record);
    } else {
      await this.failed(record, lease);
    }
  }

  private done(result: AttemptResult, record: DeliveryRecord): void {
    if (result.ok) {
      this.o.count?.('delivered');
    } else {
      this.o.count?.('dropped');
      this.o.error(this.o.describe(record.event, record), `${this.o.noun} failed in a way no retry can fix; dropped`);
    }
  }

  /** Schedules the next attempt, or gives up (kept as failed), per nextAttempt(). */
  private async failed(record: DeliveryRecord, lease: number | null): Promise<void> {
    const next = nextAttempt(record.attempts, record.firstAttemptAt, this.o.now(), this.o.retry);
    const ev = this.o.describe(record.event, record);
    if (next.kind === 'retry') {
      if (!(await this.o.store.settle(this.o.id, record.event.id, lease, { kind: 'retry', record, at: next.at }))) return;
      this.o.count?.('retry');
      this.warn({ ...ev, retryAt: new Date(next.at).toISOString() }, `${this.o.noun} failed; it will be retried`);
    } else {
      if (!(await this.o.store.settle(this.o.id, record.event.id, lease, { kind: 'failed', record }))) return;
      this.o.count?.('failed');
      this.o.error(ev, `${this.o.noun} gave up after its retry window; kept as failed (npm run events -- failed; replay to send it again)`);
    }
  }

  private warn(obj: object, msg: string): void {
    const wall = Date.now();
    if (wall - this.lastWarn < WARN_EVERY_MS) return;
    this.lastWarn = wall;
    this.o.warn(obj, msg);
  }
}
