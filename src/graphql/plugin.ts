import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginInlineTrace } from '@apollo/server/plugin/inlineTrace';
import type { ApolloServerPlugin, GraphQLRequestListener, GraphQLResponse } from '@apollo/server';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { annotateRequest } from '../http/request-log.js';
import type { GraphQLSchema } from 'graphql';
import { ROUTER_SECRET_HEADER } from '../federation/router-trust.js';
import type { Config } from '../config/index.js';
import { applyRateLimitStatus } from '../rate-limit/http-status.js';
import { FASTIFY_REQUEST, buildContext, type GatewayContext, type GatewayServices } from './context.js';
import { mayAskForCaller, mayAskForCallerBySource } from './early-auth.js';
import { makeFormatError } from './format-error.js';
import { graphqlLimits } from './limits.js';

/** The header with which a router asks a subgraph for an inline trace (`ftv1`). */
const TRACE_HEADER = 'apollo-federation-include-trace';

export interface GraphqlPluginOptions {
  schema: GraphQLSchema;
  services: GatewayServices;
  production: boolean;
  /** Answer inline-trace requests (ftv1) from the trusted router; false: never trace. */
  inlineTracing: boolean;
  /** Depth, aliases, tokens, cost (src/graphql/limits.ts). */
  limits: Config['graphql'];
}

/** POST/GET `/graphql`: Apollo Server on Fastify. Owns the Apollo server's start and stop. */
export const graphqlRoutes: FastifyPluginAsync<GraphqlPluginOptions> = async (app, opts) => {
  const apollo = new ApolloServer<GatewayContext>({
    schema: opts.schema,
    // Apollo's CSRF prevention (on by default; stated here because it matters): a browser
    // cannot send a "simple" cross-site request that runs a mutation with a user's cookies.
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    // Shutdown is ours (src/main.ts → fastify.close()); Apollo's own SIGTERM handler would
    // stop it and re-raise the signal, killing the process before requests drain.
    stopOnTerminationSignals: false,
    introspection: !opts.production,
    includeStacktraceInErrorResponses: !opts.production,
    formatError: makeFormatError({ production: opts.production, log: app.log }),
    // Apollo's own messages go to our structured log (its default logger writes to the console).
    logger: app.log,
    ...graphqlLimits(opts.limits, opts.production),
    // Apollo turns inline tracing on by itself for a subgraph, for any caller who asks. We
    // decide instead: on only with a trusted router (errors in traces stay masked, Apollo's
    // default), and the hook below hides the request header from everyone else.
    plugins: [
      opts.inlineTracing ? ApolloServerPluginInlineTrace() : ApolloServerPluginInlineTraceDisabled(),
      // Apollo's cache-control plugin wraps every field resolver to collect cache hints, on
      // every request; we never give one (answers carry tokens and private data), so it only
      // ever computed `no-store`. answerPlugin says that directly (bench: docs/benchmarks.md).
      ApolloServerPluginCacheControlDisabled(),
      answerPlugin,
    ],
  });
  await apollo.start();
  // Fastify drains the HTTP server itself on close(); Apollo stops after it. (Apollo's
  // fastifyApolloDrainPlugin calls fastify.close() from apollo.stop(): registered here it
  // would wait on the very onClose hook that calls it.)
  app.addHook('onClose', async () => {
    await apollo.stop();
  });
  // Hooks here and in src/http take Fastify's `done` callback rather than returning a promise:
  // they never wait for anything, and a promise per hook per request is garbage for nothing.
  app.addHook('onRequest', (request, _reply, done) => {
    const headers = request.headers;
    if (!opts.services.isTrustedRouter(headers)) {
      // A trace discloses per-field timings and our resolver layout: only the trusted router gets one.
      delete headers[TRACE_HEADER];
      if (headers[ROUTER_SECRET_HEADER] !== undefined) {
        // Most likely a router configured with an old or wrong secret: say so (never the value).
        request.log.warn({ header: ROUTER_SECRET_HEADER }, 'router secret does not match ROUTER_SHARED_SECRET; request treated as untrusted');
      }
    }
    done();
  });
  // Apollo's own Fastify integration. A hand-written handler that skips its `new URL()` per
  // request saved ~1 µs of a `me`'s ~65 µs (about 1.5 %, within the A/B noise; issue 15
  // round 2, docs/benchmarks.md), which is no reason to carry our own copy.
  const handler = fastifyApolloHandler(apollo, {
    context: async (request) => {
      const context = buildContext(request, opts.services);
      // The caller is looked up before Apollo starts, when the query text allows (src/graphql/early-auth.ts).
      if (context.hasCredentials && mayAskForCallerBySource(request.body)) await context.principalSettled();
      return context;
    },
  });
  app.route({ url: '/graphql', method: ['GET', 'POST', 'OPTIONS'], handler });
};

const MAX_LOGGED_ERRORS = 5;

/**
 * Our Apollo plugin: one listener for every concern (Apollo awaits each plugin's hooks on every
 * request, so one listener costs less than several). Before execution, the caller is looked up
 * (src/graphql/early-auth.ts). Before the answer is sent:
 *
 * - `Cache-Control: no-store`: answers carry tokens and private data, and no cache or proxy may
 *   keep them (RFC 6749 §5.1 for token responses);
 * - HTTP 429 when a rate limit refused the whole operation (src/rate-limit/http-status.ts);
 * - the operation name and the error codes (`CODE` or `CODE:reason`) on the request's log line
 *   (src/http/request-log.ts). Both come from our schema and src/errors.ts, never from the
 *   client's variables, so they hold no secret.
 */
const DONE: Promise<void> = Promise.resolve();
/**
 * One listener for every request: its hooks take everything from the request context, so
 * nothing is built per request (Apollo calls `requestDidStart` on every request), and they are
 * plain functions returning a promise, not async ones (a new promise per hook per request).
 */
const answerListener: GraphQLRequestListener<GatewayContext> = {
  didResolveOperation({ contextValue, document, operation }) {
    // The caller is looked up before the operation executes (src/graphql/early-auth.ts).
    return contextValue.hasCredentials && operation && mayAskForCaller(document, operation) ? contextValue.principalSettled() : DONE;
  },
  willSendResponse(requestContext) {
    const { contextValue, operationName, response } = requestContext;
    response.http.headers.set('cache-control', 'no-store');
    applyRateLimitStatus(requestContext);
    const request = (contextValue as GatewayContext & { [FASTIFY_REQUEST]?: FastifyRequest })[FASTIFY_REQUEST];
    if (request) annotateRequest(request, { graphql: { operation: operationName?.slice(0, 100) ?? null, ...errorCodes(response) } });
    return DONE;
  },
};
const answerListenerReady = Promise.resolve(answerListener);

const answerPlugin: ApolloServerPlugin<GatewayContext> = {
  requestDidStart: () => answerListenerReady,
};

/** `{ errors: [codes] }` for the log line, or nothing when the answer has no errors. */
const NO_ERRORS: { errors?: string[] } = Object.freeze({});

function errorCodes(response: GraphQLResponse): { errors?: string[] } {
  const errors = response.body.kind === 'single' ? (response.body.singleResult.errors ?? []) : [];
  if (errors.length === 0) return NO_ERRORS;
  const codes = new Set<string>();
  for (const e of errors) {
    const { code, reason } = e.extensions ?? {};
    codes.add(typeof reason === 'string' ? `${String(code)}:${reason}` : String(code));
  }
  return { errors: [...codes].slice(0, MAX_LOGGED_ERRORS) };
}
