import { parseDuration } from './duration.js';

/** `<limit>/<window>`: at most `limit` events per `window` (a duration: `30/1m`, `10/10m`, `5/90s`). */
export interface RateLimitRule {
  readonly limit: number;
  readonly windowMs: number;
}

const MIN_WINDOW_MS = 1_000;
const MAX_WINDOW_MS = 86_400_000;

export function parseRateLimitRule(input: string): RateLimitRule {
  const m = /^\s*(\d{1,9})\s*\/\s*(\S+)\s*$/.exec(input);
  if (!m) throw new Error(`expected <limit>/<window> such as 30/1m, got "${input.slice(0, 40)}"`);
  const limit = Number(m[1]);
  const windowMs = parseDuration(m[2]!);
  if (limit < 1) throw new Error('the limit must be at least 1');
  if (windowMs < MIN_WINDOW_MS || windowMs > MAX_WINDOW_MS) throw new Error('the window must be between 1s and 1d');
  // The limiter spaces events at least 1 ms apart (integer milliseconds in Redis).
  if (limit > windowMs) throw new Error('the limit must not exceed the window in milliseconds');
  return Object.freeze({ limit, windowMs });
}

