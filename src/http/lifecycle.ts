import type { FastifyInstance } from 'fastify';

/**
 * Graceful shutdown, in three steps:
 *
 * 1. Draining starts: /readyz answers 503 at once, so load balancers stop sending new
 *    requests; requests are still served normally for `delayMs` (SHUTDOWN_DELAY: load
 *    balancers poll readiness, so they need a moment to notice). Every response now carries
 *    `Connection: close`, so keep-alive connections are retired instead of reused.
 * 2. The listener closes (new connections are refused) and Fastify waits for in-flight
 *    requests; a request arriving on a still-open keep-alive connection gets Fastify's 503
 *    with `Connection: close` without being executed, safe to retry elsewhere.
 * 3. When they have finished, or after `timeoutMs` (SHUTDOWN_TIMEOUT: a request stuck on a
 *    dependency must not keep the process alive forever), remaining connections are cut and
 *    the onClose hooks run: Apollo stops, the Redis connection is closed.
 *
 * A request counts as accepted once Fastify has routed it before step 2; every accepted
 * request gets its real response provided it finishes within `timeoutMs`.
 */
export interface ShutdownOptions {
  delayMs: number;
  timeoutMs: number;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

export class Lifecycle {
  #draining = false;
  #closing: Promise<{ forced: boolean }> | null = null;

  /** True from the moment shutdown starts. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Adds `Connection: close` to responses once draining. Call on the root instance. */
  install(app: FastifyInstance): void {
    app.addHook('onSend', (_request, reply, payload, done) => {
      if (this.#draining) reply.header('connection', 'close');
      done(null, payload);
    });
  }

  /** Runs the shutdown once; later calls return the same promise. `forced`: connections had to be cut. */
  shutdown(app: FastifyInstance, opts: ShutdownOptions): Promise<{ forced: boolean }> {
    this.#closing ??= this.#run(app, opts);
    return this.#closing;
  }

  async #run(app: FastifyInstance, { delayMs, timeoutMs, log }: ShutdownOptions): Promise<{ forced: boolean }> {
    this.#draining = true;
    log.info({ delayMs, timeoutMs }, 'shutdown started: readiness is 503');
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    let forced = false;
    const timer = setTimeout(() => {
      forced = true;
      log.warn({ timeoutMs }, 'in-flight requests did not finish within SHUTDOWN_TIMEOUT; closing their connections');
      app.server.closeAllConnections();
    }, timeoutMs);
    try {
      await app.close();
    } finally {
      clearTimeout(timer);
    }
    log.info({ forced }, 'shutdown complete');
    return { forced };
  }
}
