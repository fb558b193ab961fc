import { gcraParams } from '../gcra.js';
import type { KeyLayout } from '../keys.js';
import type { RateLimitDecision, RateLimitStore } from '../types.js';
import type { RedisClient } from './client.js';
import { runScript, SCRIPTS } from './lua.js';

/**
 * GCRA in one Lua call per decision (scripts/rate-limit.lua): read, decide
 * and write happen atomically in Redis, so every instance shares each count exactly, and a
 * call is one round trip. One key per (kind, subject), no hash tag needed (single-key script).
 */
export class RedisRateLimitStore implements RateLimitStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
  ) {}

  hit(kind: string, subject: string, limit: number, windowMs: number, now: number): Promise<RateLimitDecision> {
    return this.step(kind, subject, limit, windowMs, now, '1');
  }

  peek(kind: string, subject: string, limit: number, windowMs: number, now: number): Promise<RateLimitDecision> {
    return this.step(kind, subject, limit, windowMs, now, '0');
  }

  private async step(kind: string, subject: string, limit: number, windowMs: number, now: number, consume: '1' | '0'): Promise<RateLimitDecision> {
    const p = gcraParams(kind, subject, limit, windowMs, now);
    const [allowed, remaining, retryAfterMs] = (await runScript(this.client, SCRIPTS.rateLimit, {
      keys: { limit: this.keys.rateLimit(kind, subject) },
      args: { now, intervalMs: p.intervalMs, capacityMs: p.capacityMs, consume },
    })) as [number, number, number];
    return { allowed: allowed === 1, remaining, retryAfterMs };
  }
}
