import { hostname } from 'node:os';
import { randomId } from '../../sessions/ids.js';
import type { DeliveryRecord, DeliveryStore } from '../../store/types.js';
import type { DeliveryOutcome } from '../../metrics/webhook-metrics.js';
import type { AccountEvent } from '../event.js';
import type { RetryRules } from '../retry-policy.js';
import { StreamWorker } from '../stream-worker.js';
import { endpoint, type Endpoint } from './endpoint.js';
import { WebhookSender } from './sender.js';

/** At most this many attempts in flight per endpoint and instance: a slow endpoint holds only its own slots. */
export const MAX_IN_FLIGHT_PER_ENDPOINT = 8;
/** How often each instance looks for new events and due retries (and at start). */
export const POLL_MS = 500;
/** On shutdown, attempts in flight get this long to finish; the rest are aborted (another instance retries them). */
const CLOSE_GRACE_MS = 2_000;

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
 * - Failures become retries (src/events/retry-policy.ts: exponential backoff for at
 *   least WEBHOOK_RETRY_FOR), each leased to one instance while it is attempted; then they are
 *   kept as failed, visible and replayable (`npm run events`), never dropped.
 * - Endpoints are independent: each has its own group, retries and at most
 *   MAX_IN_FLIGHT_PER_ENDPOINT attempts in flight per instance, each bounded by WEBHOOK_TIMEOUT,
 *   so a slow or dead endpoint delays nobody else, and requests never wait for a delivery.
 *
 * Everything it needs survives a restart of every instance and of Redis (AOF): the stream, the
 * groups' pending lists, the retries and the failed records all live in Redis. The consuming
 * and retrying is src/events/stream-worker.ts (shared with the Apple token revoker); what is
 * webhook-specific is the signed POST (./sender.ts).
 */
export class WebhookDeliverer {
  private readonly workers: { ep: Endpoint; worker: StreamWorker }[];
  private timer: NodeJS.Timeout | null = null;
  private readonly shutdown = new AbortController();

  constructor(private readonly opts: WebhookDelivererOptions) {
    const sender = new WebhookSender(opts.secret, opts.timeoutMs, opts.fetch);
    // One consumer name per process lifetime: a restarted instance is a new consumer, and the old one's pending events are claimed like any dead instance's.
    const consumer = `${hostname()}:${process.pid}:${randomId().slice(0, 8)}`;
    this.workers = opts.endpoints.map((url) => {
      const ep = endpoint(url);
      const worker = new StreamWorker(
        {
          id: ep.id,
          store: opts.store,
          consumer,
          timeoutMs: opts.timeoutMs,
          retry: opts.retry,
          now: opts.now,
          maxInFlight: MAX_IN_FLIGHT_PER_ENDPOINT,
          attempt: (event, shutdown) => sender.send(ep, event, Date.now(), shutdown),
          count: opts.count && ((outcome, n) => opts.count!(ep.id, outcome as DeliveryOutcome, n)),
          warn: (obj, msg) => opts.log.warn({ endpoint: ep.id, origin: ep.origin, ...obj }, msg),
          error: (obj, msg) => opts.log.error(obj, msg),
          describe: (event, record) => describe(ep, event, record),
          noun: 'webhook delivery',
        },
        this.shutdown.signal,
      );
      return { ep, worker };
    });
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
        for (const { worker } of this.workers) worker.poll();
      }, every);
      this.timer.unref();
    }
    for (const { worker } of this.workers) worker.poll();
  }

  /** One poll of every endpoint now, and every attempt it starts, awaited (tests). */
  async flush(): Promise<void> {
    await Promise.all(this.workers.map(({ worker }) => worker.flush()));
  }

  /** Resolves once the polls and attempts started so far have finished (`Gateway.settled()`). */
  async settled(): Promise<void> {
    await Promise.all(this.workers.map(({ worker }) => worker.settled()));
  }

  /** Stops polling; attempts in flight get CLOSE_GRACE_MS, the rest are aborted and left to another instance. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const { worker } of this.workers) worker.closed = true;
    const grace = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
    await Promise.race([this.settled(), grace]);
    this.shutdown.abort();
    await this.settled();
  }
}

/** What a log line says about a delivery: ids, type, attempts, the error; never the URL's path, the body or the secret. */
function describe(ep: Endpoint, event: AccountEvent, record: DeliveryRecord): object {
  return { endpoint: ep.id, origin: ep.origin, eventId: event.id, eventType: event.type, attempts: record.attempts, error: record.lastError };
}
