/**
 * Time for the key cache: what time it is and when to call back. Every reading of the time and
 * every timeout (fetch, store call, wait for keys, lock polling) goes through one `Clock`, so a
 * test can drive freshness, back-off, cooldown and timeouts by advancing a manual clock instead
 * of waiting in real time.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `fn` once, `ms` from now on this clock; the returned function cancels it. */
  setTimeout(fn: () => void, ms: number): () => void;
}

function systemTimeout(fn: () => void, ms: number): () => void {
  const timer = setTimeout(fn, ms);
  return () => clearTimeout(timer);
}

/** The real clock. */
export const systemClock: Clock = Object.freeze({ now: () => Date.now(), setTimeout: systemTimeout });

/** A clock reading `now` (e.g. the gateway's injected time) with real timers. */
export function clockWithNow(now: () => number): Clock {
  return { now, setTimeout: systemTimeout };
}

/** Resolves after `ms` on `clock`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/**
 * `op`, or a rejection with `onTimeout()` when it has not settled `ms` after the call. `op`
 * itself goes on (its result is dropped); the timer is cancelled when `op` settles first.
 */
export function withTimeout<T>(clock: Clock, op: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let cancel: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
    cancel = clock.setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([op, deadline]).finally(() => cancel?.());
}

/** An AbortSignal that aborts with a `TimeoutError` `ms` from now on `clock` (like `AbortSignal.timeout`). */
export function timeoutSignal(clock: Clock, ms: number): { signal: AbortSignal; cancel: () => void } {
  const controller = new AbortController();
  const cancel = clock.setTimeout(() => controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')), ms);
  return { signal: controller.signal, cancel };
}
