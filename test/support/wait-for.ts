/**
 * Polls `condition` until it returns a value other than false/null/undefined, and returns that
 * value; throws after `timeoutMs` with `what` and the last value seen. For tests that wait on a
 * condition (a log line, a readiness answer, a count) instead of sleeping a fixed time: the
 * deadline is generous, and a fast machine does not wait for it.
 */
export async function waitFor<T>(
  what: string,
  condition: () => T | false | null | undefined | Promise<T | false | null | undefined>,
  { timeoutMs = 10_000, intervalMs = 20 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== false && value !== null && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
