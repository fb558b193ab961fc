import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ServiceUnavailableError } from '../errors.js';
import type { AuthRateLimits } from '../rate-limit/auth-limits.js';
import type { TokenIntrospection } from '../sessions/introspection.js';
import { secretMatcher } from '../util/shared-secret.js';
import { refuseOtherMethods } from './post-only.js';
import { annotateRequest, logAsRoutine } from './request-log.js';

/**
 * `POST /oauth/introspect`: token introspection (RFC 7662) for trusted callers — the
 * supergraph's router, or a subgraph — asking on each request whether an access token still
 * belongs to a live session (src/sessions/introspection.ts decides; this file is HTTP).
 *
 *   request   `Authorization: Bearer <one of INTROSPECTION_SECRETS>`,
 *             `Content-Type: application/x-www-form-urlencoded`, body `token=<access token>`
 *             (`token_type_hint` and any other parameter are ignored, RFC 6749 §3.1)
 *   200       `{"active":true,"sub","sid","exp","iat","iss","aud","token_type":"Bearer"}`, or
 *             `{"active":false}` for every token that is not a live session's access token
 *   400       `invalid_request`: no `token`, an empty one, or `token` twice
 *   401       `invalid_client` + `WWW-Authenticate: Bearer …`: no secret, or a wrong one
 *   405 / 413 / 415   another method (`Allow: POST`) / a body over 8 KB / not a form body
 *   429       `rate_limited` + `Retry-After`: this address sent too many wrong secrets
 *   503       `temporarily_unavailable`: the session store cannot be reached. Never
 *             `active:false`: a router must not take an outage for a revocation
 * Every answer carries `Cache-Control: no-store`: it says whose a token is and whether it
 * works, and no cache may keep that. Nothing here logs the token or the secret: the request's
 * log line gets the outcome (`introspection.active`, the inactive reason); an active answer is
 * routine (a router asks on each of its requests) and logged at debug, everything else at info.
 *
 * It is on every request of a router that uses it, so it costs one in-process signature check
 * (cached for tokens seen before) and one store round trip; no GraphQL is involved.
 */
export const INTROSPECTION_PATH = '/oauth/introspect';

export interface IntrospectionRouteOptions {
  introspection: TokenIntrospection;
  /** INTROSPECTION_SECRETS (non-empty: the plugin is registered only then). */
  secrets: readonly string[];
  rateLimits: AuthRateLimits;
}

/** A token is at most 4 KB (src/sessions/access-token.ts); the rest is room for the hint and encoding. */
const BODY_LIMIT_BYTES = 8 * 1024;
const FORM = 'application/x-www-form-urlencoded';
const CHALLENGE = 'Bearer realm="token-introspection"';
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
/** What Fastify's own JSON serialisation would have sent. */
const JSON_TYPE = 'application/json; charset=utf-8';
/** The log fields of every active answer: one frozen object, not one per request. */
const ACTIVE_LOG_FIELDS = Object.freeze({ introspection: Object.freeze({ active: true }) });

type OAuthError = 'invalid_request' | 'invalid_client' | 'rate_limited' | 'temporarily_unavailable';

function refuse(reply: FastifyReply, request: FastifyRequest, status: number, error: OAuthError, description: string): FastifyReply {
  annotateRequest(request, { error });
  return reply.code(status).header('cache-control', 'no-store').send({ error, error_description: description });
}

/**
 * The values of `name` in an `application/x-www-form-urlencoded` body, exactly as
 * `new URLSearchParams(body).getAll(name)` gives them (tested against it). A body without `%`
 * and `+` has nothing to decode, so its pairs are read as they are: a router's `token=<JWT>`
 * (base64url and dots) takes this path, without a URLSearchParams and its entry list per
 * request. Anything else goes through URLSearchParams.
 */
export function formValues(body: string, name: string): string[] {
  if (body.includes('%') || body.includes('+')) return new URLSearchParams(body).getAll(name);
  const values: string[] = [];
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf('&', start);
    if (end === -1) end = body.length;
    if (end > start) {
      const eq = body.indexOf('=', start);
      const keyEnd = eq === -1 || eq > end ? end : eq;
      if (keyEnd - start === name.length && body.startsWith(name, start)) values.push(keyEnd === end ? '' : body.slice(keyEnd + 1, end));
    }
    start = end + 1;
  }
  return values;
}

export const introspectionRoutes: FastifyPluginAsync<IntrospectionRouteOptions> = async (app, opts) => {
  const isCaller = secretMatcher(opts.secrets);

  // This plugin's own scope (Fastify encapsulation): only form bodies are parsed here, and
  // Fastify's own refusals (a body too large, an unsupported media type) answer as OAuth errors.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES }, (_req, body, done) => {
    done(null, body);
  });
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) throw err; // a bug: Fastify logs it in full and answers 500
    const description =
      err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? `the body must be ${FORM}`
        : err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? `the body is over ${BODY_LIMIT_BYTES} bytes`
          : 'the request is malformed';
    return refuse(reply, request, status, 'invalid_request', description);
  });

  app.route({
    method: 'POST',
    url: INTROSPECTION_PATH,
    bodyLimit: BODY_LIMIT_BYTES,
    // The caller is checked before its body is read: an unknown caller costs no parsing. (A
    // callback hook: the trusted caller's path, on every request of a router, makes no promise.)
    onRequest: (request, reply, done) => {
      const presented = BEARER.exec(request.headers.authorization ?? '')?.[1];
      if (isCaller(presented)) return done();
      // A wrong or missing secret spends the address's budget (RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS,
      // counted apart from rejected tokens, src/rate-limit/auth-limits.ts). A valid secret is never
      // throttled, even from an address over its budget: whoever shares the router's address
      // could otherwise lock the whole supergraph out with a few wrong guesses, and guessing a
      // secret of at least 32 characters is not what a budget of a few tries a minute stops.
      void opts.rateLimits.countIntrospectionFailure(request.ip ?? null).then((limited) => {
        if (limited) return refuse(reply.header('retry-after', String(limited.retryAfter)), request, 429, 'rate_limited', limited.message);
        // RFC 6750 §3: no error attribute when no credential was sent, `invalid_token` for a wrong one.
        reply.header('www-authenticate', presented === undefined ? CHALLENGE : `${CHALLENGE}, error="invalid_token"`);
        return refuse(reply, request, 401, 'invalid_client', 'send Authorization: Bearer <one of INTROSPECTION_SECRETS>');
      });
    },
    handler: async (request, reply) => {
      const tokens = typeof request.body === 'string' ? formValues(request.body, 'token') : [];
      // RFC 6749 §3.1: a parameter may not be sent twice.
      if (tokens.length !== 1 || tokens[0] === '') {
        return refuse(reply, request, 400, 'invalid_request', tokens.length > 1 ? 'token is sent more than once' : `the ${FORM} body needs a non-empty token`);
      }
      try {
        const result = await opts.introspection.introspect(tokens[0]!);
        if (result.active) {
          annotateRequest(request, ACTIVE_LOG_FIELDS);
          logAsRoutine(request);
        } else annotateRequest(request, { introspection: { active: false, reason: result.reason } });
        // The answer is JSON text already (src/sessions/introspection.ts): Fastify sends a string
        // with its content type as it is, without serialising it again.
        return reply.header('cache-control', 'no-store').type(JSON_TYPE).send(result.json);
      } catch (err) {
        if (err instanceof ServiceUnavailableError) return refuse(reply, request, 503, 'temporarily_unavailable', 'the session store cannot be reached; retry shortly');
        throw err;
      }
    },
  });

  refuseOtherMethods(app, INTROSPECTION_PATH, (reply, request) => refuse(reply, request, 405, 'invalid_request', 'use POST'));
};
