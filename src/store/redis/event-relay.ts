import type { Cluster, Redis } from 'ioredis';
import type { AccountEvent } from '../../events/event.js';
import { randomId } from '../../sessions/ids.js';
import type { KeyLayout } from '../keys.js';
import type { EventLogEntry, EventLogStore, LockStore } from '../types.js';
import type { RedisClient } from './client.js';
import { runScript, SCRIPTS } from './lua.js';

/** Where a script appends a user's events, and whether that target is trimmed by age (0: an outbox). */
export interface EventTarget {
  key: string;
  retentionMs: number;
}

/** Events moved per relay round trip. */
const BATCH = 100;
/** The relay's lock on one outbox: longer than a few round trips, short enough that a dead relay's lock soon frees. */
const RELAY_LOCK_MS = 10_000;
/** The sweep's lock: one instance sweeps at a time (each sweep reads every master's keyspace). */
const SWEEP_LOCK = 'events-sweep';
const SWEEP_LOCK_MS = 60_000;

/**
 * The account event log in Redis: the stream `events` (src/store/keys.ts), and on Redis Cluster
 * the relay from each user's outbox to it.
 *
 * Why an outbox on Cluster: an event must be appended in the same atomic step as its change
 * (one Lua script), and a Cluster node refuses a script whose keys lie in two slots. A user's
 * keys carry the `{uid}` tag, the stream cannot carry every user's tag, so the script appends
 * to `outbox:{uid}` (the user's slot) and this relay moves the outbox to the stream right after
 * the write, off the request's path. Order per user holds: one relay per outbox at a time (a
 * lock in the user's slot), moving entries in outbox order. A relay that dies between appending
 * to the stream and acknowledging leaves its batch in the outbox; the next relay moves it again,
 * so after a crash an event can appear twice in the stream (consumers de-duplicate by its id,
 * as they must anyway: delivery is at least once). An outbox left behind by a dead instance is
 * moved by `sweep` (every instance runs it periodically; one at a time, under a lock; SCAN
 * per master node, never KEYS). One stream keeps consumers simple: one key to read, one
 * consumer group per consumer; streams per slot would give them 16,384 keys to follow.
 *
 * On a single node or Sentinel there is no slot rule: the scripts append to the stream
 * itself and nothing here runs.
 */
export class RedisEventLog implements EventLogStore {
  private readonly relays = new Set<Promise<unknown>>();

  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
    private readonly retentionMs: number,
    private readonly locks: LockStore,
    private readonly log: { warn(obj: object, msg: string): void } | null,
  ) {}

  /** Where the account scripts append `userId`'s events. */
  target(userId: string): EventTarget {
    return this.client.isCluster ? { key: this.keys.outbox(userId), retentionMs: 0 } : { key: this.keys.events(), retentionMs: this.retentionMs };
  }

  /** A script appended `count` events for `userId`: on Cluster, relay them now (not awaited: `settled`). */
  appended(userId: string, count: number): void {
    if (!this.client.isCluster || count === 0) return;
    this.track(this.relay(userId));
  }

  async read(cursor: string, count: number): Promise<EventLogEntry[]> {
    const start = cursor === '0' ? '-' : `(${cursor}`;
    const entries = (await this.client.xrange(this.keys.events(), start, '+', 'COUNT', count)) as [string, string[]][];
    return entries.map(([id, fields]) => ({ cursor: id, event: parseEntry(fields) }));
  }

  async settled(): Promise<void> {
    while (this.relays.size > 0) await Promise.all([...this.relays]);
  }

  async sweep(): Promise<number> {
    if (!this.client.isCluster) return 0;
    if (!(await this.locks.acquire(SWEEP_LOCK, SWEEP_LOCK_MS))) return 0;
    try {
      let moved = 0;
      const pattern = `${globEscape(this.keys.prefix)}outbox:*`;
      for (const node of (this.client as Cluster).nodes('master')) {
        for (let cursor = '0'; ; ) {
          const [next, keys] = await (node as Redis).scan(cursor, 'MATCH', pattern, 'COUNT', 1000, 'TYPE', 'stream');
          for (const key of keys) {
            const uid = /\{([^}]+)\}$/.exec(key)?.[1];
            if (uid) moved += await this.relay(uid);
          }
          if ((cursor = next) === '0') break;
        }
      }
      return moved;
    } finally {
      await this.locks.release(SWEEP_LOCK);
    }
  }

  private track(p: Promise<number>): void {
    const tracked = p
      .catch((err: unknown) => this.log?.warn({ err }, 'relaying account events to the stream failed; the periodic sweep moves them'))
      .finally(() => this.relays.delete(tracked));
    this.relays.add(tracked);
  }

  /**
   * Moves `userId`'s outbox to the stream; how many events moved. Without the lock it does
   * nothing: the holder moves these events too (relay-ack.lua says why none is left behind).
   */
  private async relay(userId: string): Promise<number> {
    const outbox = this.keys.outbox(userId);
    const lock = this.keys.relayLock(userId);
    const token = randomId();
    // Lock and first batch in one round trip: both keys carry the user's tag, so one node.
    const replies = await this.client.pipeline().set(lock, token, 'PX', RELAY_LOCK_MS, 'NX').xrange(outbox, '-', '+', 'COUNT', BATCH).exec();
    if (!replies || replies[0]![0] || replies[0]![1] !== 'OK') return 0;
    if (replies[1]![0]) throw replies[1]![0];
    let batch = replies[1]![1] as [string, string[]][];
    let moved = 0;
    for (;;) {
      if (batch.length > 0) {
        await runScript(this.client, SCRIPTS.appendEvents, {
          keys: { events: this.keys.events() },
          args: { retentionMs: this.retentionMs, docs: batch.map(([, fields]) => fieldValue(fields, 'event')) },
        });
        moved += batch.length;
      }
      const left = Number(
        await runScript(this.client, SCRIPTS.relayAck, { keys: { outbox, lock }, args: { token, lockMs: RELAY_LOCK_MS, ids: batch.map(([id]) => id) } }),
      );
      if (left <= 0) return moved;
      batch = (await this.client.xrange(outbox, '-', '+', 'COUNT', BATCH)) as [string, string[]][];
    }
  }
}

function fieldValue(fields: string[], name: string): string {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1]!;
  throw new Error(`event stream entry without an "${name}" field`);
}

/** A stream entry's event. */
export function parseEntry(fields: string[]): AccountEvent {
  return JSON.parse(fieldValue(fields, 'event')) as AccountEvent;
}

/** A literal for SCAN MATCH: the prefix is configurable and may hold glob characters. */
function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
