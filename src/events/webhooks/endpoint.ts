import { createHash } from 'node:crypto';

/**
 * A webhook endpoint as the gateway names it everywhere but in the request itself: an id derived
 * from its URL (stable while the URL is: its consumer group, its Redis keys, the metrics label,
 * the CLI) and its origin (scheme, host, port). The full URL may carry a secret in its path or
 * query (many receivers put a token there), so it is used to send and nowhere else: never logged,
 * never a label, never printed.
 */
export interface Endpoint {
  readonly id: string;
  readonly url: string;
  readonly origin: string;
}

export function endpoint(url: string): Endpoint {
  return { id: createHash('sha256').update(url).digest('hex').slice(0, 12), url, origin: new URL(url).origin };
}
