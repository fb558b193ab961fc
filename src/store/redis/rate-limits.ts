import { gcraParams } from '../gcra.js';
import type { KeyLayout } from '../keys.js';
import type { RateLimitDecision, RateLimitStore } from '../types.js';
import type { ScriptedRedis } from './scripts.js';

/**
 * GCRA in one Lua call per decision (`agRateLimit`, src/store/redis/scripts.ts): read, decide
 * and write happen atomically in Redis, so every instance shares each count exactly, and a
 * call is one round trip. One key per (kind, subject), no hash tag needed (single-key script).
 */
export class RedisRateLimitStore implements RateLimitStore {
  constructor(
    private readonly client: ScriptedRedis,
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
    const [allowed, remaining, retryAfterMs] = await this.client.agRateLimit(
      this.keys.rateLimit(kind, subject),
      String(now),
      String(p.intervalMs),
      String(p.capacityMs),
      consume,
    );
    return { allowed: allowed === 1, remaining, retryAfterMs };
  }
}
