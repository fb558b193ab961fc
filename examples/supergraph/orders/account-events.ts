import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import type { OrderBook } from './schema.js';

/**
 * How the orders subgraph learns that an account was deleted: the auth gateway's webhook
 * (WEBHOOK_ENDPOINTS pointing here, the same WEBHOOK_SECRET on both sides). Orders is another
 * team's service with its own storage: it should not need the auth gateway's Redis, so it takes
 * the webhook rather than reading the event stream with a consumer group.
 *
 * A request is believed only once `standardwebhooks` has verified its signature and timestamp;
 * anything else is answered 400 and changes nothing. Delivery is at least once: erasing is
 * idempotent, and ids already handled are remembered so a repeat is answered without work.
 * Answering 2xx only after the erasure means a crash before it gets the event again.
 */
export interface AccountEventsReceiver {
  url: string;
  stop(): Promise<void>;
}

interface AccountEvent {
  id: string;
  type: string;
  userId: string;
}

/** Most event ids remembered for de-duplication (the oldest are forgotten first; a forgotten repeat is only erased again). */
const REMEMBERED_IDS = 10_000;

export async function startAccountEventsReceiver(book: OrderBook, opts: { secret: string; port: number; host?: string }): Promise<AccountEventsReceiver> {
  const verifier = new Webhook(opts.secret);
  const handled = new Set<string>();
  const server: Server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url?.split('?')[0] !== '/account-events') {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 64 * 1024) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      let event: AccountEvent;
      try {
        event = verifier.verify(Buffer.concat(chunks).toString('utf8'), {
          'webhook-id': String(req.headers['webhook-id']),
          'webhook-timestamp': String(req.headers['webhook-timestamp']),
          'webhook-signature': String(req.headers['webhook-signature']),
        }) as AccountEvent;
      } catch (err) {
        res.writeHead(err instanceof WebhookVerificationError ? 400 : 500).end();
        return;
      }
      if (!handled.has(event.id)) {
        // The only event this service acts on; the others are acknowledged and ignored.
        if (event.type === 'user.deleted') book.erase(event.userId);
        handled.add(event.id);
        if (handled.size > REMEMBERED_IDS) handled.delete(handled.values().next().value!);
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port, opts.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}/account-events`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
