import type { AccountEvent, EventDraft } from '../../src/events/event.js';
import type { Stores } from '../../src/store/types.js';

/** The cursor of the newest event in the log ('0' when empty), after the relays have settled. */
export async function lastCursor(stores: Stores): Promise<string> {
  await stores.events.settled();
  let cursor = '0';
  for (;;) {
    const page = await stores.events.read(cursor, 1000);
    if (page.length === 0) return cursor;
    cursor = page[page.length - 1]!.cursor;
  }
}

/** Every event after `cursor` (of `userId` when given), oldest first, after the relays have settled. */
export async function eventsAfter(stores: Stores, cursor: string, userId?: string): Promise<AccountEvent[]> {
  await stores.events.settled();
  const out: AccountEvent[] = [];
  for (;;) {
    const page = await stores.events.read(cursor, 1000);
    if (page.length === 0) return userId === undefined ? out : out.filter((e) => e.userId === userId);
    out.push(...page.map((p) => p.event));
    cursor = page[page.length - 1]!.cursor;
  }
}

/** Events without what the store stamps (id, time, user): what the policy decides. */
export function drafts(events: readonly AccountEvent[]): EventDraft[] {
  return events.map((e) => ({ type: e.type, data: e.data }) as EventDraft);
}
