import { TurnBatch } from './util/turn-batch.js';

/**
 * Log output on the request path, cheap enough to leave on at `info` (measurements:
 * docs/benchmarks.md).
 *
 * - Redaction works on the finished line: a line that names none of the secret fields (every
 *   line, in practice) costs one regex scan; one that does is parsed and every such field, at
 *   any depth, is replaced. pino's own `redact` with wildcard paths (`*.idToken`) is not used:
 *   it clones and walks every property of every line (and every child logger's bindings), and
 *   it only looks one level deep.
 * - Lines are written to stdout in batches, once per event-loop turn, instead of with one
 *   `write(2)` each: under load a turn handles many requests, and a system call per line is a
 *   large part of what logging costs. The batch is flushed on `exit` too (process.exit, the end of the event
 *   loop, an uncaught exception); only a SIGKILL can lose the lines of the current turn.
 */

/** Field names whose values never reach a log line, at any depth. */
export const SECRET_LOG_FIELDS: readonly string[] = Object.freeze([
  'authorization',
  'cookie',
  'idToken',
  'refreshToken',
  'accessToken',
  'nonce',
  'password',
]);
/**
 * Fields secret only under a given parent: ioredis attaches a failed command to its error as
 * `command: { name, args }`, and the arguments are keys, profile data and token hashes.
 */
export const SECRET_LOG_CHILD_FIELDS: Readonly<Record<string, readonly string[]>> = Object.freeze({ command: ['args'] });
export const REDACTED = '[redacted]';

/** A field as a key in JSON, `"idToken":`. Quotes inside string values are escaped, so only keys match. */
const MARKER = new RegExp(`"(?:${[...SECRET_LOG_FIELDS, ...Object.keys(SECRET_LOG_CHILD_FIELDS)].join('|')})":`);
const SECRET = new Set(SECRET_LOG_FIELDS);
const CHILD_SECRETS = new Map(Object.entries(SECRET_LOG_CHILD_FIELDS));

function scrub(value: unknown, parentKey: string | null): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, null));
  const childSecrets = parentKey === null ? undefined : CHILD_SECRETS.get(parentKey);
  const out = Object.create(null) as Record<string, unknown>; // a `__proto__` key stays a plain key
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET.has(k) || childSecrets?.includes(k) ? REDACTED : scrub(v, k);
  }
  return out;
}

/** pino `hooks.streamWrite`: the line with every secret field's value replaced by `[redacted]`. */
export function redactLogLine(line: string): string {
  if (!MARKER.test(line)) return line;
  try {
    return `${JSON.stringify(scrub(JSON.parse(line), null))}\n`;
  } catch {
    // Not JSON (never from pino): drop it rather than risk writing a secret.
    return `${JSON.stringify({ level: 50, time: Date.now(), msg: 'a log line naming a secret field could not be parsed; withheld' })}\n`;
  }
}

/** Writers with lines possibly pending; one `exit` listener flushes them all. */
const live = new Set<BatchedLineWriter>();
let exitListener = false;

/**
 * A pino destination that writes what one event-loop turn logged with one write. After
 * `close()` it writes each line at once (a gateway that closed may still log on the way out).
 */
export class BatchedLineWriter {
  private readonly lines: TurnBatch<string>;
  private closed = false;

  constructor(private readonly out: (chunk: string) => void = (chunk) => process.stdout.write(chunk)) {
    this.lines = new TurnBatch<string>({
      flush: (lines) => {
        out(lines.join(''));
      },
      // A write that throws (stdout gone) is the process's failure, as it was with a write per line.
      onError: (err) => {
        throw err;
      },
    });
    live.add(this);
    if (!exitListener) {
      exitListener = true;
      process.on('exit', () => {
        for (const w of live) w.flush();
      });
    }
  }

  write(line: string): boolean {
    if (this.closed) this.out(line);
    else this.lines.add(line);
    return true;
  }

  /** Writes the pending lines now (the `exit` listener; `close()`). */
  flush(): void {
    this.lines.flush();
  }

  close(): void {
    this.flush();
    this.closed = true;
    live.delete(this);
  }
}
