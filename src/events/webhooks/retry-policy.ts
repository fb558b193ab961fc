/**
 * When a failed webhook delivery is tried again, as a pure function (time is a parameter; the
 * deliverer passes its injected clock, so tests move through days of backoff without waiting).
 *
 * Exponential backoff: the n-th retry waits WEBHOOK_RETRY_INITIAL × 2^(n−1), at most
 * MAX_RETRY_DELAY_MS, after the attempt that failed. A delivery is retried for at least
 * WEBHOOK_RETRY_FOR: it gives up only after an attempt that fails once that much time has
 * passed since its first attempt, and is then kept as failed (never dropped).
 */
export const MAX_RETRY_DELAY_MS = 4 * 3_600_000;

export interface RetryRules {
  /** WEBHOOK_RETRY_INITIAL */
  initialMs: number;
  /** WEBHOOK_RETRY_FOR */
  retryForMs: number;
}

export type NextAttempt = { kind: 'retry'; at: number } | { kind: 'give_up' };

/** After the `attempts`-th attempt (1 = the first) failed at `now`; `firstAttemptAt`: when the first one started. */
export function nextAttempt(attempts: number, firstAttemptAt: number, now: number, rules: RetryRules): NextAttempt {
  if (now - firstAttemptAt >= rules.retryForMs) return { kind: 'give_up' };
  const delay = Math.min(rules.initialMs * 2 ** Math.min(attempts - 1, 40), MAX_RETRY_DELAY_MS);
  return { kind: 'retry', at: now + delay };
}
