import type { Counter, Registry } from 'prom-client';
import { MetricDeclarations } from './declare.js';

/** How one webhook attempt ended: delivered; failed and will be retried; failed for good (kept, replayable); an event claimed from a dead instance. */
export type DeliveryOutcome = 'delivered' | 'retry' | 'failed' | 'claimed';

export interface Backlog {
  unread: number;
  inFlight: number;
  retrying: number;
  failed: number;
}

/**
 * Webhook metrics, on the gateway's registry (src/metrics/metrics.ts). The `endpoint` label is
 * the endpoint's id (src/events/webhooks/endpoint.ts), never its URL, which may hold a secret.
 */
export class WebhookMetrics {
  readonly #deliveries: Counter<'endpoint' | 'outcome'>;

  constructor(registry: Registry, backlog: () => Promise<{ endpoint: string; backlog: Backlog }[]>) {
    const m = new MetricDeclarations(registry);
    this.#deliveries = m.counter('webhook_deliveries_total', 'webhook attempts by endpoint id and outcome: delivered, retry (failed, will be retried), failed (gave up after WEBHOOK_RETRY_FOR; kept, see npm run events -- failed), claimed (taken over from an instance that died mid-delivery)', ['endpoint', 'outcome']);
    m.gauge('webhook_backlog', "webhook lag by endpoint id and state: unread (events the endpoint's consumer group has not read yet), in_flight (read, not yet acknowledged), retrying (waiting for a retry), failed (gave up; kept until replayed). Read from Redis on each scrape", ['endpoint', 'state'], async function () {
      this.reset();
      for (const { endpoint, backlog: b } of await backlog().catch(() => [])) {
        this.set({ endpoint, state: 'unread' }, b.unread);
        this.set({ endpoint, state: 'in_flight' }, b.inFlight);
        this.set({ endpoint, state: 'retrying' }, b.retrying);
        this.set({ endpoint, state: 'failed' }, b.failed);
      }
    });
  }

  readonly count = (endpoint: string, outcome: DeliveryOutcome, n = 1): void => {
    this.#deliveries.inc({ endpoint, outcome }, n);
  };
}
