import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { freshnessOf, parseCachedKeySet, rsaKeysOf } from '../../../src/identity/keys/index.js';

/** Pure parsing of what a JWKS endpoint or the shared cache hands the key cache: table tests. */
const MIN = 60_000;
const HOUR = 3_600_000;

function rsaJwk(bits = 2048): { n: string; e: string } {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const jwk = publicKey.export({ format: 'jwk' });
  return { n: jwk.n!, e: jwk.e! };
}
const { n, e } = rsaJwk();
const weak = rsaJwk(1024);
const good = { kty: 'RSA', kid: 'k1', n, e, alg: 'RS256', use: 'sig' };
const kept = { kty: 'RSA', kid: 'k1', n, e, alg: 'RS256', use: 'sig' };

describe('rsaKeysOf (JWKS → usable RS256 public keys)', () => {
  it.each<[string, unknown, unknown[]]>([
    ['a good key', { keys: [good] }, [kept]],
    ['alg and use absent (allowed)', { keys: [{ kty: 'RSA', kid: 'k1', n, e }] }, [kept]],
    ['private and extra members dropped', { keys: [{ ...good, d: 'secret', p: 'x', q: 'y', x5c: ['cert'], key_ops: ['verify'] }] }, [kept]],
    ['not an object', 'keys', []],
    ['null', null, []],
    ['keys not an array', { keys: { 0: good } }, []],
    ['no keys', { keys: [] }, []],
    ['entries that are not objects', { keys: ['x', null, 42, good] }, [kept]],
    ['EC key', { keys: [{ kty: 'EC', crv: 'P-256', kid: 'ec', x: 'AAAA', y: 'AAAA' }] }, []],
    ['alg RS512', { keys: [{ ...good, alg: 'RS512' }] }, []],
    ['use enc', { keys: [{ ...good, use: 'enc' }] }, []],
    ['no kid', { keys: [{ kty: 'RSA', n, e }] }, []],
    ['empty kid', { keys: [{ ...good, kid: '' }] }, []],
    ['kid not a string', { keys: [{ ...good, kid: 7 }] }, []],
    ['kid of 257 characters', { keys: [{ ...good, kid: 'k'.repeat(257) }] }, []],
    ['n not base64url', { keys: [{ ...good, n: `${n.slice(1)}+` }] }, []],
    ['e not a string', { keys: [{ ...good, e: 65537 }] }, []],
    ['1024-bit modulus (too short)', { keys: [{ ...good, n: weak.n, e: weak.e }] }, []],
    ['modulus over 2800 characters', { keys: [{ ...good, n: 'A'.repeat(2801) }] }, []],
    ['exponent over 16 characters', { keys: [{ ...good, e: 'A'.repeat(17) }] }, []],
  ])('%s', (_label, body, expected) => {
    expect(rsaKeysOf(body)).toEqual(expected);
  });

  it('looks at the first 100 entries only', () => {
    const filler = Array.from({ length: 100 }, () => ({ kty: 'EC' }));
    expect(rsaKeysOf({ keys: [...filler, good] })).toEqual([]);
    expect(rsaKeysOf({ keys: [...filler.slice(1), good] })).toEqual([kept]);
  });
});

describe('freshnessOf (Cache-Control max-age minus Age, bounded)', () => {
  const o = { defaultTtlMs: HOUR, minTtlMs: 5 * MIN, maxTtlMs: 24 * HOUR };
  const f = (headers: Record<string, string>) => freshnessOf(new Headers(headers), o);

  it.each<[Record<string, string>, number]>([
    [{ 'cache-control': 'public, max-age=19204, must-revalidate, no-transform' }, 19_204_000],
    [{ 'cache-control': 'MAX-AGE=600' }, 600_000],
    [{ 'cache-control': 'max-age="600"' }, 600_000],
    [{ 'cache-control': 'public,max-age=7200' }, 7_200_000],
    [{ 'cache-control': 'max-age=4000', age: '400' }, 3_600_000],
    [{ 'cache-control': 'max-age=4000', age: ' 400 ' }, 3_600_000],
    [{ 'cache-control': 'max-age=4000', age: 'junk' }, 4_000_000],
    [{ 'cache-control': 'max-age=4000', age: '-5' }, 4_000_000],
    [{ 'cache-control': 'max-age=600', age: '9000' }, 5 * MIN],
    [{ 'cache-control': 's-maxage=600' }, HOUR],
    [{ 'cache-control': 'no-cache' }, HOUR],
    [{ 'cache-control': 'max-age=abc' }, HOUR],
    [{ 'cache-control': 'max-age=-5' }, HOUR],
    [{ 'cache-control': 'max-age=600x' }, HOUR],
    [{}, HOUR],
    [{ 'cache-control': 'max-age=1' }, 5 * MIN],
    [{ 'cache-control': 'max-age=0' }, 5 * MIN],
    [{ 'cache-control': 'max-age=9999999999' }, 24 * HOUR],
  ])('%j → %d ms', (headers, expected) => {
    expect(f(headers)).toBe(expected);
  });

  it('bounds the default too', () => {
    expect(freshnessOf(new Headers(), { defaultTtlMs: 0, minTtlMs: 5 * MIN, maxTtlMs: HOUR })).toBe(5 * MIN);
    expect(freshnessOf(new Headers(), { defaultTtlMs: 48 * HOUR, minTtlMs: 5 * MIN, maxTtlMs: HOUR })).toBe(HOUR);
  });
});

describe('parseCachedKeySet (a shared-cache record another process wrote)', () => {
  const times = { fetchedAt: 1_700_000_000_000, expiresAt: 1_700_003_600_000 };

  it.each<[string, unknown, unknown]>([
    ['a good record', { jwks: { keys: [good] }, ...times }, { jwks: { keys: [kept] }, ...times }],
    ['private members dropped', { jwks: { keys: [{ ...good, d: 'secret' }] }, ...times }, { jwks: { keys: [kept] }, ...times }],
    ['only unusable keys', { jwks: { keys: [{ kty: 'oct', k: 'AAAA', kid: 'k1' }] }, ...times }, null],
    ['no jwks', { ...times }, null],
    ['fetchedAt missing', { jwks: { keys: [good] }, expiresAt: times.expiresAt }, null],
    ['expiresAt a string', { jwks: { keys: [good] }, fetchedAt: times.fetchedAt, expiresAt: String(times.expiresAt) }, null],
    ['fetchedAt NaN', { jwks: { keys: [good] }, fetchedAt: NaN, expiresAt: times.expiresAt }, null],
    ['null', null, null],
    ['a string', 'jwks', null],
  ])('%s', (_label, record, expected) => {
    expect(parseCachedKeySet(record)).toEqual(expected);
  });
});
