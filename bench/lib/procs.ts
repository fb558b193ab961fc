import { spawn, type ChildProcess } from 'node:child_process';
import { onCpu } from './pinning.js';
import { cpuSecondsOf, rssOf } from './proc-stat.js';

/**
 * The servers under test run as their own Node processes, apart from the load generator:
 * on a 2-core machine a load generator sharing the server's event loop would measure itself.
 */
export interface ServerProcess {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  /** Resident set size now, bytes (Linux /proc). */
  rss(): number;
  /** CPU time used so far (user + system), seconds (Linux /proc; 10 ms resolution). */
  cpu(): number;
  /** The last few KB the process wrote to stderr (diagnostics when it fails). */
  stderrTail(): string;
  /** SIGTERM (graceful: lets `--cpu-prof` write its profile), SIGKILL after 10 s. */
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  script: string;
  port: number;
  env: Record<string, string>;
  nodeArgs?: string[];
  /** Path polled until it answers a GraphQL `{ __typename }` POST with 200. Default /graphql. */
  graphqlPath?: string;
  /** Poll interval while waiting, ms. Default 50. */
  pollMs?: number;
  /** The core it runs on, every thread (undefined: not pinned). */
  cpu?: number;
}

export async function startServer(opts: StartOptions): Promise<ServerProcess> {
  const url = `http://127.0.0.1:${opts.port}`;
  // A clean environment: nothing from the caller's shell (REDIS_URL, NODE_OPTIONS…) leaks in.
  const [cmd, args] = onCpu(opts.cpu, process.execPath, [...(opts.nodeArgs ?? []), opts.script]);
  const child = spawn(cmd, args, {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(opts.port), ...opts.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let tail = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-4096);
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => reject(new Error(`${opts.name} exited (${code ?? signal}) before it was ready:\n${tail}`))),
  );
  exited.catch(() => undefined);
  await Promise.race([waitForGraphql(`${url}${opts.graphqlPath ?? '/graphql'}`, opts.pollMs ?? 50, 30_000), exited]);
  return handle(opts.name, url, child, () => tail);
}

function handle(name: string, url: string, child: ChildProcess, tail: () => string): ServerProcess {
  return {
    name,
    url,
    pid: child.pid!,
    rss: () => rssOf(child.pid!),
    cpu: () => cpuSecondsOf(child.pid!),
    stderrTail: tail,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      });
    },
  };
}

export async function waitForGraphql(url: string, pollMs: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
