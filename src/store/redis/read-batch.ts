import type { Redis } from 'ioredis';

interface Job {
  keys: readonly string[];
  resolve(hashes: Record<string, string>[]): void;
  reject(err: unknown): void;
}

/**
 * `HGETALL`s of concurrent requests, sent together: everything asked for within one
 * event-loop turn leaves as one explicit pipeline (one network write, one batch of replies).
 *
 * Why: every authenticated request reads its session and its user. Sent as one pipeline per
 * request, the socket write alone was the largest single cost in the gateway's profile under
 * load (a system call per request), and each pipeline allocates its own bookkeeping; shared,
 * `me` used 154 → 134 µs of gateway CPU and 11 → 6 µs of Redis CPU per request
 * (docs/benchmarks.md).
 *
 * Why not ioredis' own `enableAutoPipelining` (two plain commands): it keeps at most one
 * pipeline in flight per connection, so a stalled batch holds up every later one, and on a
 * Cluster it regroups commands by node and retries them on its own; with it the Cluster
 * fault suite stopped seeing a lost shard's errors as connection errors (docs/benchmarks.md).
 * An explicit pipeline per turn keeps the error behaviour of the per-request pipeline it
 * replaces: a command's error reaches its own request; a failed pipeline fails its batch.
 *
 * One per store set (src/store/redis/index.ts): session reads and `_entities` user reads
 * (`getUsers`) of the same turn share it.
 *
 * Single node (or Sentinel's master) only: a Cluster pipeline must stay on one node, so the
 * Cluster store keeps one pipeline per request (its two keys share the `{uid}` slot).
 */
export class HashReadBatcher {
  private queue: Job[] = [];

  constructor(private readonly client: Redis) {}

  /** The hashes at `keys`, in order (`{}` for a missing key). */
  read(keys: readonly string[]): Promise<Record<string, string>[]> {
    return new Promise((resolve, reject) => {
      // setImmediate, not a microtask: requests whose bytes arrived in the same poll of the
      // event loop reach this point in separate ticks, and should share the batch.
      if (this.queue.length === 0) setImmediate(this.flush);
      this.queue.push({ keys, resolve, reject });
    });
  }

  private readonly flush = (): void => {
    const jobs = this.queue;
    this.queue = [];
    const pipeline = this.client.pipeline();
    for (const job of jobs) for (const key of job.keys) pipeline.hgetall(key);
    pipeline.exec().then(
      (replies) => {
        if (!replies) {
          for (const job of jobs) job.reject(new Error('Redis pipeline returned no replies'));
          return;
        }
        let at = 0;
        for (const job of jobs) {
          const mine = replies.slice(at, (at += job.keys.length));
          const failed = mine.find(([err]) => err);
          if (failed) job.reject(failed[0]);
          else job.resolve(mine.map(([, hash]) => hash as Record<string, string>));
        }
      },
      (err: unknown) => {
        for (const job of jobs) job.reject(err);
      },
    );
  };
}
