import type { Registry } from 'prom-client';
import type { Config } from '../../config/index.js';
import { WebhookMetrics } from '../../metrics/webhook-metrics.js';
import type { Stores } from '../../store/types.js';
import { WebhookDeliverer, type WebhookDelivererOptions } from './deliverer.js';
import { endpoint } from './endpoint.js';

export { WebhookDeliverer } from './deliverer.js';
export { endpoint, type Endpoint } from './endpoint.js';

/** The gateway's webhook deliverer with its metrics, started; null without WEBHOOK_ENDPOINTS. */
export async function startWebhooks(
  config: Config,
  stores: Stores,
  registry: Registry,
  deps: Pick<WebhookDelivererOptions, 'now' | 'log' | 'fetch'>,
): Promise<WebhookDeliverer | null> {
  const { endpoints, secret } = config.webhooks;
  const deliveries = stores.deliveries;
  // The config refuses endpoints without a secret or without Redis; this only narrows the types.
  if (endpoints.length === 0 || !secret || !deliveries) return null;
  const ids = endpoints.map((url) => endpoint(url).id);
  const metrics = new WebhookMetrics(registry, () => Promise.all(ids.map(async (id) => ({ endpoint: id, backlog: await deliveries.backlog(id) }))));
  const deliverer = new WebhookDeliverer({
    store: deliveries,
    endpoints,
    secret,
    timeoutMs: config.webhooks.timeoutMs,
    retry: { initialMs: config.webhooks.retryInitialMs, retryForMs: config.webhooks.retryForMs },
    count: metrics.count,
    ...deps,
  });
  await deliverer.start();
  return deliverer;
}
