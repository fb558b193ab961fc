import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { RedisServer, freePort, stopProcess, waitForPing } from './redis-server.js';

/**
 * A private Sentinel setup on free loopback ports: a master, one replica of it, and
 * `sentinels` Sentinel processes (`redis-server <conf> --sentinel`) monitoring it under
 * `name`, with short timeouts so a failover takes a few seconds. Quorum 1: a single Sentinel
 * may declare the master down (fine for a test, not for production).
 */
export class RedisSentinelSetup {
  private constructor(
    readonly name: string,
    readonly master: RedisServer,
    readonly replica: RedisServer,
    readonly sentinels: SentinelProcess[],
  ) {}

  static async start(opts: { name?: string; sentinels?: number } = {}): Promise<RedisSentinelSetup> {
    const name = opts.name ?? 'agmaster';
    const master = await RedisServer.start();
    const started: { stop(): Promise<void> }[] = [master];
    try {
      const replica = await RedisServer.start(['--replicaof', '127.0.0.1', String(master.port)]);
      started.push(replica);
      await waitFor(async () => /master_link_status:up/.test(await info(replica.port, 'replication')), 'the replica to sync');
      const sentinels: SentinelProcess[] = [];
      for (let i = 0; i < (opts.sentinels ?? 1); i++) {
        const s = await SentinelProcess.start(name, master.port);
        sentinels.push(s);
        started.push(s);
      }
      // Until the Sentinels know the replica (they learn it from the master's INFO).
      await waitFor(async () => {
        const r = new Redis(sentinels[0]!.port, '127.0.0.1', { lazyConnect: true });
        try {
          await r.connect();
          const replicas = (await r.call('SENTINEL', 'REPLICAS', name)) as unknown[];
          return replicas.length > 0;
        } finally {
          r.disconnect();
        }
      }, 'the Sentinel to discover the replica');
      return new RedisSentinelSetup(name, master, replica, sentinels);
    } catch (err) {
      await Promise.all(started.map((s) => s.stop()));
      throw err;
    }
  }

  /** `host:port,…` of the Sentinels, the form REDIS_SENTINELS takes. */
  get seeds(): string {
    return this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',');
  }

  /** The port of the node the Sentinels currently name master. */
  async currentMasterPort(): Promise<number> {
    const r = new Redis(this.sentinels[0]!.port, '127.0.0.1', { lazyConnect: true });
    try {
      await r.connect();
      const [, port] = (await r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name)) as [string, string];
      return Number(port);
    } finally {
      r.disconnect();
    }
  }

  async destroy(): Promise<void> {
    await Promise.all(this.sentinels.map((s) => s.destroy()));
    await Promise.all([this.master.destroy(), this.replica.destroy()]);
  }
}

export class SentinelProcess {
  private proc: ChildProcess | null = null;
  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(name: string, masterPort: number): Promise<SentinelProcess> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'ag-sentinel-'));
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    const s = new SentinelProcess(port, dir);
    s.proc = spawn(process.env.REDIS_SERVER_BIN ?? 'redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    await waitForPing(port);
    return s;
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    await stopProcess(p);
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function info(port: number, section: string): Promise<string> {
  const r = new Redis(port, '127.0.0.1', { lazyConnect: true });
  try {
    await r.connect();
    return await r.info(section);
  } finally {
    r.disconnect();
  }
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
