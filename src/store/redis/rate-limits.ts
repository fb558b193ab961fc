import { gcra, gcraParams } from '../gcra.js';
import type { KeyLayout } from '../keys.js';
import type { RateLimitDecision, RateLimitStore } from '../types.js';
import type { RedisClient } from './client.js';
import { runScript, SCRIPTS } from './lua.js';

/**
 * GCRA in one Lua call per counted decision (scripts/rate-limit.lua): read, decide and write
 * happen atomically in Redis, so every instance shares each count exactly, and a call is one
 * round trip. One key per (kind, subject), no hash tag needed (single-key script). A peek
 * writes nothing, so it is a plain GET (one read is atomic on its own) and the decision is
 * gcra() itself, here: the script's answer without the cost of running a script in Redis.
 */
export class RedisRateLimitStore implements RateLimitStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
  ) {}

  async hit(kind: string, subject: string, limit: number, windowMs: number, now: number): Promise<RateLimitDecision> {
    const p = gcraParams(kind, subject, limit, windowMs, now);
    const [allowed, remaining, retryAfterMs] = (await runScript(this.client, SCRIPTS.rateLimit, {
      keys: { limit: this.keys.rateLimit(kind, subject) },
      args: { now, intervalMs: p.intervalMs, capacityMs: p.capacityMs, consume: '1' },
    })) as [number, number, number];
    return { allowed: allowed === 1, remaining, retryAfterMs };
  }

  async peek(kind: string, subject: string, limit: number, windowMs: number, now: number): Promise<RateLimitDecision> {
    const p = gcraParams(kind, subject, limit, windowMs, now);
    const stored = await this.client.get(this.keys.rateLimit(kind, subject));
    // As the script's `tonumber(GET)`: an absent (or unreadable) value is no state.
    const tat = stored === null ? null : Number(stored);
    return gcra(tat === null || Number.isNaN(tat) ? null : tat, p, now, false).decision;
  }
}
