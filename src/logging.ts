/**
 * Log output on the request path, made cheap enough to leave on at `info` (issue: performance;
 * docs/benchmarks.md has the measurements).
 *
 * - Redaction works on the finished line: a line that names none of the secret fields (every
 *   line, in practice) costs a few substring scans; one that does is parsed and every such
 *   field, at any depth, is replaced. pino's own `redact` with wildcard paths (`*.idToken`)
 *   instead runs a clone-and-walk for every property of every line, which cost more than the
 *   rest of the logging together, and it only looked one level deep.
 * - Lines are written to stdout in batches, once per event-loop turn, instead of with one
 *   `write(2)` each: under load a turn handles many requests, and the system call was the other
 *   half of the cost. The batch is flushed on `exit` too (process.exit, the end of the event
 *   loop, an uncaught exception); only a SIGKILL can lose the lines of the current turn.
 */

/** Field names whose values never reach a log line, at any depth. */
export const SECRET_LOG_FIELDS: readonly string[] = Object.freeze(['authorization', 'idToken', 'refreshToken', 'accessToken', 'nonce']);
export const REDACTED = '[redacted]';

/** A secret field as a key in JSON, `"idToken":`. Quotes inside string values are escaped, so only keys match. */
const MARKER = new RegExp(`"(?:${SECRET_LOG_FIELDS.join('|')})":`);
const SECRET = new Set(SECRET_LOG_FIELDS);

/** pino `hooks.streamWrite`: the line with every secret field's value replaced by `[redacted]`. */
export function redactLogLine(line: string): string {
  if (!MARKER.test(line)) return line;
  try {
    return `${JSON.stringify(JSON.parse(line), (key, value: unknown) => (SECRET.has(key) ? REDACTED : value))}\n`;
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
  private pending: string[] = [];
  private scheduled = false;
  private closed = false;

  constructor(private readonly out: (chunk: string) => void = (chunk) => process.stdout.write(chunk)) {
    live.add(this);
    if (!exitListener) {
      exitListener = true;
      process.on('exit', () => {
        for (const w of live) w.flush();
      });
    }
  }

  write(line: string): boolean {
    if (this.closed) {
      this.out(line);
      return true;
    }
    this.pending.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return true;
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const chunk = this.pending.join('');
    this.pending = [];
    this.out(chunk);
  }

  close(): void {
    this.flush();
    this.closed = true;
    live.delete(this);
  }
}
