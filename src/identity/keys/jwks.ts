import type { CachedKeySet } from '../../store/types.js';

/**
 * Pure parsing of what a JWKS endpoint (or the shared cache) hands us. Everything here treats
 * its input as hostile: it comes from the network, or from a store another process wrote.
 */

/** Minimal public RSA JWK as fetched, validated and stored in the shared cache. */
export interface RsaPublicJwk {
  kty: 'RSA';
  kid: string;
  n: string;
  e: string;
  alg: 'RS256';
  use: 'sig';
}

const B64URL = /^[A-Za-z0-9_-]+$/;
/** Providers publish a handful of keys; more than this is not a key set we want to import. */
const MAX_KEYS = 100;
const MAX_KID_LENGTH = 256;

/**
 * The usable keys of a JWKS-shaped value: RSA, RS256-compatible (`alg` absent or RS256, `use`
 * absent or `sig`), a kid, a modulus of plausible size for 2048 bits or more (the real modulus
 * length is checked on import, src/identity/keys/key-set.ts). Everything else is ignored; a
 * value that is not a JWKS yields no keys. Only public members are kept, so a private member
 * slipped into the body never reaches the cache.
 */
export function rsaKeysOf(body: unknown): RsaPublicJwk[] {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { keys?: unknown }).keys)) return [];
  const out: RsaPublicJwk[] = [];
  for (const k of (body as { keys: unknown[] }).keys.slice(0, MAX_KEYS)) {
    if (typeof k !== 'object' || k === null) continue;
    const { kty, kid, n, e, alg, use } = k as Record<string, unknown>;
    if (kty !== 'RSA') continue;
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) continue;
    if (alg !== undefined && alg !== 'RS256') continue;
    if (use !== undefined && use !== 'sig') continue;
    if (typeof n !== 'string' || !B64URL.test(n) || typeof e !== 'string' || !B64URL.test(e)) continue;
    // 2048-bit modulus = 256 bytes = 342 base64url characters (a leading zero byte may add some).
    if (n.length < 342 || n.length > 2800 || e.length > 16) continue;
    out.push({ kty: 'RSA', kid, n, e, alg: 'RS256', use: 'sig' });
  }
  return out;
}

export interface FreshnessBounds {
  /** Freshness when the response has no usable `max-age`. */
  defaultTtlMs: number;
  /** Lower bound whatever `max-age` says. */
  minTtlMs: number;
  /** Upper bound whatever `max-age` says. */
  maxTtlMs: number;
}

/**
 * How long a fetched key set is fresh: `Cache-Control: max-age` minus `Age` (time the answer
 * already spent in an HTTP cache), bounded to [minTtlMs, maxTtlMs]; the default when there is
 * no `max-age`. A 0 or tiny max-age would refetch constantly, a huge one would pin keys the
 * provider has rotated away: hence the bounds.
 */
export function freshnessOf(headers: Headers, o: FreshnessBounds): number {
  const m = /(?:^|,)\s*max-age\s*=\s*"?(\d{1,10})"?\s*(?:,|$)/i.exec(headers.get('cache-control') ?? '');
  if (!m) return Math.min(Math.max(o.defaultTtlMs, o.minTtlMs), o.maxTtlMs);
  const ageHeader = headers.get('age')?.trim() ?? '';
  const age = /^\d{1,10}$/.test(ageHeader) ? Number(ageHeader) : 0;
  const seconds = Math.max(0, Number(m[1]) - age);
  return Math.min(Math.max(seconds * 1000, o.minTtlMs), o.maxTtlMs);
}

/**
 * A shared-cache record, validated (another process, or an older version, wrote it); null when
 * it is not one or holds no usable key. The keys are reduced to their usable public members.
 */
export function parseCachedKeySet(v: unknown): CachedKeySet | null {
  if (typeof v !== 'object' || v === null) return null;
  const { jwks, fetchedAt, expiresAt, issuer } = v as Record<string, unknown>;
  if (typeof fetchedAt !== 'number' || !Number.isFinite(fetchedAt) || typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) return null;
  if (issuer !== undefined && issuerOf({ issuer }) === null) return null;
  const keys = rsaKeysOf(jwks);
  if (keys.length === 0) return null;
  return typeof issuer === 'string' ? { jwks: { keys }, fetchedAt, expiresAt, issuer } : { jwks: { keys }, fetchedAt, expiresAt };
}

/** Longest issuer accepted from a discovery document (Google's is 28 characters). */
const MAX_ISSUER_LENGTH = 2048;

/** A discovery document's `issuer`: a non-empty string of bounded length, else null. */
export function issuerOf(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return null;
  const { issuer } = body as Record<string, unknown>;
  return typeof issuer === 'string' && issuer.length > 0 && issuer.length <= MAX_ISSUER_LENGTH ? issuer : null;
}

/** A discovery document's `jwks_uri` as given (the caller checks its scheme), else null. */
export function jwksUriOf(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return null;
  const uri = (body as Record<string, unknown>).jwks_uri;
  return typeof uri === 'string' && uri.length > 0 && uri.length <= MAX_ISSUER_LENGTH && URL.canParse(uri) ? uri : null;
}
