import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';
import type { Bindings, ChildLoggerOptions, Level } from 'pino';

type Method = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * `request.log`, without a pino child logger per request. Fastify makes one for every request
 * (bindings `{ reqId }`), and building it is a good share of what a log line costs; yet most
 * requests log one line only, the completion line (src/http/request-log.ts). That line is
 * written through the parent with the bindings as its first fields, which is byte for byte the
 * line the child would write: pino renders a child's bindings right after the parent's, before
 * the line's own fields (test/http/request-logger.test.ts compares the bytes). The real child
 * is built the first time anything else logs through `request.log` at an enabled level.
 */
export class RequestLogger implements FastifyBaseLogger {
  private real: FastifyBaseLogger | null = null;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions | undefined,
  ) {}

  /** Fastify's `childLoggerFactory`. Route-level options (a level, serializers) get a real child at once. */
  static readonly factory: NonNullable<FastifyServerOptions['childLoggerFactory']> = (logger, bindings, options) =>
    options && hasKeys(options) ? logger.child(bindings, options) : new RequestLogger(logger, bindings, undefined);

  /** Logs `fields` with this request's bindings, at `level` (the completion line). */
  line(level: Method, fields: object, msg: string): void {
    if (this.real) this.real[level](fields, msg);
    else if (this.enabled(level)) this.parent[level]({ ...this.bindings, ...fields }, msg);
  }

  get level(): string {
    return this.materialize().level;
  }

  set level(level: string) {
    this.materialize().level = level;
  }

  fatal(...args: unknown[]): void {
    this.log('fatal', args);
  }
  error(...args: unknown[]): void {
    this.log('error', args);
  }
  warn(...args: unknown[]): void {
    this.log('warn', args);
  }
  info(...args: unknown[]): void {
    this.log('info', args);
  }
  debug(...args: unknown[]): void {
    this.log('debug', args);
  }
  trace(...args: unknown[]): void {
    this.log('trace', args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.materialize().child(bindings, options);
  }

  private log(level: Method, args: unknown[]): void {
    if (!this.real && !this.enabled(level)) return;
    (this.materialize()[level] as (...a: unknown[]) => void)(...args);
  }

  /** pino's own test; a parent without one (never ours) is asked through a child. */
  private enabled(level: Level): boolean {
    const parent = this.parent as FastifyBaseLogger & { isLevelEnabled?(level: string): boolean };
    return parent.isLevelEnabled ? parent.isLevelEnabled(level) : true;
  }

  private materialize(): FastifyBaseLogger {
    this.real ??= this.parent.child(this.bindings, this.options);
    return this.real;
  }
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}
