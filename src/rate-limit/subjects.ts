import { hash } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * Rate-limit subjects: what a limit counts per. Every subject is hashed before it becomes part
 * of a Redis key, so
 *   - keys stay short whatever a client sends (an unparseable `X-Forwarded-For` from a trusted
 *     proxy, for instance, reaches us verbatim), and
 *   - Redis holds no client addresses, Google account ids or session ids in clear (short-lived
 *     keys, but someone with read access to Redis should learn as little as possible; an IPv4
 *     address can still be recovered from its hash by trying all 2^32, so treat these as
 *     pseudonymous, not anonymous).
 * 128 bits of SHA-256 is plenty against accidental collisions; an attacker gains nothing
 * from a chosen collision except sharing a limit with someone.
 */
export function hashSubject(value: string): string {
  return hash('sha256', value, 'base64url').slice(0, 22);
}

/**
 * The unit a per-address limit counts: an IPv4 address, or the /64 of an IPv6 address. One
 * IPv6 host usually holds a whole /64 (SLAAC, privacy addresses), so counting single IPv6
 * addresses would give each attacker 2^64 fresh budgets. IPv4-mapped IPv6 (`::ffff:1.2.3.4`,
 * what a dual-stack socket reports) counts as the IPv4 address. Anything that is not an
 * address counts as itself (bounded by the hash).
 */
export function addressUnit(address: string | null | undefined): string {
  if (!address) return 'none';
  const bare = address.split('%', 1)[0]!; // zone index, e.g. fe80::1%eth0
  const family = isIP(bare);
  if (family === 4) return `v4:${bare}`;
  if (family === 6) {
    const groups = ipv6Groups(bare);
    if (groups) {
      const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
      if (mapped) return `v4:${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`;
      return `v6:${groups
        .slice(0, 4)
        .map((g) => g.toString(16))
        .join(':')}::/64`;
    }
  }
  return `raw:${address}`;
}

/** The 8 groups of a valid IPv6 address (validated by `isIP` first), embedded IPv4 tail included. */
function ipv6Groups(address: string): number[] | null {
  let text = address.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const fill = 8 - left.length - right.length;
  if (fill < 0 || (tail === undefined && fill !== 0)) return null;
  const groups = [...left, ...new Array<number>(fill).fill(0), ...right];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}
