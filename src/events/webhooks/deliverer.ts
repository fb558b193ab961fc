import { hostname } from 'node:os';
import { randomId } from '../../sessions/ids.js';
import type { DeliveryRecord, DeliveryStore, StreamDelivery } from '../../store/types.js';
import type { DeliveryOutcome } from '../../metrics/webhook-metrics.js';
import type { AccountEvent } from '../event.js';
import { endpoint, type Endpoint } from './endpoint.js';
import { nextAttempt, type RetryRules } from './retry-policy.js';
import { DeliveryAborted, WebhookSender } from './sender.js';

/** At most this many attempts in flight per endpoint and instance: a slow endpoint holds only its own slots. */
export const MAX_IN_FLIGHT_PER_ENDPOINT = 8;
/** How often each instance looks for new events and due retries (and at start). */
export const POLL_MS = 500;
/** On shutdown, attempts in flight get this long to finish; the rest are aborted (another instance retries them). */
const CLOSE_GRACE_MS = 2_000;
/** Consumers (instances) gone this long with nothing pending are removed from the endpoint's group. */
const CONSUMER_EXPIRY_MS = 24 * 3_600_000;
/** Warnings about one failing endpoint: at most one per this period (the metrics count every attempt). */
const WARN_EVERY_MS = 10_000;

export interface WebhookDelivererOptions {
  store: DeliveryStore;
  endpoints: readonly string[];
  secret: string;
  /** WEBHOOK_TIMEOUT */
  timeoutMs: number;
  retry: RetryRules;
  /**
   * Clock for the retry schedule (tests move it). Signatures carry the wall clock: the
   * timestamp is when the request is sent, and receivers compare it with their own.
   */
  now: () => number;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  count?: (endpoint: string, outcome: DeliveryOutcome, n?: number) => void;
  fetch?: typeof fetch;
  /** Poll period (default POLL_MS); 0: no timer, only `flush` (tests that step it by hand). */
  pollMs?: number;
}

/**
 * Delivers account events to the webhook endpoints (WEBHOOK_ENDPOINTS), at least once, from
 * every gateway instance at once without two of them sending the same event at the same time:
 *
 * - New events: each endpoint has its own consumer group on the event stream; an event goes to
 *   one instance (XREADGROUP), which attempts it and acknowledges it. An instance that dies
 *   before acknowledging leaves it pending; another takes it over (XAUTOCLAIM) once it has been
 *   idle for the lease, twice WEBHOOK_TIMEOUT: longer than any live attempt can take.
 * - Failures become retries (src/events/webhooks/retry-policy.ts: exponential backoff for at
 *   least WEBHOOK_RETRY_FOR), each leased to one instance while it is attempted; then they are
 *   kept as failed, visible and replayable (`npm run events`), never dropped.
 * - Endpoints are independent: each has its own group, retries and at most
 *   MAX_IN_FLIGHT_PER_ENDPOINT attempts in flight per instance, each bounded by WEBHOOK_TIMEOUT,
 *   so a slow or dead endpoint delays nobody else, and requests never wait for a delivery.
 *
 * Everything it needs survives a restart of every instance and of Redis (AOF): the stream, the
 * groups' pending lists, the retries and the failed records all live in Redis.
 */
export class WebhookDeliverer {
  private readonly workers: EndpointWorker[];
  private timer: NodeJS.Timeout | null = null;
  private readonly shutdown = new AbortController();

  constructor(private readonly opts: WebhookDelivererOptions) {
    const sender = new WebhookSender(opts.secret, opts.timeoutMs, opts.fetch);
    // One consumer name per process lifetime: a restarted instance is a new consumer, and the old one's pending events are claimed like any dead instance's.
    const consumer = `${hostname()}:${process.pid}:${randomId().slice(0, 8)}`;
    this.workers = opts.endpoints.map((url) => new EndpointWorker(endpoint(url), consumer, sender, opts, this.shutdown.signal));
  }

  /** The endpoints (ids and origins), for metrics and logs. */
  get endpoints(): readonly Endpoint[] {
    return this.workers.map((w) => w.ep);
  }

  /** Creates the endpoints' consumer groups, then polls every `pollMs`. */
  async start(): Promise<void> {
    for (const w of this.workers) await this.opts.store.ensureGroup(w.ep.id);
    const every = this.opts.pollMs ?? POLL_MS;
    if (every > 0) {
      this.timer = setInterval(() => {
        for (const w of this.workers) w.poll();
      }, every);
      this.timer.unref();
    }
    for (const w of this.workers) w.poll();
  }

  /** One poll of every endpoint now, and every attempt it starts, awaited (tests). */
  async flush(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.flush()));
  }

  /** Resolves once the polls and attempts started so far have finished (`Gateway.settled()`). */
  async settled(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.settled()));
  }

  /** Stops polling; attempts in flight get CLOSE_GRACE_MS, the rest are aborted and left to another instance. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const w of this.workers) w.closed = true;
    const grace = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
    await Promise.race([this.settled(), grace]);
    this.shutdown.abort();
    await this.settled();
  }
}

class EndpointWorker {
  closed = false;
  private polling: Promise<void> | null = null;
  private readonly attempts = new Set<Promise<void>>();
  private lastStaleClaim = -Infinity;
  private lastPrune = -Infinity;
  private lastWarn = -Infinity;

  constructor(
    readonly ep: Endpoint,
    private readonly consumer: string,
    private readonly sender: WebhookSender,
    private readonly opts: WebhookDelivererOptions,
    private readonly shutdown: AbortSignal,
  ) {}

  /** Twice the attempt timeout: no live attempt is still running when its lease runs out. */
  private get leaseMs(): number {
    return 2 * this.opts.timeoutMs;
  }

  /** Starts a poll unless one is running. */
  poll(): void {
    if (this.closed || this.polling) return;
    this.polling = this.runPoll()
      .catch((err: unknown) => this.warn({ err }, 'webhook poll failed; retrying at the next poll'))
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
    const { store } = this.opts;
    const id = this.ep.id;
    const free = () => MAX_IN_FLIGHT_PER_ENDPOINT - this.attempts.size;
    const wall = Date.now();
    if (free() > 0 && wall - this.lastStaleClaim >= this.leaseMs / 2) {
      this.lastStaleClaim = wall;
      const claimed = await store.claimStale(id, this.consumer, this.leaseMs, free());
      if (claimed.length > 0) this.opts.count?.(id, 'claimed', claimed.length);
      for (const d of claimed) this.start(this.first(d, true));
    }
    if (free() > 0) for (const d of await store.readNew(id, this.consumer, free())) this.start(this.first(d, false));
    if (free() > 0) {
      const now = this.opts.now();
      for (const due of await store.claimDue(id, now, now + this.leaseMs, free())) this.start(this.retry(due.record, due.lease));
    }
    if (wall - this.lastPrune >= CONSUMER_EXPIRY_MS / 24) {
      this.lastPrune = wall;
      await store.pruneConsumers(id, CONSUMER_EXPIRY_MS);
    }
  }

  private start(attempt: Promise<void>): void {
    const tracked: Promise<void> = attempt
      .catch((err: unknown) => {
        if (!(err instanceof DeliveryAborted)) this.warn({ err }, 'recording a webhook attempt failed; the event will be attempted again');
      })
      .finally(() => this.attempts.delete(tracked));
    this.attempts.add(tracked);
  }

  /** A first attempt (from the stream); `claimed`: taken over from a dead instance, which may have left a retry record too. */
  private async first(d: StreamDelivery, claimed: boolean): Promise<void> {
    const startedAt = this.opts.now();
    const result = await this.sender.send(this.ep, d.event, Date.now(), this.shutdown);
    if (result.ok) {
      if (claimed) await this.opts.store.settle(this.ep.id, d.event.id, null, { kind: 'delivered' });
      this.opts.count?.(this.ep.id, 'delivered');
    } else {
      await this.failed({ event: d.event, attempts: 1, firstAttemptAt: startedAt, lastAttemptAt: startedAt, lastError: result.error }, null);
    }
    // Acknowledged only once its outcome is recorded: a crash in between repeats the attempt, never loses it.
    await this.opts.store.ack(this.ep.id, [d.streamId]);
  }

  private async retry(record: DeliveryRecord, lease: number): Promise<void> {
    const startedAt = this.opts.now();
    const result = await this.sender.send(this.ep, record.event, Date.now(), this.shutdown);
    const attempts = record.attempts + 1;
    if (result.ok) {
      if (await this.opts.store.settle(this.ep.id, record.event.id, lease, { kind: 'delivered' })) this.opts.count?.(this.ep.id, 'delivered');
    } else {
      await this.failed({ ...record, attempts, lastAttemptAt: startedAt, lastError: result.error }, lease);
    }
  }

  /** Schedules the next attempt, or gives up (kept as failed), per nextAttempt(). */
  private async failed(record: DeliveryRecord, lease: number | null): Promise<void> {
    const next = nextAttempt(record.attempts, record.firstAttemptAt, this.opts.now(), this.opts.retry);
    const ev = describe(this.ep, record.event, record);
    if (next.kind === 'retry') {
      if (!(await this.opts.store.settle(this.ep.id, record.event.id, lease, { kind: 'retry', record, at: next.at }))) return;
      this.opts.count?.(this.ep.id, 'retry');
      this.warn({ ...ev, retryAt: new Date(next.at).toISOString() }, 'webhook delivery failed; it will be retried');
    } else {
      if (!(await this.opts.store.settle(this.ep.id, record.event.id, lease, { kind: 'failed', record }))) return;
      this.opts.count?.(this.ep.id, 'failed');
      this.opts.log.error(ev, 'webhook delivery gave up after WEBHOOK_RETRY_FOR; kept as failed (npm run events -- failed; replay to send it again)');
    }
  }

  private warn(obj: object, msg: string): void {
    const wall = Date.now();
    if (wall - this.lastWarn < WARN_EVERY_MS) return;
    this.lastWarn = wall;
    this.opts.log.warn({ endpoint: this.ep.id, origin: this.ep.origin, ...obj }, msg);
  }
}

/** What a log line says about a delivery: ids, type, attempts, the error; never the URL's path, the body or the secret. */
function describe(ep: Endpoint, event: AccountEvent, record: DeliveryRecord): object {
  return { endpoint: ep.id, origin: ep.origin, eventId: event.id, eventType: event.type, attempts: record.attempts, error: record.lastError };
}
