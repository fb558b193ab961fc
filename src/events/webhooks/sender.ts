import { Webhook } from 'standardwebhooks';
import type { AccountEvent } from '../event.js';
import { AttemptAborted } from '../stream-worker.js';
import type { Endpoint } from './endpoint.js';

/** The outcome of one POST: delivered, or why not (a short, secret-free description). */
export type SendResult = { ok: true } | { ok: false; error: string };


/**
 * One webhook attempt, signed per Standard Webhooks with the `standardwebhooks` package:
 *
 *   webhook-id         the event id (receivers de-duplicate by it: delivery is at least once)
 *   webhook-timestamp  the attempt's time, seconds (receivers refuse stale ones: replays of a captured request)
 *   webhook-signature  `v1,` + base64 HMAC-SHA256 of `<id>.<timestamp>.<body>` under the secret
 *
 * The body is the event's JSON (docs/events.schema.json). Any 2xx answer is a delivery; anything
 * else, a redirect included (a redirected POST would carry the event where nobody configured
 * it), a timeout or a connection failure is not. The answer's body is never read.
 */
export class WebhookSender {
  private readonly signer: Webhook;

  constructor(
    secret: string,
    private readonly timeoutMs: number,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    this.signer = new Webhook(secret);
  }

  async send(ep: Endpoint, event: AccountEvent, at: number, shutdown: AbortSignal): Promise<SendResult> {
    const body = JSON.stringify(event);
    const timestamp = new Date(at);
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'graphql-auth-gateway-webhooks/1',
      'webhook-id': event.id,
      'webhook-timestamp': String(Math.floor(at / 1000)),
      'webhook-signature': this.signer.sign(event.id, timestamp, body),
    };
    try {
      const res = await this.fetchImpl(ep.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(this.timeoutMs), shutdown]),
      });
      await res.body?.cancel().catch(() => undefined);
      return res.status >= 200 && res.status < 300 ? { ok: true } : { ok: false, error: `HTTP ${res.status}` };
    } catch (err) {
      if (shutdown.aborted) throw new AttemptAborted('shutdown');
      const e = err as Error & { cause?: { code?: string } };
      if (e.name === 'TimeoutError') return { ok: false, error: 'timeout' };
      // The cause's code (ECONNREFUSED, ENOTFOUND, …) says enough; the message could quote the URL.
      return { ok: false, error: `connection failed${e.cause?.code ? ` (${e.cause.code})` : ''}` };
    }
  }
}
