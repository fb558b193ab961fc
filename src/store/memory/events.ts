import { randomId } from '../../sessions/ids.js';
import { stamp, type EventDraft } from '../../events/event.js';
import type { EventLogEntry, EventLogStore } from '../types.js';
import type { Clock } from './ttl-map.js';

/**
 * The embedded event log: a Redis stream's semantics over an array. Cursors are stream-like
 * ids, `<ms>-<n>` by the data's clock, strictly increasing; entries older than the retention
 * (by that clock) are dropped on each append, as XADD … MINID does.
 */
export class MemoryEventLog {
  private readonly entries: EventLogEntry[] = [];
  private lastMs = 0;
  private seq = 0;

  constructor(
    private readonly clock: Clock,
    private readonly retentionMs: number,
  ) {}

  /** Appends one step's events (stamped with one id base, `time`, the user), in order. */
  append(userId: string, drafts: readonly EventDraft[], time: number): void {
    if (drafts.length === 0) return;
    const ms = Math.max(this.clock(), this.lastMs);
    for (const event of stamp(drafts, randomId(), time, userId)) {
      this.seq = ms === this.lastMs ? this.seq + 1 : 0;
      this.lastMs = ms;
      this.entries.push({ cursor: `${ms}-${this.seq}`, event });
    }
    const oldest = ms - this.retentionMs;
    let drop = 0;
    while (drop < this.entries.length && cursorMs(this.entries[drop]!.cursor) < oldest) drop++;
    if (drop > 0) this.entries.splice(0, drop);
  }

  store(): EventLogStore {
    return {
      read: async (cursor, count) => {
        const after = parseCursor(cursor);
        return structuredClone(this.entries.filter((e) => compare(parseCursor(e.cursor), after) > 0).slice(0, count));
      },
      settled: async () => undefined,
      sweep: async () => 0,
    };
  }
}

const cursorMs = (c: string) => Number(c.split('-')[0]);
function parseCursor(c: string): [number, number] {
  const [ms, n] = c.split('-');
  return [Number(ms), Number(n ?? 0)];
}
function compare(a: [number, number], b: [number, number]): number {
  return a[0] - b[0] || a[1] - b[1];
}
