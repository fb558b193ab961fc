import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import * as jose from 'jose';
import { AuthError } from '../../src/errors.js';
import { FETCH_LOCK, freshnessOf, GoogleKeySource, KEY_SOURCE_DEFAULTS, STALE_GRACE_MS, type GoogleKeySourceOptions } from '../../src/google/key-cache.js';
import { GoogleIdTokenVerifier } from '../../src/google/verify-id-token.js';
import { usePrivateRedis } from '../support/env.js';
import { FakeClock, FakeGoogle } from '../support/fake-google.js';
import { captureLogger, expectAuthError, expectUnavailable, memoryBackend, redisBackend, sleep, type BackendFactory, type SharedBackend } from './helpers.js';

const redis = usePrivateRedis();
const MIN = 60_000;
const HOUR = 3_600_000;

describe.each<[string, BackendFactory]>([
  ['memory', memoryBackend()],
  ['redis', redisBackend(() => redis.url)],
])('GoogleKeySource with the %s store', (_name, makeBackend) => {
  let fake: FakeGoogle;
  let backend: SharedBackend;
  let clock: FakeClock;
  let log: ReturnType<typeof captureLogger>;

  beforeEach(async () => {
    clock = new FakeClock();
    fake = await FakeGoogle.start({ now: clock.now });
    backend = await makeBackend();
    log = captureLogger();
  });
  afterEach(async () => {
    await fake.close();
    await backend.close();
  });

  async function source(extra: Partial<GoogleKeySourceOptions> = {}): Promise<GoogleKeySource> {
    const stores = await backend.instance();
    return new GoogleKeySource({ jwksUri: fake.jwksUri, cache: stores.googleKeys, locks: stores.locks, now: clock.now, logger: log, ...extra });
  }

  function verifierFor(keys: GoogleKeySource): GoogleIdTokenVerifier {
    return new GoogleIdTokenVerifier({ keys, clientIds: [fake.clientId], now: clock.now });
  }

  describe('lookup order', () => {
    it('fetches once, then serves the in-process set; the key really verifies a Google-shaped token', async () => {
      const s = await source();
      const key = await s.getKey(fake.current.kid);
      const again = await s.getKey(fake.current.kid);
      expect(fake.fetchCount).toBe(1);
      expect(s.stats.fetches).toBe(1);
      // Imported once: the same CryptoKey object, not a re-import per verification.
      expect(again).toBe(key);
      const { payload } = await jose.jwtVerify(await fake.mint(), key, { algorithms: ['RS256'] });
      expect(payload.email).toBe('alice@example.com');
    });

    it('a second instance uses the shared cache instead of fetching', async () => {
      const a = await source();
      await a.getKey(fake.current.kid);
      const b = await source();
      await b.getKey(fake.current.kid);
      expect(fake.fetchCount).toBe(1);
      expect(b.stats.fetches).toBe(0);
      expect(b.stats.sharedCacheHits).toBe(1);
    });

    it('checks static keys first (no fetch at all, even with Google down)', async () => {
      fake.mode = 'down';
      const dev = await fake.newKey();
      const s = await source({ staticKeys: [dev.publicJwk] });
      const key = await s.getKey(dev.kid);
      await jose.jwtVerify(await fake.mint({}, {}, { key: dev }), key, { algorithms: ['RS256'] });
      expect(fake.fetchCount).toBe(0);
    });

    it('refuses invalid static keys loudly (configuration error)', async () => {
      const ec = await fake.newKey('ES256');
      const s = await source({ staticKeys: [ec.publicJwk] });
      await expect(s.warm()).rejects.toThrow(TypeError);
    });

    it('warm() loads keys ahead of the first token', async () => {
      const s = await source();
      expect(await s.warm()).toBe(true);
      expect(fake.fetchCount).toBe(1);
      await s.getKey(fake.current.kid);
      expect(fake.fetchCount).toBe(1);
      fake.mode = 'down';
      const cold = await source({ cache: (await backend.instance()).googleKeys });
      expect(await cold.warm()).toBe(true); // from the shared cache
    });
  });

  describe('freshness from Cache-Control', () => {
    it('honours max-age: no refetch before it, a refetch after it', async () => {
      fake.maxAge = 600;
      const s = await source();
      await s.getKey(fake.current.kid);
      clock.advance(599_000);
      await s.getKey(fake.current.kid);
      await s.settled();
      expect(fake.fetchCount).toBe(1);
      clock.advance(2_000);
      await s.getKey(fake.current.kid);
      await s.settled();
      expect(fake.fetchCount).toBe(2);
      // The refetched set is fresh again for max-age.
      clock.advance(500_000);
      await s.getKey(fake.current.kid);
      await s.settled();
      expect(fake.fetchCount).toBe(2);
    });

    it('bounds a tiny max-age to 5 minutes', async () => {
      fake.maxAge = 0;
      const s = await source();
      await s.getKey(fake.current.kid);
      clock.advance(5 * MIN - 1_000);
      await s.getKey(fake.current.kid);
      await s.settled();
      expect(fake.fetchCount).toBe(1);
      clock.advance(2_000);
      await s.getKey(fake.current.kid);
      await s.settled();
      expect(fake.fetchCount).toBe(2);
    });

    it('bounds a huge max-age to 24 hours', async () => {
      fake.maxAge = 30 * 24 * 3600;
      const s = await source();
      await s.getKey(fake.current.kid);
      clock.advance(24 * HOUR - 1_000);
      await s.getKey(fake.current.kid);
      await s.settled();
      expect(fake.fetchCount).toBe(1);
      clock.advance(2_000);
      await s.getKey(fake.current.kid);
      await s.settled();
      expect(fake.fetchCount).toBe(2);
    });

    it('defaults to 1 hour without Cache-Control', async () => {
      fake.maxAge = null;
      const s = await source();
      await s.getKey(fake.current.kid);
      clock.advance(HOUR - 1_000);
      await s.getKey(fake.current.kid);
      await s.settled();
      expect(fake.fetchCount).toBe(1);
      clock.advance(2_000);
      await s.getKey(fake.current.kid);
      await s.settled();
      expect(fake.fetchCount).toBe(2);
    });

    it('stores the set in the shared cache with freshness + stale grace', async () => {
      fake.maxAge = 900;
      const s = await source();
      await s.getKey(fake.current.kid);
      const stores = await backend.instance();
      const cached = await stores.googleKeys.get();
      expect(cached).not.toBeNull();
      expect(cached!.expiresAt - cached!.fetchedAt).toBe(900_000);
      expect(cached!.jwks.keys.map((k) => k.kid)).toEqual([fake.current.kid]);
      // Only public members are stored.
      expect(Object.keys(cached!.jwks.keys[0]!).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    });
  });

  describe('rotation and unknown kids', () => {
    it('a new kid at Google triggers a refetch and then verifies', async () => {
      const s = await source();
      const verifier = verifierFor(s);
      await verifier.verify(await fake.mint());
      await fake.rotate();
      const p = await verifier.verify(await fake.mint());
      expect(p.email).toBe('alice@example.com');
      expect(fake.fetchCount).toBe(2);
      expect(s.stats.unknownKidRefetches).toBe(1);
      // The old key (still published) keeps working.
      expect(await s.getKey(fake.published[1]!.kid)).toBeDefined();
    });

    it('another instance picks the rotated set up from the shared cache without fetching', async () => {
      const a = await source();
      const b = await source();
      await a.getKey(fake.current.kid);
      await b.getKey(fake.current.kid);
      expect(fake.fetchCount).toBe(1);
      await fake.rotate();
      await a.getKey(fake.current.kid); // a refetches
      expect(fake.fetchCount).toBe(2);
      clock.advance(1_000);
      await b.getKey(fake.current.kid); // b's set is fresh but lacks the kid: the shared cache has it
      expect(fake.fetchCount).toBe(2);
      expect(b.stats.fetches).toBe(0);
    });

    it('a flood of 200 made-up kids causes at most one extra fetch per cooldown, across instances', async () => {
      const a = await source();
      const b = await source();
      await a.getKey(fake.current.kid);
      await b.getKey(fake.current.kid);
      expect(fake.fetchCount).toBe(1);

      const flood = (s: GoogleKeySource) =>
        Promise.allSettled(Array.from({ length: 200 }, (_, i) => s.getKey(`made-up-${i}-${Math.random()}`)));
      const results = [...(await flood(a)), ...(await flood(b))];
      expect(results.every((r) => r.status === 'rejected' && r.reason instanceof AuthError && r.reason.reason === 'unknown_key')).toBe(true);
      expect(fake.fetchCount).toBe(2);

      clock.advance(KEY_SOURCE_DEFAULTS.cooldownMs - 5_000);
      await flood(a);
      await flood(b);
      expect(fake.fetchCount).toBe(2);
      // Sequential floods (not coalesced by single-flight) are bounded too.
      for (let i = 0; i < 50; i++) await a.getKey(`seq-${i}`).catch(() => undefined);
      expect(fake.fetchCount).toBe(2);
    });

    it('after the cooldown, one more refetch is allowed', async () => {
      const s = await source({ cooldownMs: 200 });
      await s.getKey(fake.current.kid);
      await expectAuthError(s.getKey('made-up-1'), 'unknown_key');
      expect(fake.fetchCount).toBe(2);
      await expectAuthError(s.getKey('made-up-2'), 'unknown_key');
      expect(fake.fetchCount).toBe(2);
      await sleep(250); // the shared cooldown lock expires in real time
      clock.advance(250);
      await expectAuthError(s.getKey('made-up-3'), 'unknown_key');
      expect(fake.fetchCount).toBe(3);
    });

    it('a kid that was removed at Google stops resolving after the refetch', async () => {
      const s = await source();
      const old = fake.current;
      await s.getKey(old.kid);
      await fake.rotate({ keepOld: false });
      await s.getKey(fake.current.kid);
      expect(fake.fetchCount).toBe(2);
      await expectAuthError(s.getKey(old.kid), 'unknown_key');
    });
  });

  describe('outages', () => {
    it('keeps verifying with the last good keys within the stale grace, then fails closed', async () => {
      fake.maxAge = 3600;
      const s = await source();
      await s.getKey(fake.current.kid);
      fake.mode = 'down';
      clock.advance(2 * HOUR);
      const key = await s.getKey(fake.current.kid);
      await s.settled();
      expect(key).toBeDefined();
      expect(fake.fetchCount).toBe(2);
      expect(s.stats.fetchFailures).toBe(1);
      expect(s.stats.staleServed).toBeGreaterThan(0);
      expect(log.lines.some((l) => l.level === 'warn' && /last good keys/.test(l.message))).toBe(true);
      // The failure is remembered: the next request does not hit Google again.
      await s.getKey(fake.current.kid);
      await s.settled();
      expect(fake.fetchCount).toBe(2);

      // A fresh instance during the outage also gets the stale keys (from the shared cache).
      const cold = await source();
      expect(await cold.getKey(fake.current.kid)).toBeDefined();

      clock.advance(STALE_GRACE_MS); // 1 h freshness + 2 h + 6 h > freshness + grace
      await expectUnavailable(s.getKey(fake.current.kid));
    });

    it('with no keys at all: keys_unavailable, quickly, and the failure is remembered', async () => {
      fake.mode = 'down';
      const s = await source();
      const started = performance.now();
      await expectUnavailable(s.getKey(fake.current.kid));
      const results = await Promise.allSettled(Array.from({ length: 50 }, () => s.getKey(fake.current.kid)));
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(results.every((r) => r.status === 'rejected')).toBe(true);
      expect(fake.fetchCount).toBe(1);
      expect(log.lines.some((l) => l.level === 'warn' && /no usable keys/.test(l.message))).toBe(true);
      // After the back-off, Google is tried again; once it is back, keys load.
      fake.mode = 'ok';
      clock.advance(KEY_SOURCE_DEFAULTS.failureBackoffMs + 1);
      expect(await s.getKey(fake.current.kid)).toBeDefined();
      expect(fake.fetchCount).toBe(2);
    });

    it('a hanging endpoint costs one timeout, then requests fail at once', async () => {
      fake.mode = 'hang';
      const s = await source({ timeoutMs: 300 });
      const t0 = performance.now();
      await expectUnavailable(s.getKey(fake.current.kid));
      const first = performance.now() - t0;
      expect(first).toBeGreaterThanOrEqual(250);
      expect(first).toBeLessThan(2_000);
      const t1 = performance.now();
      await Promise.allSettled(Array.from({ length: 20 }, () => s.getKey(fake.current.kid)));
      expect(performance.now() - t1).toBeLessThan(200);
      expect(fake.fetchCount).toBe(1);
    });

    it('applies the timeout to slow answers, and accepts answers within it', async () => {
      fake.mode = 'slow';
      fake.slowMs = 600;
      const s = await source({ timeoutMs: 200 });
      await expectUnavailable(s.getKey(fake.current.kid));
      fake.slowMs = 50;
      const t = await source({ timeoutMs: 1_000 });
      expect(await t.getKey(fake.current.kid)).toBeDefined();
    });

    it.each([
      ['HTML', '<html>oops</html>'],
      ['JSON null', 'null'],
      ['keys not an array', '{"keys":"nope"}'],
      ['no keys', '{"keys":[]}'],
      ['only an EC key', JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', kid: 'ec', x: 'AAAA', y: 'AAAA' }] })],
      ['an RSA key with a broken modulus', JSON.stringify({ keys: [{ kty: 'RSA', kid: 'r', n: 'not base64!', e: 'AQAB' }] })],
      ['truncated JSON', '{"keys":[{"kty":"RSA"'],
      ['an RSA key with a zero modulus', JSON.stringify({ keys: [{ kty: 'RSA', kid: 'z', n: 'A'.repeat(342), e: 'AQAB' }] })],
    ])('a garbage JWKS body (%s) is a failure', async (_label, body) => {
      fake.mode = 'garbage';
      fake.garbageBody = body;
      const s = await source();
      await expectUnavailable(s.getKey(fake.current.kid));
      expect(s.stats.fetchFailures).toBe(1);
      expect(await (await backend.instance()).googleKeys.get()).toBeNull();
    });

    it('a garbage body after good keys keeps the good keys (stale grace)', async () => {
      const s = await source();
      await s.getKey(fake.current.kid);
      fake.mode = 'garbage';
      clock.advance(2 * HOUR);
      expect(await s.getKey(fake.current.kid)).toBeDefined();
      await s.settled();
      expect(s.stats.fetchFailures).toBe(1);
    });

    it('keeps only RS256-compatible RSA keys of a mixed set', async () => {
      const rsa = fake.current;
      const ec = await fake.newKey('ES256');
      const rs512 = { ...(await fake.newKey()).publicJwk, alg: 'RS512', kid: 'rs512' };
      const enc = { ...(await fake.newKey()).publicJwk, use: 'enc', kid: 'enc' };
      const weak = await fake.newKey('RS256', 1024);
      fake.mode = 'garbage';
      fake.garbageBody = JSON.stringify({ keys: [ec.publicJwk, rs512, enc, weak.publicJwk, { kty: 'RSA' }, 'x', null, rsa.publicJwk] });
      const s = await source();
      expect(await s.getKey(rsa.kid)).toBeDefined();
      for (const kid of [ec.kid, 'rs512', 'enc', weak.kid]) await expectAuthError(s.getKey(kid), 'unknown_key');
    });

    it('refuses oversized bodies', async () => {
      fake.mode = 'garbage';
      fake.garbageBody = JSON.stringify({ keys: [fake.current.publicJwk], pad: 'x'.repeat(300 * 1024) });
      const s = await source();
      await expectUnavailable(s.getKey(fake.current.kid));
    });

    it('does not follow redirects (redirect: "error")', async () => {
      const inits: RequestInit[] = [];
      const s = await source({
        jwksUri: fake.redirectUri,
        fetch: (input, init) => {
          inits.push(init ?? {});
          return fetch(input, init);
        },
      });
      await expectUnavailable(s.getKey(fake.current.kid));
      expect(fake.redirectCount).toBe(1);
      expect(fake.fetchCount).toBe(0);
      expect(inits[0]?.redirect).toBe('error');
      expect(inits[0]?.signal).toBeInstanceOf(AbortSignal);
    });

    it('ignores a corrupt shared-cache record and fetches', async () => {
      const stores = await backend.instance();
      await stores.googleKeys.put({ jwks: { keys: [{ kty: 'oct', k: 'AAAA', kid: fake.current.kid }] }, fetchedAt: clock.now(), expiresAt: clock.now() + HOUR }, HOUR);
      const s = await source();
      expect(await s.getKey(fake.current.kid)).toBeDefined();
      expect(fake.fetchCount).toBe(1);
    });
  });

  describe('cold start across instances', () => {
    it('two instances starting cold with 100 verifications each cause exactly one fetch', async () => {
      const a = await source();
      const b = await source();
      const va = verifierFor(a);
      const vb = verifierFor(b);
      const token = await fake.mint();
      const all = await Promise.all([
        ...Array.from({ length: 100 }, () => va.verify(token)),
        ...Array.from({ length: 100 }, () => vb.verify(token)),
      ]);
      expect(all).toHaveLength(200);
      expect(all.every((p) => p.sub === '110169484474386276334')).toBe(true);
      expect(fake.fetchCount).toBe(1);
      expect(a.stats.fetches + b.stats.fetches).toBe(1);
    });

    it('also when the fetch is slow (the loser waits for the winner)', async () => {
      fake.mode = 'slow';
      fake.slowMs = 400;
      const sources = await Promise.all([source(), source(), source()]);
      const token = await fake.mint();
      await Promise.all(sources.flatMap((s) => Array.from({ length: 30 }, () => verifierFor(s).verify(token))));
      expect(fake.fetchCount).toBe(1);
    });

    it('concurrent look-ups in one process share one refresh (one lock attempt, one fetch)', async () => {
      const stores = await backend.instance();
      let fetchLockAttempts = 0;
      const countingLocks = {
        acquire: (name: string, ttl: number) => {
          if (name === FETCH_LOCK) fetchLockAttempts++;
          return stores.locks.acquire(name, ttl);
        },
        release: (name: string) => stores.locks.release(name),
      };
      const s = await source({ cache: stores.googleKeys, locks: countingLocks });
      await Promise.all(Array.from({ length: 50 }, () => s.getKey(fake.current.kid)));
      expect(fetchLockAttempts).toBe(1);
      expect(fake.fetchCount).toBe(1);
    });

    it('after taking the lock, re-reads the shared cache (the previous holder may just have published)', async () => {
      const a = await source();
      await a.getKey(fake.current.kid);
      const stores = await backend.instance();
      // The first read happened "before" a published; by the time b takes the free lock it has.
      let reads = 0;
      const lagging = {
        get: async () => (++reads === 1 ? null : stores.googleKeys.get()),
        put: stores.googleKeys.put.bind(stores.googleKeys),
      };
      const b = await source({ cache: lagging, locks: stores.locks });
      expect(await b.getKey(fake.current.kid)).toBeDefined();
      expect(reads).toBe(2);
      expect(fake.fetchCount).toBe(1);
    });

    it('a loser whose winner never publishes fetches itself after the wait', async () => {
      const stores = await backend.instance();
      expect(await stores.locks.acquire(FETCH_LOCK, 10_000)).toBe(true); // a winner that then dies
      const s = await source({ lockWaitMs: 300, lockPollMs: 50 });
      const t0 = performance.now();
      expect(await s.getKey(fake.current.kid)).toBeDefined();
      expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
      expect(fake.fetchCount).toBe(1);
      await stores.locks.release(FETCH_LOCK);
    });
  });
});

describe('freshnessOf (Cache-Control parsing)', () => {
  const o = { defaultTtlMs: HOUR, minTtlMs: 5 * MIN, maxTtlMs: 24 * HOUR };
  const f = (headers: Record<string, string>) => freshnessOf(new Headers(headers), o);

  it.each<[Record<string, string>, number]>([
    [{ 'cache-control': 'public, max-age=19204, must-revalidate, no-transform' }, 19_204_000],
    [{ 'cache-control': 'MAX-AGE=600' }, 600_000],
    [{ 'cache-control': 'max-age="600"' }, 600_000],
    [{ 'cache-control': 'public,max-age=7200' }, 7_200_000],
    [{ 'cache-control': 'max-age=4000' , age: '400' }, 3_600_000],
    [{ 'cache-control': 'max-age=4000', age: 'junk' }, 4_000_000],
    [{ 'cache-control': 's-maxage=600' }, HOUR],
    [{ 'cache-control': 'no-cache' }, HOUR],
    [{ 'cache-control': 'max-age=abc' }, HOUR],
    [{ 'cache-control': 'max-age=-5' }, HOUR],
    [{}, HOUR],
    [{ 'cache-control': 'max-age=1' }, 5 * MIN],
    [{ 'cache-control': 'max-age=9999999999' }, 24 * HOUR],
  ])('%j → %d ms', (headers, expected) => {
    expect(f(headers)).toBe(expected);
  });
});
