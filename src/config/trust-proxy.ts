import { isIP } from 'node:net';

/**
 * TRUST_PROXY → Fastify's `trustProxy` option, which decides whether `X-Forwarded-For` is
 * believed and so what `request.ip` is (the address sessions record and rate limits key on).
 *
 *   unset, `false`      never: the address is the TCP peer's (safe default when exposed directly)
 *   `2`                 a hop count: the last N proxies in front of us are trusted
 *   `loopback`, CIDRs   comma-separated list of trusted proxies: `loopback`, `linklocal`,
 *                       `uniquelocal`, addresses and CIDRs (`10.0.0.0/8`, `2001:db8::/32`)
 *
 * `true` (trust every hop) is refused: with it any client picks its own address by sending
 * `X-Forwarded-For`, which would defeat every per-address limit. A hop count says the same
 * thing for a known number of proxies without that hole.
 */
export type TrustProxy = false | number | readonly string[];

/**
 * The value for Fastify's `trustProxy`. A hop count becomes a function with proxy-addr's
 * (and Express's) meaning: the socket peer and the next `hops − 1` addresses of
 * `X-Forwarded-For`, counted from the right, are proxies; the address before them is the
 * client. Fastify ≥ 5.12 no longer accepts a number (it now ignores the header for one),
 * because a hop count cannot tell a proxy from a client that reaches the gateway directly and
 * sends its own header; so use a hop count only when nothing but those proxies can reach the
 * gateway, and prefer CIDRs.
 */
export function fastifyTrustProxy(trust: TrustProxy): false | string[] | ((address: string, hop: number) => boolean) {
  if (trust === false) return false;
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return [...trust];
}

const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const MAX_HOPS = 32;

export function parseTrustProxy(input: string): TrustProxy {
  const value = input.trim();
  if (value === '' || value.toLowerCase() === 'false') return false;
  if (value.toLowerCase() === 'true') {
    throw new Error('`true` would let any client choose its address; give a hop count, `loopback` or the proxies’ CIDRs');
  }
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops < 1 || hops > MAX_HOPS) throw new Error(`a hop count must be between 1 and ${MAX_HOPS}`);
    return hops;
  }
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  for (const entry of entries) {
    if (!isTrustEntry(entry)) {
      throw new Error(`expected a hop count or a comma-separated list of loopback, linklocal, uniquelocal, addresses and CIDRs; "${entry.slice(0, 60)}" is none of these`);
    }
  }
  return Object.freeze(entries);
}

function isTrustEntry(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true;
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return false;
  if (slash === -1) return true;
  const bits = entry.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}
