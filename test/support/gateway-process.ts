import { spawn, type ChildProcess } from 'node:child_process';
import type { GqlResponse } from './gateway.js';
import { freePort } from './redis-server.js';
import { RELAXED_RATE_LIMITS, postGraphql } from './gateway.js';

/**
 * The built gateway as a real process (`node dist/main.js`, what the Docker image runs; `npm
 * test` builds dist/ first) on a free loopback port, in production mode. Its stdout (the JSON
 * log) and stderr are kept for assertions.
 */
export class GatewayProcess {
  readonly stdout: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private partial = '';

  private constructor(
    private readonly proc: ChildProcess,
    readonly port: number,
  ) {
    proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (this.partial + chunk).split('\n');
      this.partial = parts.pop()!;
      this.stdout.push(...parts);
    });
    proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    // 'close', not 'exit': it comes once stdout and stderr are read to the end, so the logs are complete.
    this.exited = new Promise((resolve) => proc.once('close', (code: number | null, signal: NodeJS.Signals | null) => resolve({ code, signal })));
  }

  /** `env.PORT` (e.g. to restart on the same port) or a free port. */
  static async start(env: Record<string, string>): Promise<GatewayProcess> {
    const port = env.PORT ? Number(env.PORT) : await freePort();
    const proc = spawn(process.execPath, ['dist/main.js'], {
      // Relaxed rate limits unless `env` sets them: load from one loopback address is not what these suites test.
      env: { PATH: process.env.PATH, NODE_ENV: 'production', HOST: '127.0.0.1', AUTH_ISSUER: 'https://auth.gateway.test', ...RELAXED_RATE_LIMITS, ...env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const gw = new GatewayProcess(proc, port);
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (!gw.alive) throw new Error(`gateway exited during start-up:\n${gw.stdout.join('\n')}\n${gw.stderr}`);
      try {
        if ((await fetch(`${gw.url}/readyz`)).ok) return gw;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) {
        await gw.kill();
        throw new Error(`gateway not ready after 20 s:\n${gw.stdout.join('\n')}\n${gw.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The log lines, parsed (a line that is not JSON fails the caller's test). */
  logs(): Record<string, unknown>[] {
    return this.stdout.filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  signal(signal: NodeJS.Signals): void {
    this.proc.kill(signal);
  }

  /** SIGTERM and wait for the exit. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.alive) this.proc.kill('SIGTERM');
    return this.exited;
  }

  async kill(): Promise<void> {
    if (this.alive) this.proc.kill('SIGKILL');
    await this.exited;
  }

  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GqlResponse<T>> {
    return postGraphql<T>(`${this.url}/graphql`, query, variables, headers);
  }
}

