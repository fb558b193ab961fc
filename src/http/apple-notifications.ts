import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { AuthError, RateLimitedError, ServiceUnavailableError } from '../errors.js';
import type { AppleNotifications } from '../identity/apple/notifications.js';
import type { NotificationOutcome } from '../metrics/apple-metrics.js';
import type { AuthRateLimits } from '../rate-limit/auth-limits.js';
import { refuseOtherMethods } from './post-only.js';
import { annotateRequest } from './request-log.js';

/**
 * `POST /notifications/apple`: Apple's server-to-server notifications for Sign in with Apple
 * (src/identity/apple/notifications.ts decides; this file is HTTP). Registered when Sign in with
 * Apple is on; register this URL for the App ID / Services ID in the Apple developer account.
 *
 *   request   `Content-Type: application/json`, body `{"payload": "<JWT>"}` (at most 16 KB)
 *   200       accepted: acted on, or nothing to do (an unknown `sub` or type, a duplicate)
 *   400       anything that is not a valid notification: no body, not JSON, no `payload`, a token
 *             that fails verification, an `events` claim that cannot be read. No detail: the
 *             sender learns nothing about why (Apple's own notifications never fail so)
 *   429       this address sent too many invalid notifications (the failure budget shared with
 *             sign-in, RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS); valid ones are never throttled
 *   503       the store (or Apple's keys) cannot be reached: Apple delivers again later
 * Nothing here logs the token; the request's log line gets the event type and outcome.
 */
export const APPLE_NOTIFICATIONS_PATH = '/notifications/apple';

export interface AppleNotificationRouteOptions {
  notifications: AppleNotifications;
  rateLimits: AuthRateLimits;
  count?: (type: string, outcome: NotificationOutcome) => void;
}

/** A notification token is ~1 KB; the rest is room. */
const BODY_LIMIT_BYTES = 16 * 1024;

function answer(reply: FastifyReply, status: number): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').send(status === 200 ? {} : { error: status === 400 || status === 405 ? 'invalid_request' : status === 429 ? 'rate_limited' : 'temporarily_unavailable' });
}

export const appleNotificationRoutes: FastifyPluginAsync<AppleNotificationRouteOptions> = async (app, opts) => {
  // This plugin's own scope: only JSON is parsed here, as a string (parsed below, defensively),
  // and Fastify's own refusals (too large, wrong media type, bad JSON) answer 400.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(/^application\/json/, { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) throw err;
    annotateRequest(request, { notification: { outcome: 'rejected', refusal: err.code } });
    return answer(reply, 400);
  });

  const reject = async (request: FastifyRequest, reply: FastifyReply, why: string) => {
    opts.count?.('unknown', 'rejected');
    annotateRequest(request, { notification: { outcome: 'rejected', reason: why } });
    await opts.rateLimits.countRejection(request.ip ?? null);
    return answer(reply, 400);
  };

  app.route({
    method: 'POST',
    url: APPLE_NOTIFICATIONS_PATH,
    bodyLimit: BODY_LIMIT_BYTES,
    handler: async (request, reply) => {
      try {
        // An address that sent too many invalid notifications is refused before any verification.
        await opts.rateLimits.checkRefresh(request.ip ?? null);
        const token = payloadOf(request.body);
        if (token === null) return await reject(request, reply, 'body');
        const result = await opts.notifications.receive(token);
        opts.count?.(result.type, result.outcome);
        annotateRequest(request, { notification: result });
        return answer(reply, 200);
      } catch (err) {
        if (err instanceof AuthError) return reject(request, reply, err.reason);
        if (err instanceof RateLimitedError) {
          annotateRequest(request, { notification: { outcome: 'rate_limited' } });
          return answer(reply.header('retry-after', String(err.retryAfter)), 429);
        }
        if (err instanceof ServiceUnavailableError) return answer(reply, 503);
        throw err;
      }
    },
  });

  refuseOtherMethods(app, APPLE_NOTIFICATIONS_PATH, (reply) => answer(reply, 405));
};

/** `{"payload": "<string>"}` → the string; null for anything else. */
function payloadOf(body: unknown): string | null {
  if (typeof body !== 'string') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const payload = (parsed as Record<string, unknown>).payload;
  return typeof payload === 'string' && payload.length > 0 ? payload : null;
}
