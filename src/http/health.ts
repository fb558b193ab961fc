import type { FastifyPluginAsync } from 'fastify';

export interface HealthOptions {
  /** Resolves when the gateway can serve: store answers and signing keys are loaded. */
  ready(): Promise<boolean>;
}

const READY_TIMEOUT_MS = 1_000;

/** `/healthz`: the process is alive. `/readyz`: it can serve (a load balancer's signal). */
export const healthRoutes: FastifyPluginAsync<HealthOptions> = async (app, opts) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    let ok = false;
    try {
      ok = await Promise.race([
        opts.ready(),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), READY_TIMEOUT_MS).unref()),
      ]);
    } catch {
      ok = false;
    }
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable' });
  });
};
