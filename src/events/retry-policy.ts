/**
 * When a failed delivery from the event stream is tried again (a webhook, an Apple token
 * revocation: src/events/stream-worker.ts), as a pure function (time is a parameter; the
 * workers pass their injected clock, so tests move through days of backoff without waiting).
 *
 * Exponential backoff: the n-th retry waits WEBHOOK_RETRY_INITIAL × 2^(n−1), at most
 * MAX_RETRY_DELAY_MS, after the attempt that failed. A delivery is retried for at least
 * WEBHOOK_RETRY_FOR: it gives up only after an attempt that fails once that much time has
 * passed since its first attempt, and is then kept as failed (never dropped).
 */
export const MAX_RETRY_DELAY_MS = 4 * 3_600_000;

export interface RetryRules {
  /** The first retry's delay (WEBHOOK_RETRY_INITIAL for webhooks). */
  initialMs: number;
  /** How long to retry (WEBHOOK_RETRY_FOR); Infinity: until it succeeds (Apple revocations). */
  retryForMs: number;
}

export type NextAttempt = { kind: 'retry'; at: number } | { kind: 'give_up' };

/** After the `attempts`-th attempt (1 = the first) failed at `now`; `firstAttemptAt`: when the first one started. */
export function nextAttempt(attempts: number, firstAttemptAt: number, now: number, rules: RetryRules): NextAttempt {
  if (now - firstAttemptAt >= rules.retryForMs) return { kind: 'give_up' };
  const delay = Math.min(rules.initialMs * 2 ** Math.min(attempts - 1, 40), MAX_RETRY_DELAY_MS);
  return { kind: 'retry', at: now + delay };
}
