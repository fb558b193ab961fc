import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import type { AccountEvent } from '../../src/events/event.js';

/** A test signing secret, in the `whsec_` form the gateway takes. */
export const TEST_WEBHOOK_SECRET = `whsec_${Buffer.from('test-webhook-secret-32-bytes-long!!').toString('base64')}`;

export interface Received {
  id: string;
  timestamp: string;
  event: AccountEvent;
}

/**
 * A webhook receiver on loopback that does what a real one must: verifies each request with the
 * `standardwebhooks` package (signature, id, timestamp) before believing it, and answers 400 to
 * anything that does not verify. What it answers to verified requests is the test's choice
 * (`answer`): a status, or a promise it holds the request on (a slow endpoint).
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  /** Requests that failed verification. */
  rejected = 0;
  /** Verified requests whose answer is still being held. */
  holding = 0;
  answer: (r: Received) => number | Promise<number> = () => 204;
  private readonly verifier: Webhook;

  private constructor(
    private readonly server: Server,
    secret: string,
  ) {
    this.verifier = new Webhook(secret);
  }

  static async start(secret = TEST_WEBHOOK_SECRET): Promise<WebhookReceiver> {
    let self: WebhookReceiver;
    const server = createServer((req, res) => void self.handle(req, res));
    self = new WebhookReceiver(server, secret);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return self;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/account?token=receiver-path-secret`;
  }

  /** Verified events, first delivery of each id only. */
  get events(): AccountEvent[] {
    const seen = new Set<string>();
    return this.received.filter((r) => !seen.has(r.id) && seen.add(r.id)).map((r) => r.event);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const headers = { 'webhook-id': String(req.headers['webhook-id']), 'webhook-timestamp': String(req.headers['webhook-timestamp']), 'webhook-signature': String(req.headers['webhook-signature']) };
    let event: AccountEvent;
    try {
      event = this.verifier.verify(body, headers) as AccountEvent;
    } catch (err) {
      if (!(err instanceof WebhookVerificationError)) throw err;
      this.rejected++;
      res.writeHead(400).end();
      return;
    }
    const r: Received = { id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], event };
    this.holding++;
    let status: number;
    try {
      status = await this.answer(r);
    } finally {
      this.holding--;
    }
    if (status >= 200 && status < 300) this.received.push(r);
    if (!res.destroyed) res.writeHead(status).end();
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
