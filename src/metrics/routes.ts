import type { FastifyPluginAsync } from 'fastify';
import type { GatewayMetrics } from './metrics.js';

export interface MetricsRouteOptions {
  metrics: GatewayMetrics;
}

/**
 * `GET /metrics`: Prometheus text format. Served on the main port like /healthz; it reveals
 * traffic volumes and error rates, not secrets, but keep it off the public internet (route
 * only /graphql and /.well-known through the edge; see README "Operations").
 */
export const metricsRoutes: FastifyPluginAsync<MetricsRouteOptions> = async (app, opts) => {
  app.get('/metrics', async (_request, reply) => {
    const text = await opts.metrics.text();
    return reply.header('content-type', opts.metrics.contentType).header('cache-control', 'no-store').send(text);
  });
};
