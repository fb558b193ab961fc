import { DEFAULT_EVENTS_RETENTION_MS } from '../../events/event.js';
import { defineSection } from '../section.js';
import { duration } from '../variables.js';

export interface EventsConfig {
  readonly events: {
    /** How long the account event stream keeps an event (src/events/event.ts; trimmed by age, never by count). */
    readonly retentionMs: number;
  };
}

export const events = defineSection({
  title: 'Account events',
  variables: {
    EVENTS_RETENTION: duration(
      'how long the account event stream (`<prefix>events`) keeps an event; the stream is trimmed by age, never by count, so a consumer that falls behind loses nothing younger (see [Account events and webhooks](#account-events-and-webhooks))',
      DEFAULT_EVENTS_RETENTION_MS,
      { min: '1h' },
    ),
  },
  read: (v): EventsConfig => ({ events: { retentionMs: v.EVENTS_RETENTION } }),
});
