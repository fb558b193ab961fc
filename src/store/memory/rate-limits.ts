import { gcra, gcraParams } from '../gcra.js';
import type { RateLimitDecision, RateLimitStore } from '../types.js';
import { TtlMap, type Clock } from './ttl-map.js';

/** Expired entries are swept after this many writes, so many distinct subjects cannot grow the map for long. */
const SWEEP_EVERY = 1024;

/**
 * GCRA in process (src/store/gcra.ts), with the Redis semantics: one TAT per (kind, subject),
 * dropped `ttl` after its last event by the store's clock like a Redis PX. Node runs one callback
 * at a time and nothing here awaits between read and write, so each call is atomic.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly tats: TtlMap<number>;
  private writes = 0;

  constructor(private readonly clock: Clock = Date.now) {
    this.tats = new TtlMap(clock);
  }

  async hit(kind: string, subject: string, limit: number, windowMs: number, now: number): Promise<RateLimitDecision> {
    return this.step(kind, subject, limit, windowMs, now, true);
  }

  async peek(kind: string, subject: string, limit: number, windowMs: number, now: number): Promise<RateLimitDecision> {
    return this.step(kind, subject, limit, windowMs, now, false);
  }

  private step(kind: string, subject: string, limit: number, windowMs: number, now: number, consume: boolean): RateLimitDecision {
    const params = gcraParams(kind, subject, limit, windowMs, now);
    const key = `${kind}:${subject}`;
    const { decision, store } = gcra(this.tats.get(key) ?? null, params, now, consume);
    if (store) {
      this.tats.set(key, store.tat, this.clock() + store.ttlMs);
      if (++this.writes % SWEEP_EVERY === 0) this.tats.sweep();
    }
    return decision;
  }

  /** Live and not-yet-swept entries (tests). */
  get size(): number {
    return this.tats.size;
  }
}
