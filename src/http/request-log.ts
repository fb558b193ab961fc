import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';

/**
 * Structured request logging on Fastify's own pino logger: one JSON line per request, when
 * it completes, carrying the request id that the response also carries.
 *
 * Fastify's default is two lines per request ("incoming request", "request completed"), a
 * third for a 4xx it handles itself (body too large, bad JSON, not found), and it logs the
 * full URL. We write one line, at completion (it has everything: status, time, the error),
 * and only the path: a GraphQL GET carries its variables in the query string, and those may
 * hold an ID token or a refresh token.
 */

export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * An incoming `X-Request-Id` is kept (so a request can be followed from the load balancer
 * through our logs) only when it is short and made of characters that are safe in a log line
 * and a header: UUIDs, hex/base64 ids, ULIDs, `Root=1-…` trace ids. Anything else is replaced.
 */
const VALID_REQUEST_ID = /^[A-Za-z0-9._:+/=@-]{1,128}$/;

/** Fastify `genReqId`: the caller's id when valid, else a new UUID. */
export function requestIdFor(req: IncomingMessage): string {
  const header = req.headers[REQUEST_ID_HEADER];
  return typeof header === 'string' && VALID_REQUEST_ID.test(header) ? header : randomUUID();
}

/** Routes polled by probes and scrapers: logged at debug, so they do not drown the rest. */
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);
/** The levels at which a debug line is written. */
const DEBUG_LEVELS = new Set(['debug', 'trace']);
const MAX_PATH_LENGTH = 200;

/** The URL without its query string, bounded. */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return url.slice(0, Math.min(query === -1 ? url.length : query, MAX_PATH_LENGTH));
}

/** pino serializer for any `req` a log line carries: never the query string, never headers. */
export function serializeRequest(req: { method?: string; url?: string; ip?: string; socket?: { remoteAddress?: string } }) {
  return { method: req.method, path: pathOf(req.url ?? ''), remoteAddress: req.ip ?? req.socket?.remoteAddress };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Extra fields for the request's log line (`annotateRequest`); null until one is added. */
    logFields: Record<string, unknown> | null;
    /** The completion line is debug, like the probes' (`logAsRoutine`). */
    logRoutine: boolean;
  }
}

/** Adds fields to a request's log line (the GraphQL plugin adds the operation and error codes). */
export function annotateRequest(request: FastifyRequest, fields: Record<string, unknown>): void {
  request.logFields = request.logFields ? { ...request.logFields, ...fields } : fields;
}

/**
 * The request's completion line is debug, like the probes': routine traffic that would
 * otherwise double the log (a router's introspection of a live token, on each of its requests).
 */
export function logAsRoutine(request: FastifyRequest): void {
  request.logRoutine = true;
}

/**
 * Fastify's hook for its own per-request log lines (Fastify ≥ 5.12). Fields of the line:
 * `reqId`, `method`, `path`, `statusCode`, `responseTimeMs`, `remoteAddress`, and for GraphQL
 * `graphql.operation` / `graphql.errors`, or `error` for a request Fastify refused itself.
 */
export class GatewayLogController extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ method: request.method, path: pathOf(request.url) }, 'request received');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const path = pathOf(request.url);
    const quiet = request.logRoutine || QUIET_ROUTES.has(path);
    // A line at a level that is off is not built at all (a router's introspections, at info).
    if (quiet && !error && !DEBUG_LEVELS.has(request.log.level)) return;
    const fields = {
      method: request.method,
      path,
      statusCode: reply.statusCode,
      responseTimeMs: Math.round(reply.elapsedTime * 100) / 100,
      remoteAddress: request.ip,
      ...request.logFields,
    };
    if (error) request.log.error({ ...fields, err: error }, 'request failed');
    else if (quiet) request.log.debug(fields, 'request completed');
    else request.log.info(fields, 'request completed');
  }

  /** A 4xx Fastify answered itself becomes a field of the completion line; a 5xx is a bug: logged in full. */
  override defaultErrorLog(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    if (reply.statusCode >= 500) {
      request.log.error({ err: error }, 'unhandled error');
      return;
    }
    const code = (error as { code?: unknown }).code;
    annotateRequest(request, { error: typeof code === 'string' ? code : error.message.slice(0, 200) });
  }

  /** The completion line says 404 (Fastify's own line would carry the query string). */
  override routeNotFound(): void {}

  override writeHeadError(error: Error, request: FastifyRequest): void {
    request.log.warn({ err: error }, error.message);
  }
}

/**
 * Fastify's `childLoggerFactory`: `request.log`, the pino child with the request id. Fastify's
 * default passes pino an options object even when it is empty, which takes pino's slow way to
 * a child (new formatters, serializers copied, a level check); without options pino only adds
 * the bindings. A route with its own log level or serializers still gets them.
 */
export const requestChildLogger: NonNullable<FastifyServerOptions['childLoggerFactory']> = (logger, bindings, options) =>
  hasKeys(options) ? logger.child(bindings, options) : logger.child(bindings);

function hasKeys(o: object | undefined): boolean {
  for (const _ in o) return true;
  return false;
}

/**
 * Returns each response's request id in `X-Request-Id`, and gives requests their log fields.
 * Call on the root instance before routes.
 */
export function installRequestIdHeader(app: FastifyInstance): void {
  app.decorateRequest('logFields', null);
  app.decorateRequest('logRoutine', false);
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
}
