import { defineSection } from '../section.js';
import { parsed, text } from '../variables.js';
import { server } from './server.js';

/** A Sentinel or Cluster node address. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** How to reach Redis. `username`/`password` are the data nodes' credentials (in the URL for `standalone`). */
export type RedisTopology =
  | { readonly kind: 'standalone'; readonly url: string }
  | {
      readonly kind: 'sentinel';
      readonly sentinels: readonly HostPort[];
      /** The master name the Sentinels monitor. */
      readonly name: string;
      readonly sentinelPassword: string | null;
      readonly username: string | null;
      readonly password: string | null;
    }
  | { readonly kind: 'cluster'; readonly nodes: readonly HostPort[]; readonly username: string | null; readonly password: string | null };

export interface RedisConfig {
  readonly redis: {
    readonly keyPrefix: string;
    /** null: the embedded store (development only). The gateway and `npm run user` both connect through this. */
    readonly topology: RedisTopology | null;
  };
}

/** `host:port` or `[ipv6]:port` items separated by commas. */
function parseHostPorts(input: string): HostPort[] {
  const out: HostPort[] = [];
  for (const item of input.split(',').map((s) => s.trim())) {
    if (item === '') continue;
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(item);
    const port = m ? Number(m[3]) : 0;
    if (!m || port < 1 || port > 65_535) throw new Error(`expected host:port items separated by commas, got "${item.slice(0, 80)}"`);
    out.push({ host: m[1] ?? m[2]!, port });
  }
  return out;
}

const TOPOLOGIES = ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const;
const HOST_PORTS = 'comma-separated `host:port` (`[ipv6]:port` allowed)';
const NOT_WITH_URL = 'not with `REDIS_URL` (credentials go in its URL)';

export const redis = defineSection({
  title: 'Redis',
  variables: {
    REDIS_URL: text('a single Redis node (credentials in the URL)', {
      accepts: 'a `redis://` or `rediss://` (TLS) URL; not with `REDIS_SENTINELS` or `REDIS_CLUSTER_NODES`',
      unsetMeans: 'embedded in-memory store (development only; refused in production) unless `REDIS_SENTINELS` or `REDIS_CLUSTER_NODES` is set',
    }),
    REDIS_SENTINELS: parsed('Redis behind Sentinel: the Sentinels’ addresses; instead of `REDIS_URL`', parseHostPorts, '', { accepts: HOST_PORTS, shownDefault: 'unset' }),
    REDIS_SENTINEL_NAME: text('the master name the Sentinels monitor', { also: ['required with `REDIS_SENTINELS`'] }),
    REDIS_SENTINEL_PASSWORD: text('password of the Sentinels themselves'),
    REDIS_CLUSTER_NODES: parsed('Redis Cluster: some of its nodes’ addresses (the rest are discovered); instead of `REDIS_URL`', parseHostPorts, '', {
      accepts: HOST_PORTS,
      shownDefault: 'unset',
    }),
    REDIS_USERNAME: text('ACL user of the data nodes, for `REDIS_SENTINELS` and `REDIS_CLUSTER_NODES`', { also: [NOT_WITH_URL] }),
    REDIS_PASSWORD: text('password of the data nodes, for `REDIS_SENTINELS` and `REDIS_CLUSTER_NODES`', { also: [NOT_WITH_URL] }),
    REDIS_KEY_PREFIX: text('prefix of every Redis key', { default: 'ag:' }),
  },
  read(v, ctx): RedisConfig {
    const set = TOPOLOGIES.filter((name) => (name === 'REDIS_URL' ? v.REDIS_URL !== '' : v[name].length > 0) || !ctx.valid(name));
    if (set.length > 1) ctx.problem(set[1]!, `set only one of ${TOPOLOGIES.join(', ')} (${set.join(' and ')} are set)`);
    if (set.length === 0 && ctx.of(server).production) {
      ctx.problem('REDIS_URL', 'is required when NODE_ENV=production (or REDIS_SENTINELS, or REDIS_CLUSTER_NODES; the embedded store is for development only)');
    }
    if (v.REDIS_URL && !/^rediss?:\/\//.test(v.REDIS_URL)) ctx.problem('REDIS_URL', 'expected a redis:// or rediss:// URL');
    if (v.REDIS_SENTINELS.length > 0 && !v.REDIS_SENTINEL_NAME) ctx.problem('REDIS_SENTINEL_NAME', 'is required with REDIS_SENTINELS (the master name the Sentinels monitor)');
    if (v.REDIS_URL && (v.REDIS_USERNAME || v.REDIS_PASSWORD)) {
      ctx.problem(
        v.REDIS_PASSWORD ? 'REDIS_PASSWORD' : 'REDIS_USERNAME',
        'applies to REDIS_SENTINELS and REDIS_CLUSTER_NODES; with REDIS_URL put the credentials in the URL (redis://user:password@host:port)',
      );
    }

    const credentials = { username: v.REDIS_USERNAME || null, password: v.REDIS_PASSWORD || null };
    const topology: RedisTopology | null = v.REDIS_URL
      ? { kind: 'standalone', url: v.REDIS_URL }
      : v.REDIS_SENTINELS.length > 0
        ? { kind: 'sentinel', sentinels: v.REDIS_SENTINELS, name: v.REDIS_SENTINEL_NAME, sentinelPassword: v.REDIS_SENTINEL_PASSWORD || null, ...credentials }
        : v.REDIS_CLUSTER_NODES.length > 0
          ? { kind: 'cluster', nodes: v.REDIS_CLUSTER_NODES, ...credentials }
          : null;
    return { redis: { keyPrefix: v.REDIS_KEY_PREFIX, topology } };
  },
});
