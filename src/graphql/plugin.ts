import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginInlineTrace } from '@apollo/server/plugin/inlineTrace';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import type { ApolloServerPlugin } from '@apollo/server';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { annotateRequest } from '../http/request-log.js';
import type { GraphQLSchema } from 'graphql';
import { ROUTER_SECRET_HEADER } from '../federation/router-trust.js';
import type { Config } from '../config/index.js';
import { rateLimitStatusPlugin } from '../rate-limit/http-status.js';
import { buildContext, type GatewayContext, type GatewayServices } from './context.js';
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
      // ever computed `no-store`. noStorePlugin says that directly (bench: docs/benchmarks.md).
      ApolloServerPluginCacheControlDisabled(),
      noStorePlugin,
      rateLimitStatusPlugin,
      requestLogPlugin,
    ],
  });
  await apollo.start();
  // Fastify drains the HTTP server itself on close(); Apollo stops after it. (Apollo's
  // fastifyApolloDrainPlugin calls fastify.close() from apollo.stop(): registered here it
  // would wait on the very onClose hook that calls it.)
  app.addHook('onClose', async () => {
    await apollo.stop();
  });
  app.addHook('onRequest', async (request) => {
    const headers = request.headers;
    if (opts.services.isTrustedRouter(headers)) return;
    // A trace discloses per-field timings and our resolver layout: only the trusted router gets one.
    delete headers[TRACE_HEADER];
    if (headers[ROUTER_SECRET_HEADER] !== undefined) {
      // Most likely a router configured with an old or wrong secret: say so (never the value).
      request.log.warn({ header: ROUTER_SECRET_HEADER }, 'router secret does not match ROUTER_SHARED_SECRET; request treated as untrusted');
    }
  });
  const handler = fastifyApolloHandler(apollo, {
    // Apollo shallow-copies the context per operation: the request rides along as a symbol-keyed property.
    context: async (request) => Object.assign(buildContext(request, opts.services), { [REQUEST]: request }),
  });
  app.route({ url: '/graphql', method: ['GET', 'POST', 'OPTIONS'], handler });
};

/**
 * `Cache-Control: no-store` on every GraphQL answer: they carry tokens and private data, and
 * no cache or proxy may keep them (RFC 6749 §5.1 for token responses).
 */
const noStorePlugin: ApolloServerPlugin<GatewayContext> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        response.http.headers.set('cache-control', 'no-store');
      },
    };
  },
};

/** The Fastify request behind each GraphQL context, for the request's log line. */
const REQUEST = Symbol('fastify request');
const MAX_LOGGED_ERRORS = 5;

/**
 * Adds the operation name and the error codes (`CODE` or `CODE:reason`) to the request's log
 * line (src/http/request-log.ts). Both come from our schema and src/errors.ts, never from the
 * client's variables, so they hold no secret.
 */
const requestLogPlugin: ApolloServerPlugin<GatewayContext> = {
  async requestDidStart() {
    return {
      async willSendResponse({ contextValue, operationName, response }) {
        const request = (contextValue as GatewayContext & { [REQUEST]?: FastifyRequest })[REQUEST];
        if (!request) return;
        const errors = response.body.kind === 'single' ? (response.body.singleResult.errors ?? []) : [];
        const codes = [
          ...new Set(
            errors.map((e) => {
              const { code, reason } = e.extensions ?? {};
              return typeof reason === 'string' ? `${String(code)}:${reason}` : String(code);
            }),
          ),
        ].slice(0, MAX_LOGGED_ERRORS);
        annotateRequest(request, { graphql: { operation: operationName?.slice(0, 100) ?? null, ...(codes.length > 0 ? { errors: codes } : {}) } });
      },
    };
  },
};
