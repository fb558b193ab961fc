import 'reflect-metadata';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from './config/index.js';
import { fastifyTrustProxy } from './config/trust-proxy.js';
import { storeCall } from './errors.js';
import { routerTrust } from './federation/router-trust.js';
import type { GatewayServices } from './graphql/context.js';
import { graphqlRoutes } from './graphql/plugin.js';
import { buildGatewaySchema } from './graphql/schema.js';
import { healthRoutes } from './http/health.js';
import { introspectionRoutes } from './http/introspection.js';
import { appleNotificationRoutes } from './http/apple-notifications.js';
import { AppleNotifications, startAppleTokens, type AppleTokens } from './identity/apple/index.js';
import { AppleMetrics } from './metrics/apple-metrics.js';
import { googleRiscRoutes } from './http/google-risc.js';
import { createRiscReceiver } from './risc/index.js';
import { Lifecycle } from './http/lifecycle.js';
import { GatewayLogController, installRequestIdHeader, requestChildLogger, requestIdFor, serializeRequest } from './http/request-log.js';
import { createIdTokenVerification } from './identity/verification.js';
import { GatewayMetrics, SessionActivity, metricsRoutes } from './metrics/index.js';
import { wellKnownRoutes } from './http/well-known.js';
import { AuthRateLimits } from './rate-limit/auth-limits.js';
import { BatchedLineWriter, redactLogLine } from './logging.js';
import { AccessTokens } from './sessions/access-token.js';
import { SessionTokens } from './sessions/auth-result.js';
import type { SessionRules } from './sessions/policy.js';
import { RefreshSession } from './sessions/refresh.js';
import { TokenIntrospection } from './sessions/introspection.js';
import { SessionService } from './sessions/session-service.js';
import { SignIn, type AuthorizationCodeGrant } from './sessions/sign-in.js';
import { SignInNonces, UsedIdTokens } from './sessions/single-use.js';
import { SigningKeys } from './sessions/signing-keys.js';
import { AccountService } from './users/account-service.js';
import { IdentityService } from './users/identity-service.js';
import { createStores } from './store/index.js';
import { startWebhooks, type WebhookDeliverer } from './events/webhooks/index.js';
import type { Stores } from './store/types.js';

/**
 * Composition root: builds every part from the config and registers the HTTP plugins.
 * Each plugin owns its routes, hooks and teardown; this file only wires. (About 340 lines: one
 * place that shows every part, what it depends on and the order of shutdown; it holds no logic
 * of its own.)
 */
export interface GatewayOptions {
  /** Use these stores instead of creating them from the config (tests; the caller closes them). */
  stores?: Stores;
  /** Clock for token and session decisions (tests). */
  now?: () => number;
  /** `fetch` used for the identity providers' key sets and Google's RISC discovery document (tests). */
  fetch?: typeof fetch;
  /** Where log lines go (tests capture them); default stdout. */
  logStream?: { write(line: string): unknown };
  /** Metrics (and their registry) to use; default a new set per gateway. */
  metrics?: GatewayMetrics;
  /** `fetch` used for webhook deliveries (tests). */
  webhookFetch?: typeof fetch;
  /** Apple's token endpoints (tests): one call's timeout (default 10 s), the revoker's poll period (0: only `flush`). */
  apple?: { timeoutMs?: number; pollMs?: number };
}

export interface Gateway {
  readonly app: FastifyInstance;
  readonly stores: Stores;
  readonly keys: SigningKeys;
  readonly metrics: GatewayMetrics;
  /** Webhook delivery (WEBHOOK_ENDPOINTS), or null without endpoints. */
  readonly webhooks: WebhookDeliverer | null;
  /** Apple's code exchange and token revoker (APPLE_TEAM_ID…), or null without the key. */
  readonly appleTokens: AppleTokens | null;
  /** True once shutdown has started (/readyz answers 503). */
  readonly draining: boolean;
  /** Listens on config host/port (or the given port, 0 = any free port); returns the base URL. */
  listen(port?: number): Promise<string>;
  /**
   * Graceful shutdown (src/http/lifecycle.ts): readiness 503, SHUTDOWN_DELAY, stop accepting,
   * in-flight requests finish (at most SHUTDOWN_TIMEOUT), Redis closed. Idempotent.
   * `forced`: some connections had to be cut at the timeout.
   */
  close(): Promise<{ forced: boolean }>;
  /**
   * Resolves once the fire-and-forget work started so far has finished (tests await it instead
   * of sleeping): the lastSeenAt writes of authenticated requests, a refresh of a provider's
   * keys in flight, the active-sessions records, the Cluster event relay, webhook polls and
   * attempts, Apple code exchanges and revocation attempts.
   */
  settled(): Promise<void>;
}

const BODY_LIMIT_BYTES = 64 * 1024;
/**
 * The whole request (headers and body) must arrive within this time. Fastify's default is no
 * limit, so a client trickling a body byte by byte would hold its connection forever.
 */
const REQUEST_TIMEOUT_MS = 30_000;
/** How long start-up waits for the store before giving up (a supervisor restarts us). */
const STORE_STARTUP_TIMEOUT_MS = 30_000;
const KEY_RELOAD_INTERVAL_MS = 60_000;
/**
 * Redis Cluster: how often each instance sweeps the event outboxes a dead instance left behind
 * (src/store/redis/event-relay.ts; one instance at a time, under a lock). Such leftovers exist
 * only after a crash between a write and its relay, so their events reach the stream at most
 * this much later. Elsewhere the sweep does nothing.
 */
const EVENT_SWEEP_INTERVAL_MS = 60_000;

export async function createGateway(config: Config, opts: GatewayOptions = {}): Promise<Gateway> {
  const logOutput = opts.logStream ?? new BatchedLineWriter();
  const app = Fastify({
    logger: {
      level: config.logLevel,
      // Belt and braces: nothing we log carries tokens, but a future log line must not either.
      // On the finished line, at any depth (src/logging.ts says why not pino's `redact`).
      hooks: { streamWrite: redactLogLine },
      serializers: { req: serializeRequest },
      stream: logOutput,
    },
    bodyLimit: BODY_LIMIT_BYTES,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // Who may set the client address through X-Forwarded-For (TRUST_PROXY; src/config/trust-proxy.ts).
    trustProxy: fastifyTrustProxy(config.trustProxy),
    // Request ids: the caller's X-Request-Id when valid, else generated (src/http/request-log.ts).
    genReqId: requestIdFor,
    requestIdHeader: false,
    // One line per request (src/http/request-log.ts).
    logController: new GatewayLogController(),
    childLoggerFactory: requestChildLogger,
  });
  installRequestIdHeader(app);
  const lifecycle = new Lifecycle();
  lifecycle.install(app);
  const metrics = opts.metrics ?? new GatewayMetrics();
  const ownsStores = !opts.stores;
  const stores =
    opts.stores ??
    createStores(config, {
      observe: { command: metrics.redisCommand, log: app.log, ready: (isReady) => metrics.watchRedis(isReady) },
    });
  const now = opts.now ?? Date.now;

  await waitForStore(stores, app.log);

  const keys = new SigningKeys({
    store: stores.signingKeys,
    locks: stores.locks,
    accessTokenTtlMs: config.tokens.accessTtlMs,
    rotationIntervalMs: config.signingKeys.rotationIntervalMs,
    publishAheadMs: config.signingKeys.publishAheadMs,
    now,
  });
  await keys.maintain();
  const accessTokens = new AccessTokens({
    keys,
    issuer: config.tokens.issuer,
    audience: config.tokens.audience,
    ttlMs: config.tokens.accessTtlMs,
    now,
  });
  const activity = new SessionActivity({
    store: stores.activity,
    windowMs: config.tokens.accessTtlMs,
    now,
    // Already counted as a Redis command error; the metric is an estimate anyway.
    onError: () => undefined,
  });
  metrics.watchActiveSessions(() => activity.estimate());
  const verification = await createIdTokenVerification(config, {
    stores,
    log: app.log,
    now,
    fetch: opts.fetch,
    onKeySourceEvent: metrics.keySourceEvent,
    instrument: (provider, verify) => metrics.timeVerification(provider, verify),
  });
  const rules: SessionRules = {
    refreshTtlMs: config.tokens.refreshTtlMs,
    maxLifetimeMs: config.tokens.sessionMaxLifetimeMs,
    refreshGraceMs: config.tokens.refreshGraceMs,
    maxSessionsPerUser: config.sessions.maxPerUser,
  };
  const rateLimits = new AuthRateLimits({ store: stores.rateLimits, rules: config.rateLimits, now, log: app.log, onLimited: metrics.rateLimitHit });
  const nonces = new SignInNonces({ store: stores.singleUse, requireNonce: config.signIn.requireNonce, log: app.log, now });
  const tokens = new SessionTokens(accessTokens, activity);
  const sessions = new SessionService({ accounts: stores.accounts, accessTokens, log: app.log, now });
  const usedIdTokens = new UsedIdTokens({ store: stores.singleUse, enabled: config.signIn.rejectReplayedIdTokens, log: app.log, now });
  const appleOn = verification.enabled('apple');
  let appleTokens: AppleTokens | null = null;
  const appleMetrics: AppleMetrics | null = appleOn ? new AppleMetrics(metrics.registry, config.appleTokens ? () => appleTokens!.revoker.backlog() : null) : null;
  appleTokens = appleMetrics
    ? await startAppleTokens(config, stores, { now, log: app.log, metrics: appleMetrics, timeoutMs: opts.apple?.timeoutMs, pollMs: opts.apple?.pollMs })
    : null;
  // Only Apple's codes are exchanged (the resolvers pass none for another provider).
  const exchange = appleTokens?.exchange;
  const onAuthorizationCode = exchange
    ? (grant: AuthorizationCodeGrant) => {
        if (grant.provider === 'apple') exchange.start(grant);
      }
    : undefined;
  const accounts = new AccountService(stores, app.log, now);
  const identities = new IdentityService({ stores, verification, nonces, usedIdTokens, rateLimits, log: app.log, now, onAuthorizationCode });
  const services: GatewayServices = {
    signIn: new SignIn({
      stores,
      rateLimits,
      nonces,
      usedIdTokens,
      verification,
      tokens,
      rules,
      count: metrics.countSignIn,
      log: app.log,
      now,
      onAuthorizationCode,
    }),
    refresh: new RefreshSession({ stores, rateLimits, tokens, rules, count: metrics.countRefresh, log: app.log, now }),
    sessions,
    nonces,
    rateLimits,
    accounts,
    identities,
    loadUsers: (ids) => storeCall(stores.accounts.getUsers(ids), app.log),
    isTrustedRouter: routerTrust(config.federation.routerSecret),
  };
  const risc = createRiscReceiver(config, {
    stores,
    log: app.log,
    now,
    fetch: opts.fetch,
    count: metrics.riscEvent,
    onKeySourceEvent: metrics.keySourceEvent,
  });
  const webhooks = await startWebhooks(config, stores, metrics.registry, { now, log: app.log, fetch: opts.webhookFetch });
  let sweeping: Promise<void> = Promise.resolve();
  const sweep = () => {
    sweeping = stores.events.sweep().then(
      () => undefined,
      (err: unknown) => app.log.warn({ err }, 'sweeping event outboxes failed; retrying at the next sweep'),
    );
  };
  sweep();
  const sweeper = setInterval(sweep, EVENT_SWEEP_INTERVAL_MS);
  sweeper.unref();

  /** Fire-and-forget work, each with its hook to await it (`Gateway.settled()`). */
  const background: (() => Promise<void>)[] = [
    () => sessions.settled(),
    () => verification.settled(),
    () => risc?.keys.settled() ?? Promise.resolve(),
    () => activity.settled(),
    () => stores.events.settled(),
    () => sweeping,
    () => webhooks?.settled() ?? Promise.resolve(),
    () => appleTokens?.exchange.settled() ?? Promise.resolve(),
    () => appleTokens?.revoker.settled() ?? Promise.resolve(),
  ];

  // Keys rotate on a schedule and other instances may rotate them: re-read the shared list.
  const reload = setInterval(() => {
    keys.maintain().catch((err: unknown) => app.log.warn({ err }, 'signing key maintenance failed'));
  }, KEY_RELOAD_INTERVAL_MS);
  reload.unref();

  await app.register(healthRoutes, {
    ready: async () => {
      if (lifecycle.draining) return false;
      await storeCall(stores.ping());
      return keys.ready;
    },
  });
  await app.register(wellKnownRoutes, { keys, issuer: config.tokens.issuer, introspection: config.introspection.secrets.length > 0 });
  await app.register(metricsRoutes, { metrics });
  if (config.introspection.secrets.length > 0) {
    await app.register(introspectionRoutes, {
      introspection: new TokenIntrospection({ sessions, issuer: config.tokens.issuer, audience: config.tokens.audience }),
      secrets: config.introspection.secrets,
      rateLimits,
    });
  }
  if (appleOn) {
    await app.register(appleNotificationRoutes, {
      notifications: new AppleNotifications({ verification, identities, accounts, store: stores.accounts, log: app.log, now }),
      rateLimits,
      count: appleMetrics?.notification,
    });
  }
  if (risc) await app.register(googleRiscRoutes, { receiver: risc.receiver, rateLimits });
  await app.register(graphqlRoutes, {
    schema: await buildGatewaySchema(),
    services,
    production: config.production,
    inlineTracing: config.federation.routerSecret !== null,
    limits: config.graphql,
  });

  app.addHook('onClose', async () => {
    clearInterval(reload);
    clearInterval(sweeper);
    // Webhooks stop before the store closes: attempts in flight finish or are left to another instance.
    await webhooks?.close();
    await appleTokens?.revoker.close();
    // Exchanges in flight finish (each bounded by its timeout): their tokens must be kept.
    await exchange?.settled();
    await sweeping;
    // A key refresh in flight is aborted and awaited: it must not write to a closed store.
    await verification.close();
    await risc?.keys.close();
    if (ownsStores) await stores.close();
    if (logOutput instanceof BatchedLineWriter) logOutput.close();
  });

  return {
    app,
    stores,
    keys,
    metrics,
    webhooks,
    appleTokens,
    get draining() {
      return lifecycle.draining;
    },
    async listen(port = config.port) {
      return app.listen({ port, host: config.host });
    },
    close: () => lifecycle.shutdown(app, { delayMs: config.shutdown.delayMs, timeoutMs: config.shutdown.timeoutMs, log: app.log }),
    settled: async () => {
      await Promise.all(background.map((settled) => settled()));
    },
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
