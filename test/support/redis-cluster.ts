import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { RedisServer } from './redis-server.js';

const run = promisify(execFile);

/**
 * A private Redis Cluster: `masters` (+ `replicas` per master) `redis-server --cluster-enabled
 * yes` processes on free loopback ports, joined with `redis-cli --cluster create`. Each node is
 * a RedisServer (append-only file on, own directory), so one can be stopped and started again
 * on the same port and rejoin with its node id and slots.
 *
 * A node also listens on its cluster bus port, port + 10000, which must be free too; ports are
 * picked below the kernel's ephemeral range (32768+), so the bus port cannot collide with a
 * client socket another test opens meanwhile.
 */
export class RedisCluster {
  private constructor(readonly nodes: RedisServer[]) {}

  static async start(opts: { masters?: number; replicas?: number; extraArgs?: string[] } = {}): Promise<RedisCluster> {
    const masters = opts.masters ?? 3;
    const replicas = opts.replicas ?? 0;
    const nodes: RedisServer[] = [];
    try {
      for (let i = 0; i < masters * (1 + replicas); i++) {
        const node = new RedisServer(await freeClusterPort(), [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          '1000',
          ...(opts.extraArgs ?? []),
        ]);
        nodes.push(node);
        await node.start();
      }
      const cluster = new RedisCluster(nodes);
      await run(
        process.env.REDIS_CLI_BIN ?? 'redis-cli',
        ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
        { timeout: 30_000 },
      );
      await cluster.waitUntilOk();
      return cluster;
    } catch (err) {
      await Promise.all(nodes.map((n) => n.destroy()));
      throw err;
    }
  }

  /** `host:port,…` of every node, the form REDIS_CLUSTER_NODES takes. */
  get seeds(): string {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
  }

  get hostPorts(): { host: string; port: number }[] {
    return this.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  }

  /** Until every running node reports `cluster_state:ok` and knows every node. */
  async waitUntilOk(timeoutMs = 20_000, nodes: RedisServer[] = this.nodes): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(nodes.map((n) => this.info(n).catch(() => '')));
      if (states.every((s) => /cluster_state:ok/.test(s) && new RegExp(`cluster_known_nodes:${this.nodes.length}\\b`).test(s))) return;
      if (Date.now() > deadline) throw new Error(`cluster not ok after ${timeoutMs} ms:\n${states.join('\n---\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async info(node: RedisServer): Promise<string> {
    const { stdout } = await run(process.env.REDIS_CLI_BIN ?? 'redis-cli', ['-p', String(node.port), 'cluster', 'info'], { timeout: 5_000 });
    return stdout;
  }

  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.destroy()));
  }
}

/** A port p < 22768 such that p and p + 10000 (the cluster bus) are both free. */
export async function freeClusterPort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * 12_000);
    if ((await canBind(port)) && (await canBind(port + 10_000))) return port;
  }
  throw new Error('no free port pair for a cluster node');
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}
