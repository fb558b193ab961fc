import { defineSection } from '../section.js';
import { duration } from '../variables.js';

/** Graceful shutdown (src/http/lifecycle.ts). */
export interface ShutdownConfig {
  readonly shutdown: {
    /** After a stop signal, /readyz answers 503 but requests are still served for this long (load balancers notice). */
    readonly delayMs: number;
    /** Then the listener closes and in-flight requests get at most this long to finish. */
    readonly timeoutMs: number;
  };
}

export const shutdown = defineSection({
  title: 'Shutdown',
  variables: {
    SHUTDOWN_DELAY: duration(
      'after SIGTERM/SIGINT, how long to keep serving while `/readyz` answers 503, so load balancers stop sending first (see [Shutdown](#shutdown))',
      '0s',
    ),
    SHUTDOWN_TIMEOUT: duration('then, how long requests in flight may take to finish before their connections are cut', '10s', { min: '1s' }),
  },
  read: (v): ShutdownConfig => ({ shutdown: { delayMs: v.SHUTDOWN_DELAY, timeoutMs: v.SHUTDOWN_TIMEOUT } }),
});
