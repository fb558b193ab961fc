import type { SessionActivityStore } from '../types.js';
import type { KeyLayout } from '../keys.js';
import type { RedisClient } from './client.js';

/**
 * One HyperLogLog per time bucket (12 KB at most, whatever the number of sessions). The
 * bucket keys share the `{sessions}` hash tag, so on Cluster one PFCOUNT merges them on one
 * node. Written off the request's critical path (see src/metrics/active-sessions.ts).
 */
export class RedisSessionActivityStore implements SessionActivityStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
  ) {}

  async record(bucket: number, sessionIds: readonly string[], expiresAt: number): Promise<void> {
    if (sessionIds.length === 0) return;
    const key = this.keys.activity(bucket);
    // Both commands go out in one write (auto-pipelining); PEXPIREAT is idempotent per bucket.
    await Promise.all([this.client.pfadd(key, ...sessionIds), this.client.pexpireat(key, Math.ceil(expiresAt))]);
  }

  async count(buckets: readonly number[]): Promise<number> {
    if (buckets.length === 0) return 0;
    return this.client.pfcount(...buckets.map((b) => this.keys.activity(b)));
  }
}
