import { defineSection } from '../section.js';
import { integer } from '../variables.js';

export interface SessionsConfig {
  readonly sessions: {
    /** At most this many live sessions per user; a new sign-in ends the oldest (by creation). */
    readonly maxPerUser: number;
  };
}

export const sessions = defineSection({
  title: 'Sessions',
  variables: {
    // The default is a backstop rather than a policy: no one has a hundred devices, but without
    // a cap one reusable ID token could open sessions (and grow a user's session index) without
    // bound. The bound is small because eviction reads each session's creation time inside one
    // Lua script.
    MAX_SESSIONS_PER_USER: integer('most live sessions per user; a new sign-in ends the user’s oldest sessions (by creation) beyond it', 100, { min: 1, max: 1000 }),
  },
  read: (v): SessionsConfig => ({ sessions: { maxPerUser: v.MAX_SESSIONS_PER_USER } }),
});
