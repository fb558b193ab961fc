import type { Redis } from 'ioredis';

/**
 * Makes `ms` pass for the expiry of every key under `prefix` on these nodes (one client per
 * node: SCAN is per node), as if Redis' clock had moved: each TTL is shortened by `ms`, and a
 * key whose TTL runs out is deleted. Durable keys (no TTL) are left alone. The store contract
 * uses it instead of sleeping until real TTLs run out.
 */
export async function elapseRedis(nodes: readonly Redis[], prefix: string, ms: number): Promise<void> {
  for (const node of nodes) {
    for (let cursor = '0'; ; ) {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      for (const key of keys) {
        const ttl = await node.pttl(key);
        if (ttl < 0) continue; // durable (-1) or gone meanwhile (-2)
        if (ttl <= ms) await node.del(key);
        else await node.pexpire(key, ttl - ms);
      }
      if ((cursor = next) === '0') break;
    }
  }
}
