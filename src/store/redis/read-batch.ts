import type { Redis } from 'ioredis';
import { RequestBatch, type Job } from '../../util/turn-batch.js';

/**
 * `HGETALL`s of concurrent requests, sent together: everything asked for within one
 * event-loop turn leaves as one explicit pipeline (one network write, one batch of replies).
 * Every authenticated request reads its session and its user; one pipeline per request made
 * the socket write the largest single cost under load (measurements: docs/benchmarks.md,
 * change 1).
 *
 * Errors keep the shape of one pipeline per request: a command's error reaches only the
 * request that asked for it; a pipeline that fails as a whole (connection lost, no replies)
 * fails every request of its batch. That is why this is an explicit pipeline and not ioredis'
 * `enableAutoPipelining` over plain commands: auto-pipelining keeps at most one pipeline in
 * flight per connection (a stalled batch holds up every later one), and on a Cluster it regroups
 * and retries commands on its own, so a lost shard's errors stopped reaching the caller as
 * connection errors (docs/benchmarks.md, change 1).
 *
 * One per store set (src/store/redis/index.ts): session reads and `_entities` user reads
 * (`getUsers`) of the same turn share it. Single node (or Sentinel's master) only: a Cluster
 * pipeline must stay on one node, so the Cluster store keeps one pipeline per request (its
 * two keys share the `{uid}` slot).
 */
export class HashReadBatcher {
  private readonly batch = new RequestBatch<readonly string[], Record<string, string>[]>((jobs) => this.send(jobs));

  constructor(private readonly client: Redis) {}

  /** The hashes at `keys`, in order (`{}` for a missing key). */
  read(keys: readonly string[]): Promise<Record<string, string>[]> {
    return this.batch.request(keys);
  }

  private async send(jobs: readonly Job<readonly string[], Record<string, string>[]>[]): Promise<void> {
    const pipeline = this.client.pipeline();
    for (const job of jobs) for (const key of job.input) pipeline.hgetall(key);
    const replies = await pipeline.exec();
    if (!replies) throw new Error('Redis pipeline returned no replies');
    let at = 0;
    for (const job of jobs) {
      const mine = replies.slice(at, (at += job.input.length));
      const failed = mine.find(([err]) => err);
      if (failed) job.reject(failed[0]);
      else job.resolve(mine.map(([, hash]) => hash as Record<string, string>));
    }
  }
}
