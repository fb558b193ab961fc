import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ServiceUnavailableError } from '../errors.js';
import type { AuthRateLimits } from '../rate-limit/auth-limits.js';
import type { RiscReceiver } from '../risc/receiver.js';
import { MAX_SET_LENGTH } from '../risc/set-verifier.js';
import { refuseOtherMethods } from './post-only.js';
import { annotateRequest } from './request-log.js';

/**
 * `POST /notifications/google-risc`: Google Cross-Account Protection pushes its Security Event
 * Tokens here (RFC 8935 push delivery); src/risc/receiver.ts verifies and acts, this file is
 * HTTP.
 *
 *   request   `Content-Type: application/secevent+jwt` (RFC 8935; `application/jwt` is
 *             tolerated), the body the token itself
 *   202       empty body: a valid token, acted on, or a duplicate, or one whose events we do
 *             not act on (Google must not retry any of these)
 *   400       `{"err","description"}` (RFC 8935 §2.4): `invalid_request` (no token, not a JWS,
 *             malformed claims or events, another media type, a body over 16 KB),
 *             `invalid_key` (not RS256, a kid Google does not publish), `authentication_failed`
 *             (bad signature), `invalid_issuer`, `invalid_audience`. The description is fixed
 *             text; the token is never echoed
 *   405       another method (`Allow: POST`)
 *   429       `access_denied` + `Retry-After`: this address sent too many rejected tokens
 *   503       `{"err":"temporarily_unavailable"}`: Redis cannot be reached, or Google's discovery
 *             document and keys cannot be had and nothing usable is cached, or the same event
 *             is still being acted on by another instance after 5 s. Google retries a
 *             delivery that did not get 202; nothing is lost
 * Bad input is never answered 5xx. The log line gets the outcome, never the token.
 */
export const GOOGLE_RISC_PATH = '/notifications/google-risc';

export interface GoogleRiscRouteOptions {
  receiver: RiscReceiver;
  rateLimits: AuthRateLimits;
}

const MEDIA_TYPES = ['application/secevent+jwt', 'application/jwt'];
/** The token plus room: a body over this is refused unread. */
const BODY_LIMIT_BYTES = MAX_SET_LENGTH + 1024;

type ErrCode = 'invalid_request' | 'invalid_key' | 'invalid_issuer' | 'invalid_audience' | 'authentication_failed' | 'access_denied' | 'temporarily_unavailable';

function refuse(reply: FastifyReply, request: FastifyRequest, status: number, err: ErrCode, description: string): FastifyReply {
  annotateRequest(request, { risc: { err } });
  return reply.code(status).header('cache-control', 'no-store').send({ err, description });
}

export const googleRiscRoutes: FastifyPluginAsync<GoogleRiscRouteOptions> = async (app, opts) => {
  // This plugin's own scope: only the SET media types are parsed (as text), and Fastify's own
  // refusals (another media type, a body too large, a bad encoding) answer in RFC 8935's format.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(MEDIA_TYPES, { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) throw err; // a bug: Fastify logs it in full and answers 500
    const description =
      err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || err.code === 'FST_ERR_CTP_EMPTY_TYPE'
        ? 'the body must be application/secevent+jwt'
        : err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? `the body is over ${BODY_LIMIT_BYTES} bytes`
          : 'the request is malformed';
    request.server.log.debug({ code: err.code }, 'RISC delivery refused by the HTTP layer');
    void opts.rateLimits.countRiscRejection(request.ip ?? null);
    return refuse(reply, request, 400, 'invalid_request', description);
  });

  app.route({
    method: 'POST',
    url: GOOGLE_RISC_PATH,
    bodyLimit: BODY_LIMIT_BYTES,
    // An address over its budget of rejected tokens is refused before its body is read.
    onRequest: async (request, reply) => {
      let limited;
      try {
        limited = await opts.rateLimits.checkRiscDelivery(request.ip ?? null);
      } catch (err) {
        if (err instanceof ServiceUnavailableError) return refuse(reply, request, 503, 'temporarily_unavailable', 'the store cannot be reached; retry shortly');
        throw err;
      }
      if (limited) return refuse(reply.header('retry-after', String(limited.retryAfter)), request, 429, 'access_denied', limited.message);
    },
    handler: async (request, reply) => {
      const token = typeof request.body === 'string' ? request.body.trim() : '';
      try {
        const result = await opts.receiver.receive(token);
        if (result.status === 202) {
          annotateRequest(request, { risc: { outcome: result.outcome } });
          return reply.code(202).header('cache-control', 'no-store').send();
        }
        void opts.rateLimits.countRiscRejection(request.ip ?? null);
        return refuse(reply, request, 400, result.err, result.description);
      } catch (err) {
        if (err instanceof ServiceUnavailableError) return refuse(reply, request, 503, 'temporarily_unavailable', 'the event could not be acted on now; retry shortly');
        throw err;
      }
    },
  });

  refuseOtherMethods(app, GOOGLE_RISC_PATH, (reply, request) => refuse(reply, request, 405, 'invalid_request', 'use POST'));
};
