/** Parses `90`, `90s`, `15m`, `12h`, `30d`, `500ms` into milliseconds. Plain numbers are seconds. */
export function parseDuration(input: string): number {
  const m = /^\s*(\d{1,9})\s*(ms|s|m|h|d)?\s*$/.exec(input);
  if (!m) throw new Error(`expected a duration such as 90s, 15m, 12h or 30d, got "${input}"`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit]!;
  return n * factor;
}

/** The inverse, in the largest unit that divides `ms` exactly: `formatDuration(2_592_000_000)` is `30d`. */
export function formatDuration(ms: number): string {
  for (const [unit, factor] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms >= factor && ms % factor === 0) return `${ms / factor}${unit}`;
  }
  return ms === 0 ? '0s' : `${ms}ms`;
}
