import { defineSection } from '../section.js';
import { duration, list, text } from '../variables.js';
import { isLoopbackUrl } from '../key-set-url.js';
import { events } from './events.js';
import { redis } from './redis.js';

export interface WebhooksConfig {
  /** Webhooks (src/events/webhooks): account events POSTed to each endpoint, signed per Standard Webhooks. */
  readonly webhooks: {
    /** Where events go; empty: no webhooks. */
    readonly endpoints: readonly string[];
    /** The signing secret, `whsec_<base64>` (one for every endpoint); null without endpoints. */
    readonly secret: string | null;
    /** One attempt's limit (connect, send, answer). */
    readonly timeoutMs: number;
    /** The first retry's delay; each further one doubles, up to 4 h. */
    readonly retryInitialMs: number;
    /** How long failed deliveries are retried before they are kept as failed (`npm run events -- failed`). */
    readonly retryForMs: number;
  };
}

/** `whsec_` and the base64 of at least 24 random bytes (Standard Webhooks: 24 to 64). */
const SECRET = /^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/;

export const webhooks = defineSection({
  title: 'Webhooks',
  variables: {
    WEBHOOK_ENDPOINTS: list(
      'where account events are POSTed, signed per [Standard Webhooks](https://www.standardwebhooks.com/) (see [Account events and webhooks](#account-events-and-webhooks)); each endpoint receives every event from the moment it is first configured',
      { unsetMeans: 'no webhooks', also: ['`https:` URLs (plain `http:` only on a loopback address)', 'needs Redis (not the embedded store)'] },
    ),
    WEBHOOK_SECRET: text('the signing secret, the same for every endpoint (`webhook-signature` is its HMAC-SHA256); never logged', {
      accepts: '`whsec_` and the base64 of 24–64 random bytes (`echo whsec_$(openssl rand -base64 32)`); required with `WEBHOOK_ENDPOINTS`',
    }),
    WEBHOOK_TIMEOUT: duration('how long one delivery attempt may take (connect, send, answer) before it counts as failed', '10s', { min: '100ms', max: '1m' }),
    WEBHOOK_RETRY_INITIAL: duration('the delay before the first retry of a failed delivery; each further retry waits twice as long, at most 4 h', '30s', {
      also: ['more than twice `WEBHOOK_TIMEOUT` (an attempt in progress is never taken over)'],
    }),
    WEBHOOK_RETRY_FOR: duration('how long a failing delivery is retried; after that it is kept as failed (`npm run events -- failed`, replayable), never dropped', '3d', {
      min: '24h',
      also: ['shorter than `EVENTS_RETENTION`'],
    }),
  },
  read(v, ctx): WebhooksConfig {
    for (const url of v.WEBHOOK_ENDPOINTS) {
      const u = URL.canParse(url) ? new URL(url) : null;
      // An event over plain HTTP can be read (e-mail addresses) by anyone on the path; loopback is allowed for tests and sidecars.
      if (!u || !(u.protocol === 'https:' || (u.protocol === 'http:' && isLoopbackUrl(u))) || u.username || u.password) {
        ctx.problem('WEBHOOK_ENDPOINTS', `"${url.slice(0, 80)}" is not an https: URL without credentials (http: only on a loopback address)`);
      }
    }
    if (new Set(v.WEBHOOK_ENDPOINTS).size !== v.WEBHOOK_ENDPOINTS.length) ctx.problem('WEBHOOK_ENDPOINTS', 'lists an endpoint twice');
    const on = v.WEBHOOK_ENDPOINTS.length > 0;
    if (on && !v.WEBHOOK_SECRET) ctx.problem('WEBHOOK_SECRET', 'is required with WEBHOOK_ENDPOINTS (e.g. `echo whsec_$(openssl rand -base64 32)`)');
    // Never echo the value: the message names the form only.
    if (v.WEBHOOK_SECRET && !SECRET.test(v.WEBHOOK_SECRET)) ctx.problem('WEBHOOK_SECRET', 'must be whsec_ followed by the base64 of 24 to 64 random bytes');
    if (on && !ctx.of(redis).redis.topology) ctx.problem('WEBHOOK_ENDPOINTS', 'needs Redis (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES): deliveries are queued there');
    if (ctx.valid('WEBHOOK_RETRY_INITIAL') && ctx.valid('WEBHOOK_TIMEOUT') && v.WEBHOOK_RETRY_INITIAL <= 2 * v.WEBHOOK_TIMEOUT) {
      ctx.problem('WEBHOOK_RETRY_INITIAL', 'must be more than twice WEBHOOK_TIMEOUT, so an attempt in progress is never taken over by another instance');
    }
    if (ctx.valid('WEBHOOK_RETRY_FOR') && v.WEBHOOK_RETRY_FOR >= ctx.of(events).events.retentionMs) {
      ctx.problem('WEBHOOK_RETRY_FOR', 'must be shorter than EVENTS_RETENTION (the stream must still hold an event while its delivery is retried)');
    }
    return {
      webhooks: {
        endpoints: v.WEBHOOK_ENDPOINTS,
        secret: on ? v.WEBHOOK_SECRET || null : null,
        timeoutMs: v.WEBHOOK_TIMEOUT,
        retryInitialMs: v.WEBHOOK_RETRY_INITIAL,
        retryForMs: v.WEBHOOK_RETRY_FOR,
      },
    };
  },
});
