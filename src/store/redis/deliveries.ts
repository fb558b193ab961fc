import type { KeyLayout } from '../keys.js';
import type { DeliveryRecord, DeliveryStore, StreamDelivery } from '../types.js';
import type { RedisClient } from './client.js';
import { parseEntry } from './event-relay.js';
import { runScript, SCRIPTS } from './lua.js';

/** The consumer group of an endpoint on the event stream. */
export const groupName = (endpoint: string) => `webhook:${endpoint}`;

/**
 * Webhook deliveries in Redis (src/store/types.ts DeliveryStore). The endpoint's consumer group
 * lives on the stream `events`; its retries (`wh:{<ep>}:retry`, `:pending`) and failed records
 * (`:failed`) share the endpoint's hash tag, so each script stays in one Cluster slot. The
 * stream's slot is another: acknowledging a first attempt is a separate step after its outcome is
 * recorded, so a crash in between repeats an attempt (at least once), never loses one.
 */
export class RedisDeliveryStore implements DeliveryStore {
  /** Where each endpoint's XAUTOCLAIM scan goes on (it walks the pending list a page at a time). */
  private readonly claimCursor = new Map<string, string>();

  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
  ) {}

  private k(endpoint: string) {
    return { retry: this.keys.webhook(endpoint, 'retry'), pending: this.keys.webhook(endpoint, 'pending'), failed: this.keys.webhook(endpoint, 'failed') };
  }

  async ensureGroup(endpoint: string): Promise<void> {
    try {
      await this.client.xgroup('CREATE', this.keys.events(), groupName(endpoint), '$', 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
  }

  async readNew(endpoint: string, consumer: string, count: number): Promise<StreamDelivery[]> {
    const reply = (await this.client.xreadgroup('GROUP', groupName(endpoint), consumer, 'COUNT', count, 'STREAMS', this.keys.events(), '>')) as
      | [string, [string, string[]][]][]
      | null;
    return (reply?.[0]?.[1] ?? []).map(([streamId, fields]) => ({ streamId, event: parseEntry(fields) }));
  }

  async claimStale(endpoint: string, consumer: string, idleMs: number, count: number): Promise<StreamDelivery[]> {
    const start = this.claimCursor.get(endpoint) ?? '0-0';
    const [next, entries] = (await this.client.xautoclaim(this.keys.events(), groupName(endpoint), consumer, Math.ceil(idleMs), start, 'COUNT', count)) as [
      string,
      ([string, string[]] | null)[],
      string[]?,
    ];
    this.claimCursor.set(endpoint, next);
    // Entries trimmed from the stream meanwhile come back as null (Redis 6.2) or only in the third element (7.0): gone either way.
    return entries.filter((e): e is [string, string[]] => e !== null && Array.isArray(e[1])).map(([streamId, fields]) => ({ streamId, event: parseEntry(fields) }));
  }

  async ack(endpoint: string, streamIds: readonly string[]): Promise<void> {
    if (streamIds.length > 0) await this.client.xack(this.keys.events(), groupName(endpoint), ...streamIds);
  }

  async claimDue(endpoint: string, now: number, leaseUntil: number, count: number): Promise<{ record: DeliveryRecord; lease: number }[]> {
    const flat = (await runScript(this.client, SCRIPTS.webhookClaim, { keys: this.k(endpoint), args: { now, leaseUntil, count } })) as string[];
    const out: { record: DeliveryRecord; lease: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ record: JSON.parse(flat[i + 1]!) as DeliveryRecord, lease: leaseUntil });
    return out;
  }

  async settle(
    endpoint: string,
    eventId: string,
    lease: number | null,
    outcome: { kind: 'delivered' } | { kind: 'retry'; record: DeliveryRecord; at: number } | { kind: 'failed'; record: DeliveryRecord },
  ): Promise<boolean> {
    const applied = await runScript(this.client, SCRIPTS.webhookSettle, {
      keys: this.k(endpoint),
      args: {
        eventId,
        lease: lease ?? 0,
        outcome: outcome.kind,
        record: outcome.kind === 'delivered' ? '' : JSON.stringify(outcome.record),
        due: outcome.kind === 'retry' ? outcome.at : 0,
      },
    });
    return applied === 1;
  }

  async failed(endpoint: string): Promise<DeliveryRecord[]> {
    const all = await this.client.hgetall(this.k(endpoint).failed);
    return Object.values(all)
      .map((json) => JSON.parse(json) as DeliveryRecord)
      .sort((a, b) => a.event.time - b.event.time || (a.event.id < b.event.id ? -1 : 1));
  }

  async replay(endpoint: string, eventIds: readonly string[] | 'all', now: number): Promise<number> {
    const keys = this.k(endpoint);
    const stored = eventIds === 'all' ? await this.client.hgetall(keys.failed) : Object.fromEntries((await Promise.all(eventIds.map(async (id) => [id, await this.client.hget(keys.failed, id)] as const))).filter(([, v]) => v !== null));
    const records: string[] = [];
    for (const [id, json] of Object.entries(stored)) {
      const r = JSON.parse(json as string) as DeliveryRecord;
      records.push(id, JSON.stringify({ ...r, attempts: 0, firstAttemptAt: now } satisfies DeliveryRecord));
    }
    if (records.length === 0) return 0;
    return Number(await runScript(this.client, SCRIPTS.webhookReplay, { keys, args: { now, records } }));
  }

  async backlog(endpoint: string): Promise<{ unread: number; inFlight: number; retrying: number; failed: number }> {
    const keys = this.k(endpoint);
    const [groups, retrying, failed] = await Promise.all([
      this.client.xinfo('GROUPS', this.keys.events()).catch(() => [] as unknown[]) as Promise<unknown[][]>,
      this.client.zcard(keys.retry),
      this.client.hlen(keys.failed),
    ]);
    const group = groups.map(fields).find((g) => g.name === groupName(endpoint));
    return { unread: Number(group?.lag ?? 0), inFlight: Number(group?.pending ?? 0), retrying, failed };
  }

  async pruneConsumers(endpoint: string, idleMs: number): Promise<number> {
    const consumers = ((await this.client.xinfo('CONSUMERS', this.keys.events(), groupName(endpoint))) as unknown[][]).map(fields);
    let removed = 0;
    for (const c of consumers) {
      if (Number(c.pending) === 0 && Number(c.idle) > idleMs) {
        await this.client.xgroup('DELCONSUMER', this.keys.events(), groupName(endpoint), String(c.name));
        removed++;
      }
    }
    return removed;
  }
}

/** XINFO's flat [name, value, …] → object. */
function fields(flat: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}
