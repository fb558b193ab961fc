import 'reflect-metadata';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from './config/index.js';
import { guardStore } from './errors.js';
import { buildGoogleVerifier } from './google/index.js';
import type { GatewayServices } from './graphql/context.js';
import { graphqlRoutes } from './graphql/plugin.js';
import { buildGatewaySchema } from './graphql/schema.js';
import { healthRoutes } from './http/health.js';
import { wellKnownRoutes } from './http/well-known.js';
import { BatchedLineWriter, redactLogLine } from './logging.js';
import { AccessTokens } from './sessions/access-token.js';
import { SessionService } from './sessions/session-service.js';
import { SigningKeys } from './sessions/signing-keys.js';
import { createStores } from './store/index.js';
import type { Stores } from './store/types.js';

/**
 * Composition root: builds every part from the config and registers the HTTP plugins.
 * Each plugin owns its routes, hooks and teardown; this file only wires.
 */
export interface GatewayOptions {
  /** Use these stores instead of creating them from the config (tests; the caller closes them). */
  stores?: Stores;
  /** Clock for token and session decisions (tests). */
  now?: () => number;
  /** `fetch` used for Google's key set (tests). */
  fetch?: typeof fetch;
  /** Where log lines go (tests capture them); default stdout. */
  logStream?: { write(line: string): unknown };
}

export interface Gateway {
  readonly app: FastifyInstance;
  readonly stores: Stores;
  readonly keys: SigningKeys;
  /** Listens on config host/port (or the given port, 0 = any free port); returns the base URL. */
  listen(port?: number): Promise<string>;
  close(): Promise<void>;
}

const BODY_LIMIT_BYTES = 64 * 1024;
/** How long start-up waits for the store before giving up (a supervisor restarts us). */
const STORE_STARTUP_TIMEOUT_MS = 30_000;
const KEY_RELOAD_INTERVAL_MS = 60_000;

export async function createGateway(config: Config, opts: GatewayOptions = {}): Promise<Gateway> {
  const logOutput = opts.logStream ?? new BatchedLineWriter();
  const app = Fastify({
    logger: {
      level: config.logLevel,
      // Belt and braces: nothing we log carries tokens, but a future log line must not either.
      // On the finished line, at any depth; pino's wildcard `redact` cost more than the logging.
      hooks: { streamWrite: redactLogLine },
      stream: logOutput,
    },
    bodyLimit: BODY_LIMIT_BYTES,
  });
  const ownsStores = !opts.stores;
  const stores = opts.stores ?? createStores(config);
  const now = opts.now ?? Date.now;

  await waitForStore(stores, app.log);

  const keys = new SigningKeys({ store: stores.signingKeys, locks: stores.locks, accessTokenTtlMs: config.tokens.accessTtlMs, now });
  await keys.maintain();
  const accessTokens = new AccessTokens({
    keys,
    issuer: config.tokens.issuer,
    audience: config.tokens.audience,
    ttlMs: config.tokens.accessTtlMs,
    now,
  });
  const sessions = new SessionService(stores, accessTokens, config.tokens, app.log, now);
  const verifyIdToken = await buildGoogleVerifier(config, { stores, log: app.log, now, fetch: opts.fetch });
  const services: GatewayServices = { sessions, verifyIdToken };

  // Keys rotate on a schedule and other instances may rotate them: re-read the shared list.
  const reload = setInterval(() => {
    keys.maintain().catch((err: unknown) => app.log.warn({ err }, 'signing key maintenance failed'));
  }, KEY_RELOAD_INTERVAL_MS);
  reload.unref();

  await app.register(healthRoutes, {
    ready: async () => {
      await guardStore(stores.ping());
      return keys.ready;
    },
  });
  await app.register(wellKnownRoutes, { keys });
  await app.register(graphqlRoutes, { schema: await buildGatewaySchema(), services, production: config.production });

  app.addHook('onClose', async () => {
    clearInterval(reload);
    if (ownsStores) await stores.close();
    if (logOutput instanceof BatchedLineWriter) logOutput.close();
  });

  return {
    app,
    stores,
    keys,
    async listen(port = config.port) {
      return app.listen({ port, host: config.host });
    },
    close: () => app.close(),
  };
}

async function waitForStore(stores: Stores, log: { warn(obj: object, msg: string): void }): Promise<void> {
  const deadline = Date.now() + STORE_STARTUP_TIMEOUT_MS;
  for (;;) {
    try {
      await stores.ping();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`the store did not answer within ${STORE_STARTUP_TIMEOUT_MS / 1000} s: ${(err as Error).message}`);
      log.warn({ err }, 'waiting for the store');
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
