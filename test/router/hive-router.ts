import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { freePort } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

/** The example's own install (`npm ci --prefix examples/supergraph`), apart from the product's. */
const EXAMPLE = resolve('examples/supergraph');
const BIN = resolve(EXAMPLE, 'node_modules/@graphql-hive/gateway/dist/bin.js');
const CONFIG = resolve(EXAMPLE, 'router/gateway.config.ts');

/**
 * Hive Gateway as a real process: the example's router (examples/supergraph/router), with the
 * same binary and configuration file as `npm run router --prefix examples/supergraph`, serving
 * `supergraphPath` (whose subgraph URLs are the test's).
 */
export class HiveRouter {
  output = '';
  private constructor(
    private readonly proc: ChildProcess,
    readonly port: number,
  ) {
    proc.stdout!.setEncoding('utf8').on('data', (c: string) => (this.output += c));
    proc.stderr!.setEncoding('utf8').on('data', (c: string) => (this.output += c));
  }

  static async start(supergraphPath: string, env: Record<string, string>): Promise<HiveRouter> {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm ci --prefix examples/supergraph\` (npm run test:router does)`);
    const port = await freePort();
    const proc = spawn(process.execPath, [BIN, 'supergraph', supergraphPath, '--config-path', CONFIG, '--port', String(port), '--host', '127.0.0.1'], {
      cwd: EXAMPLE,
      env: { PATH: process.env.PATH, NODE_ENV: 'production', LOG_JSON: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const router = new HiveRouter(proc, port);
    try {
      await waitFor(
        'the router to be ready',
        async () => {
          if (proc.exitCode !== null) throw new Error(`the router exited during start-up:\n${router.output}`);
          return fetch(`${router.url}/readiness`).then((r) => r.ok, () => false);
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
    } catch (err) {
      await router.stop();
      throw err;
    }
    return router;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/graphql`;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    await exited;
  }
}
