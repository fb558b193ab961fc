import { hash, timingSafeEqual } from 'node:crypto';

/**
 * Recognises a presented secret among configured ones (the router's `router-authorization`,
 * the callers of `/oauth/introspect`) without telling anything through timing.
 *
 * Both sides are compared as SHA-256 digests: `timingSafeEqual` needs inputs of equal length,
 * and comparing digests makes the work independent of the presented value's length as well,
 * so neither a secret's characters nor its length can be found by measuring answer times.
 * Every configured secret is compared, also after a match, so the time does not say which
 * one (or whether the first) matched.
 */
export type SecretMatcher = (presented: string | undefined) => boolean;

export function secretMatcher(secrets: readonly string[]): SecretMatcher {
  if (secrets.length === 0) return () => false;
  const expected = secrets.map(digest);
  return (presented) => {
    if (typeof presented !== 'string') return false;
    const given = digest(presented);
    let matched = false;
    // Constant time: an early exit at the first differing byte would let a caller find a
    // secret's digest byte by byte from answer times; no short-circuit after a match either.
    for (const e of expected) matched = timingSafeEqual(given, e) || matched;
    return matched;
  };
}

/** One-shot `crypto.hash` (Node ≥ 20.12): about 0.4 µs cheaper than a `createHash` object, on every introspection. */
function digest(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}
