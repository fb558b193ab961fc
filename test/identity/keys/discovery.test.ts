import { describe, expect, it } from '@jest/globals';
import { clockWithNow, KeySetCache, STALE_GRACE_MS, type KeySetCacheOptions } from '../../../src/identity/keys/index.js';
import { usePrivateRedis } from '../../support/env.js';
import { expectAuthError, expectUnavailable } from '../helpers.js';
import { memoryBackend, redisBackend, useKeyCache, type BackendFactory } from './support.js';

/**
 * The key cache holding a discovery document with the keys it names (Google's RISC
 * configuration): one record for both, shared by every instance, one fetch per cluster, stale
 * while the provider fails, https only except on loopback. The same cache serves Google's
 * and Apple's plain key sets (their suites are unchanged).
 */
const redis = usePrivateRedis();
const HOUR = 3_600_000;

describe.each<[string, BackendFactory]>([
  ['memory', memoryBackend()],
  ['redis', redisBackend(() => redis.url)],
])('the key cache with a discovery document, %s store', (_name, makeBackend) => {
  const h = useKeyCache(makeBackend);
  async function risc(extra: Partial<KeySetCacheOptions> = {}): Promise<KeySetCache> {
    const stores = await h.backend.instance();
    return new KeySetCache({ provider: 'google-risc', discoveryUri: h.fake.riscConfigUri, store: stores.keySets, locks: stores.locks, clock: clockWithNow(h.clock.now), logger: h.log, ...extra });
  }

  it('fetches the document, then the keys it names; the issuer comes with each key', async () => {
    const c = await risc();
    const got = await c.getKeyOfSet(h.fake.current.kid);
    expect(got.issuer).toBe('https://accounts.google.com/');
    expect(h.fake.discoveryCount).toBe(1);
    expect(h.fake.fetchCount).toBe(1);
    expect(h.log.lines.find((l) => l.message === 'Fetched google-risc signing keys')?.fields).toMatchObject({ discoveryUri: h.fake.riscConfigUri, jwksUri: h.fake.jwksUri });
  });

  it('one fetch of each for a cluster of instances starting cold; others read the shared record', async () => {
    const instances = await Promise.all(Array.from({ length: 4 }, () => risc()));
    const keys = await Promise.all(instances.map((c) => c.getKeyOfSet(h.fake.current.kid)));
    expect(keys.every((k) => k.issuer === 'https://accounts.google.com/')).toBe(true);
    expect(h.fake.discoveryCount).toBe(1);
    expect(h.fake.fetchCount).toBe(1);
  });

  it('an unknown kid refetches both once per cooldown (rotation found), a made-up kid does not flood', async () => {
    const c = await risc();
    await c.getKeyOfSet(h.fake.current.kid);
    const next = await h.fake.rotate();
    expect((await c.getKeyOfSet(next.kid)).issuer).toBe('https://accounts.google.com/');
    expect([h.fake.discoveryCount, h.fake.fetchCount]).toEqual([2, 2]);
    for (let i = 0; i < 20; i++) await expectAuthError(c.getKeyOfSet(`made-up-${i}`), 'unknown_key');
    expect([h.fake.discoveryCount, h.fake.fetchCount]).toEqual([2, 2]);
  });

  it.each([
    ['the document is down', 'discoveryMode'],
    ['the keys are down', 'mode'],
  ] as const)('%s: stale keys (and issuer) served within the grace, then keys_unavailable', async (_label, which) => {
    h.fake.maxAge = 3600;
    const c = await risc();
    await c.getKeyOfSet(h.fake.current.kid);
    h.fake[which] = 'down';
    h.clock.advance(2 * HOUR);
    expect((await c.getKeyOfSet(h.fake.current.kid)).issuer).toBe('https://accounts.google.com/');
    await c.settled();
    expect(c.stats).toMatchObject({ fetchFailures: 1, staleServed: 1 });
    h.clock.advance(STALE_GRACE_MS);
    await expectUnavailable(c.getKeyOfSet(h.fake.current.kid));
  });

  it.each([
    ['down', 'discoveryMode'],
    ['garbage', 'discoveryMode'],
    ['down', 'mode'],
  ] as const)('nothing cached and the %s (%s): keys_unavailable', async (mode, which) => {
    h.fake[which] = mode;
    const c = await risc();
    await expectUnavailable(c.getKeyOfSet(h.fake.current.kid));
  });

  it('a document naming a plain-http key set off loopback, or no issuer, is refused', async () => {
    h.fake.riscJwksUri = 'http://keys.example.com/certs';
    const c = await risc();
    await expectUnavailable(c.getKeyOfSet(h.fake.current.kid));
    expect(h.fake.fetchCount).toBe(0);
    expect(h.log.lines.some((l) => String(l.fields?.error).includes('must be an https: URL'))).toBe(true);

    h.fake.riscJwksUri = null;
    h.fake.riscIssuer = '';
    const d = await risc({ failureBackoffMs: 0 });
    await expectUnavailable(d.getKeyOfSet(h.fake.current.kid));
  });

  it('the freshness is the shorter of the two documents’ max-age', async () => {
    h.fake.maxAge = 600; // both documents say 10 minutes here
    const c = await risc();
    await c.getKeyOfSet(h.fake.current.kid);
    h.clock.advance(11 * 60_000);
    await c.getKeyOfSet(h.fake.current.kid); // stale: served, refreshed in the background
    await c.settled();
    expect(h.fake.discoveryCount).toBe(2);
  });

  it('takes exactly one of jwksUri and discoveryUri', async () => {
    const stores = await h.backend.instance();
    expect(() => new KeySetCache({ provider: 'x', store: stores.keySets, locks: stores.locks })).toThrow(TypeError);
    expect(() => new KeySetCache({ provider: 'x', jwksUri: h.fake.jwksUri, discoveryUri: h.fake.riscConfigUri, store: stores.keySets, locks: stores.locks })).toThrow(TypeError);
  });
});
