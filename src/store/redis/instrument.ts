import type { RedisClient } from './client.js';

/** What the instrumentation reports; both are optional. */
export interface RedisObserver {
  /** Every command the stores send, with its duration and its error (null on success). */
  command?(name: string, seconds: number, error: unknown): void;
  /** Connection trouble ioredis reports as `error` events (it reconnects by itself). */
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/** At most one connection-error log line per this period: while Redis is down ioredis retries every second. */
const CONNECTION_WARNING_INTERVAL_MS = 10_000;

interface CommandLike {
  name: string;
  /** ioredis settles the command's promise through these two (Command.ts); each is called once. */
  resolve(value: unknown): unknown;
  reject(err: unknown): unknown;
}

/**
 * Observes every command and connection event of a client.
 *
 * ioredis has no command hooks, but every command (direct, pipelined, auto-pipelined, in a
 * MULTI, a Lua script) goes through the client's public `sendCommand(command, stream, node)`;
 * wrapping it once at the top (not on Cluster node connections) sees each command exactly
 * once. A Lua script's NOSCRIPT retry and a Cluster MOVED/ASK redirection are not counted as
 * errors: the command's outcome is the retry's.
 *
 * It also gives the client `error` listeners: without one ioredis prints "Unhandled error
 * event" to stderr on every reconnect attempt, outside the JSON logs.
 */
export function instrumentRedis(client: RedisClient, observer: RedisObserver): void {
  const { command: onCommand, log } = observer;
  if (onCommand) {
    const target = client as unknown as { sendCommand(command: CommandLike, ...rest: unknown[]): unknown };
    const send = target.sendCommand.bind(client);
    target.sendCommand = (command: CommandLike, ...rest: unknown[]) => {
      // ioredis' own CLIENT SETINFO on connect, refused by Redis < 7.2: not the stores' traffic.
      if (command.name === 'client') return send(command, ...rest);
      // Observed where ioredis settles the command, not through `command.promise.then(…)`:
      // the same moment, without a derived promise and a microtask per command.
      const started = performance.now();
      const { resolve, reject } = command;
      command.resolve = (value) => {
        onCommand(command.name, (performance.now() - started) / 1000, null);
        return resolve(value);
      };
      command.reject = (err) => {
        // NOSCRIPT is not the command's outcome: ioredis sends the script again as a new command,
        // observed in its turn (a Cluster's MOVED/ASK never get here: its own wrapper retries them).
        if (!isNoScript(err)) onCommand(command.name, (performance.now() - started) / 1000, err);
        return reject(err);
      };
      return send(command, ...rest);
    };
  }

  let warnedAt = -Infinity;
  let down = false;
  client.on('error', (err: Error) => {
    down = true;
    if (Date.now() - warnedAt < CONNECTION_WARNING_INTERVAL_MS) return;
    warnedAt = Date.now();
    // Only the message: ioredis attaches the failed command (keys, arguments) to some errors.
    log?.warn({ redisError: err.message }, 'Redis connection error; reconnecting');
  });
  // Cluster reports lost nodes as `node error` (the cluster itself may still work).
  client.on('node error', (err: Error, node: string) => {
    if (Date.now() - warnedAt < CONNECTION_WARNING_INTERVAL_MS) return;
    warnedAt = Date.now();
    log?.warn({ redisError: err.message, node }, 'Redis Cluster node error');
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    warnedAt = -Infinity;
    log?.info({}, 'Redis connection ready again');
  });
}

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}
