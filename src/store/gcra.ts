import type { RateLimitDecision } from './types.js';

/**
 * Rate limiting with GCRA (the generic cell rate algorithm, as in `redis-cell` and many CDNs).
 *
 * Why GCRA rather than a sliding window: per key it keeps one integer, the "theoretical
 * arrival time" (TAT), so a rate-limit key costs the same few bytes whatever the limit, and
 * an attacker spreading requests over many addresses costs us one small key per address. A
 * sliding-window log keeps one entry per event (up to `limit` per key); a sliding-window
 * counter is approximate at window edges. GCRA is exact, gives an exact retry-after for free,
 * and its single read-compare-write fits a tiny Lua script (one round trip, atomic).
 *
 * Semantics for `limit` per `windowMs`: events are spaced by an emission interval
 * T = ceil(windowMs / limit) ms; up to `limit` may come at once (a burst), after which one
 * more is allowed every T ms. `windowMs` after the last event the key is back to a full
 * burst (its TTL runs out). Over any long period at most one event per T passes, i.e. no more
 * than `limit` per window on average. The interval is rounded up to a whole millisecond, so
 * the effective window may exceed `windowMs` by less than `limit` ms, never fall short.
 *
 *   tat   = max(stored TAT, now)
 *   debt  = tat + T − now            (how far ahead of `now` the next event would put us)
 *   allow when debt ≤ T × limit;  store TAT = tat + T with a TTL of `debt`
 *   refused: retry after debt − T × limit ms
 *
 * The Redis implementation runs exactly this in Lua (`gcra` in src/store/redis/scripts/lib.lua),
 * the embedded one calls `gcra()` below; the contract suite holds them to the same answers.
 * Besides the rate-limit keys (`rl:`), the Lua step serves the per-account sign-in limit and the
 * per-session refresh limit, whose state lives in the user and session records.
 */

export interface GcraParams {
  /** Emission interval T, ms (integer ≥ 1). */
  intervalMs: number;
  /** T × limit: the most "debt" allowed, ms. */
  capacityMs: number;
}

const KIND = /^[a-z0-9][a-z0-9-]{0,31}$/;
const SUBJECT = /^[A-Za-z0-9_-]{1,64}$/;

/** Validates the arguments every implementation receives; throws TypeError (programming errors). */
export function gcraParams(kind: string, subject: string, limit: number, windowMs: number, now: number): GcraParams {
  if (typeof kind !== 'string' || !KIND.test(kind)) throw new TypeError('rate limit kind must match [a-z0-9-]{1,32}');
  if (typeof subject !== 'string' || !SUBJECT.test(subject)) throw new TypeError('rate limit subject must be 1–64 characters of [A-Za-z0-9_-] (hash client input)');
  if (!Number.isSafeInteger(now) || now < 0) throw new TypeError('now must be an integer epoch-milliseconds time');
  return gcraRule(limit, windowMs);
}

/**
 * The GCRA parameters of a `limit` per `windowMs` rule. Also what the session scripts take for
 * the limits whose state lives in a user or session record (src/sessions/policy.ts).
 */
export function gcraRule(limit: number, windowMs: number): GcraParams {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new TypeError('rate limit must be a positive integer');
  if (!Number.isSafeInteger(windowMs) || windowMs < limit) throw new TypeError('rate limit window must be an integer number of ms, at least the limit');
  const intervalMs = Math.ceil(windowMs / limit);
  return { intervalMs, capacityMs: intervalMs * limit };
}

/**
 * One GCRA step. `storedTat` is the stored TAT (null when the key is absent). Returns the
 * decision and, when an event is counted, the TAT to store and its TTL.
 */
export function gcra(
  storedTat: number | null,
  p: GcraParams,
  now: number,
  consume: boolean,
): { decision: RateLimitDecision; store: { tat: number; ttlMs: number } | null } {
  const tat = storedTat === null || storedTat < now ? now : storedTat;
  const debt = tat + p.intervalMs - now;
  if (debt > p.capacityMs) {
    return { decision: { allowed: false, remaining: 0, retryAfterMs: debt - p.capacityMs }, store: null };
  }
  const used = consume ? debt : tat - now;
  return {
    decision: { allowed: true, remaining: Math.floor((p.capacityMs - used) / p.intervalMs), retryAfterMs: 0 },
    store: consume ? { tat: tat + p.intervalMs, ttlMs: debt } : null,
  };
}
