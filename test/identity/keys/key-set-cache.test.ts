import { describe, expect, it } from '@jest/globals';
import * as jose from 'jose';
import { Redis } from 'ioredis';
import { AuthError } from '../../../src/errors.js';
import { KEY_SET_DEFAULTS, ProviderKeys, STALE_GRACE_MS } from '../../../src/identity/keys/index.js';
import { usePrivateRedis } from '../../support/env.js';
import { FakeGoogle } from '../../support/fake-google.js';
import { expectAuthError } from '../helpers.js';
import { memoryBackend, redisBackend, track, until, useKeyCache, type BackendFactory } from './support.js';

/**
 * The shared key cache through the Google keys (`providerKeys(google, …)`): lookup order, freshness from
 * Cache-Control, rotation and unknown kids, one fetch per cluster. Each case runs on the
 * memory store and on Redis with several clients (separate instances). Outages and timeouts:
 * key-set-cache-outages.test.ts; Redis trouble: shared-store.test.ts.
 */
const redis = usePrivateRedis();
const MIN = 60_000;
const HOUR = 3_600_000;

/** An RS256 key as `getKey` answers it. */
const rs256 = { algorithm: { name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-256' }, modulusLength: 2048 }, type: 'public' };

describe.each<[string, BackendFactory]>([
  ['memory', memoryBackend()],
  ['redis', redisBackend(() => redis.url)],
])('the key cache with the %s store', (_name, makeBackend) => {
  const h = useKeyCache(makeBackend);

  describe('lookup order', () => {
    it('fetches once, then serves the in-process set; the key really verifies a Google-shaped token', async () => {
      const s = await h.source();
      const key = await s.getKey(h.fake.current.kid);
      const again = await s.getKey(h.fake.current.kid);
      expect(h.fake.fetchCount).toBe(1);
      expect(s.stats.fetches).toBe(1);
      expect(key).toMatchObject(rs256);
      // Imported once: the same CryptoKey object, not a re-import per verification.
      expect(again).toBe(key);
      const { payload } = await jose.jwtVerify(await h.fake.mint(), key, { algorithms: ['RS256'] });
      expect(payload.email).toBe('alice@example.com');
    });

    it('a second instance uses the shared cache instead of fetching', async () => {
      const a = await h.source();
      const keyA = await a.getKey(h.fake.current.kid);
      const b = await h.source();
      const keyB = await b.getKey(h.fake.current.kid);
      expect(h.fake.fetchCount).toBe(1);
      expect(b.stats.fetches).toBe(0);
      expect(b.stats.sharedCacheHits).toBe(1);
      // The same key, imported by b from the shared record.
      expect(await jose.exportJWK(keyB)).toEqual(await jose.exportJWK(keyA));
    });

    it('checks static keys first (no fetch at all, even with Google down)', async () => {
      h.fake.mode = 'down';
      const dev = await h.fake.newKey();
      const s = await h.source({ staticKeys: [dev.publicJwk] });
      const key = await s.getKey(dev.kid);
      const { payload } = await jose.jwtVerify(await h.fake.mint({}, {}, { key: dev }), key, { algorithms: ['RS256'] });
      expect(payload.sub).toBe('110169484474386276334');
      expect(h.fake.fetchCount).toBe(0);
    });

    it('refuses invalid static keys loudly (configuration error)', async () => {
      const ec = await h.fake.newKey('ES256');
      const s = await h.source({ staticKeys: [ec.publicJwk] });
      await expect(s.warm()).rejects.toThrow(new TypeError('every static key must be a public RS256 RSA JWK (2048 bits or more) with a kid'));
    });

    it('warm() loads keys ahead of the first token', async () => {
      const s = await h.source();
      expect(await s.warm()).toBe(true);
      expect(h.fake.fetchCount).toBe(1);
      await s.getKey(h.fake.current.kid);
      expect(h.fake.fetchCount).toBe(1);
      h.fake.mode = 'down';
      const cold = await h.source();
      expect(await cold.warm()).toBe(true); // from the shared cache
      expect(h.fake.fetchCount).toBe(1);
    });

    it('keeps providers apart: their own record, endpoint and keys', async () => {
      const apple = await FakeGoogle.start({ now: h.clock.now });
      try {
        const google = await h.source();
        const stores = await h.backend.instance();
        const appleKeys = new ProviderKeys({ provider: 'apple', jwksUri: apple.jwksUri, store: stores.keySets, locks: stores.locks, clock: h.clock, logger: h.log });
        await google.getKey(h.fake.current.kid);
        await expectAuthError(appleKeys.getKey(h.fake.current.kid), 'unknown_key');
        // Not satisfied by Google's record: Apple's set, then one refetch for the unknown kid.
        expect(apple.fetchCount).toBe(2);
        expect(appleKeys.stats.unknownKidRefetches).toBe(1);
        expect(await appleKeys.getKey(apple.current.kid)).toMatchObject(rs256);
        expect(apple.fetchCount).toBe(2);
        expect((await stores.keySets.get('google'))!.jwks.keys.map((k) => k.kid)).toEqual([h.fake.current.kid]);
        expect((await stores.keySets.get('apple'))!.jwks.keys.map((k) => k.kid)).toEqual([apple.current.kid]);
        expect(h.fake.fetchCount).toBe(1);
      } finally {
        await apple.close();
      }
    });

    it('refuses a provider name that cannot be a Redis key segment', async () => {
      const stores = await h.backend.instance();
      for (const provider of ['', 'Google', 'a b', 'x}{', 'a'.repeat(33)]) {
        expect(() => new ProviderKeys({ provider, jwksUri: h.fake.jwksUri, store: stores.keySets, locks: stores.locks })).toThrow(new TypeError(`key cache: invalid provider name "${provider}"`));
      }
    });
  });

  describe('freshness from Cache-Control', () => {
    async function refetchesAt(maxAge: number | null, freshMs: number): Promise<void> {
      h.fake.maxAge = maxAge;
      const s = await h.source();
      await s.getKey(h.fake.current.kid);
      h.clock.advance(freshMs - 1_000);
      await s.getKey(h.fake.current.kid);
      await s.settled();
      expect(h.fake.fetchCount).toBe(1);
      h.clock.advance(2_000);
      await s.getKey(h.fake.current.kid);
      await s.settled();
      expect(h.fake.fetchCount).toBe(2);
      // The refetched set is fresh again for as long.
      h.clock.advance(freshMs - 1_000);
      await s.getKey(h.fake.current.kid);
      await s.settled();
      expect(h.fake.fetchCount).toBe(2);
    }

    it('honours max-age: no refetch before it, a refetch after it', () => refetchesAt(600, 600_000));
    it('bounds a tiny max-age to 5 minutes', () => refetchesAt(0, 5 * MIN));
    it('bounds a huge max-age to 24 hours', () => refetchesAt(30 * 24 * 3600, 24 * HOUR));
    it('defaults to 1 hour without Cache-Control', () => refetchesAt(null, HOUR));

    it('stores the set in the shared cache with freshness + stale grace', async () => {
      h.fake.maxAge = 900;
      const s = await h.source();
      await s.getKey(h.fake.current.kid);
      const stores = await h.backend.instance();
      const cached = await stores.keySets.get('google');
      expect(cached).toEqual({ jwks: { keys: [expect.any(Object)] }, fetchedAt: h.clock.now(), expiresAt: h.clock.now() + 900_000 });
      // Only public members are stored.
      expect(cached!.jwks.keys[0]).toEqual({ kty: 'RSA', kid: h.fake.current.kid, n: h.fake.current.publicJwk.n, e: h.fake.current.publicJwk.e, alg: 'RS256', use: 'sig' });
      if (h.backend.kind === 'redis') {
        // The record's own TTL in Redis: freshness + stale grace.
        const raw = new Redis(redis.url);
        try {
          const ttl = await raw.pttl(`${h.backend.prefix}jwks:google`);
          expect(ttl).toBeLessThanOrEqual(900_000 + STALE_GRACE_MS);
          expect(ttl).toBeGreaterThan(900_000 + STALE_GRACE_MS - MIN);
        } finally {
          raw.disconnect();
        }
      }
    });
  });

  describe('rotation and unknown kids', () => {
    /** Two instances that each hold the current set (one fetch between them). */
    async function twoWarmInstances(): Promise<[ProviderKeys, ProviderKeys]> {
      const a = await h.source();
      const b = await h.source();
      await a.getKey(h.fake.current.kid);
      await b.getKey(h.fake.current.kid);
      expect(h.fake.fetchCount).toBe(1);
      return [a, b];
    }

    it('a new kid at Google triggers a refetch and then verifies', async () => {
      const s = await h.source();
      const verifier = h.verifierFor(s);
      await verifier.verify(await h.fake.mint());
      const old = h.fake.current;
      await h.fake.rotate();
      const p = await verifier.verify(await h.fake.mint());
      expect(p.email).toBe('alice@example.com');
      expect(h.fake.fetchCount).toBe(2);
      expect(s.stats.unknownKidRefetches).toBe(1);
      // The old key (still published) keeps working.
      expect(h.fake.published[1]!.kid).toBe(old.kid);
      const oldKey = await s.getKey(old.kid);
      expect((await jose.jwtVerify(await h.fake.mint({}, {}, { key: old }), oldKey)).payload.sub).toBe('110169484474386276334');
    });

    it('another instance picks the rotated set up from the shared cache without fetching', async () => {
      const [a, b] = await twoWarmInstances();
      await h.fake.rotate();
      await a.getKey(h.fake.current.kid); // a refetches
      expect(h.fake.fetchCount).toBe(2);
      h.clock.advance(1_000);
      // b's set is fresh but lacks the kid: the shared cache has it.
      expect(await b.getKey(h.fake.current.kid)).toMatchObject(rs256);
      expect(h.fake.fetchCount).toBe(2);
      expect(b.stats.fetches).toBe(0);
    });

    it('a flood of 200 made-up kids causes at most one extra fetch per cooldown, across instances', async () => {
      const [a, b] = await twoWarmInstances();

      const flood = (s: ProviderKeys) => Promise.allSettled(Array.from({ length: 200 }, (_, i) => s.getKey(`made-up-${i}-${Math.random()}`)));
      const results = [...(await flood(a)), ...(await flood(b))];
      expect(results.every((r) => r.status === 'rejected' && r.reason instanceof AuthError && r.reason.reason === 'unknown_key')).toBe(true);
      expect(h.fake.fetchCount).toBe(2);

      h.clock.advance(KEY_SET_DEFAULTS.cooldownMs - 5_000);
      await flood(a);
      await flood(b);
      expect(h.fake.fetchCount).toBe(2);
      // Sequential floods (not coalesced by single-flight) are bounded too.
      for (let i = 0; i < 50; i++) await expectAuthError(a.getKey(`seq-${i}`), 'unknown_key');
      expect(h.fake.fetchCount).toBe(2);
    });

    it('after the cooldown, one more refetch is allowed (the shared cooldown lock lives cooldownMs)', async () => {
      const cooldownMs = 300;
      const stores = await h.backend.instance();
      const taken: [string, number][] = [];
      const recording = {
        acquire: (name: string, ttl: number) => (taken.push([name, ttl]), stores.locks.acquire(name, ttl)),
        release: (name: string) => stores.locks.release(name),
      };
      const s = await h.source({ cooldownMs, store: stores.keySets, locks: recording });
      await s.getKey(h.fake.current.kid);
      await expectAuthError(s.getKey('made-up-1'), 'unknown_key');
      expect(h.fake.fetchCount).toBe(2);
      await expectAuthError(s.getKey('made-up-2'), 'unknown_key');
      expect(h.fake.fetchCount).toBe(2);
      expect(taken.filter(([name]) => name === 'google-jwks-cooldown')).toEqual([['google-jwks-cooldown', cooldownMs]]);
      // The shared lock expires by the store's clock (real time): wait for that, not for a fixed time.
      const probe = await h.backend.instance();
      await until(async () => (await probe.locks.acquire('google-jwks-cooldown', 60_000)) && (await probe.locks.release('google-jwks-cooldown'), true), 'the cooldown lock to expire');
      h.clock.advance(cooldownMs);
      await expectAuthError(s.getKey('made-up-3'), 'unknown_key');
      expect(h.fake.fetchCount).toBe(3);
    });

    it('a kid that was removed at Google stops resolving after the refetch', async () => {
      const s = await h.source();
      const old = h.fake.current;
      await s.getKey(old.kid);
      await h.fake.rotate({ keepOld: false });
      await s.getKey(h.fake.current.kid);
      expect(h.fake.fetchCount).toBe(2);
      await expectAuthError(s.getKey(old.kid), 'unknown_key');
    });
  });

  describe('cold start across instances', () => {
    it('two instances starting cold with 100 verifications each cause exactly one fetch', async () => {
      const a = await h.source();
      const b = await h.source();
      const va = h.verifierFor(a);
      const vb = h.verifierFor(b);
      const token = await h.fake.mint();
      const all = await Promise.all([...Array.from({ length: 100 }, () => va.verify(token)), ...Array.from({ length: 100 }, () => vb.verify(token))]);
      expect(all).toHaveLength(200);
      expect(all.every((p) => p.sub === '110169484474386276334')).toBe(true);
      expect(h.fake.fetchCount).toBe(1);
      expect(a.stats.fetches + b.stats.fetches).toBe(1);
    });

    it('also when the fetch is slow (the loser waits for the winner)', async () => {
      h.fake.mode = 'slow';
      h.fake.slowMs = 400;
      const sources = await Promise.all([h.source(), h.source(), h.source()]);
      const token = await h.fake.mint();
      const all = await Promise.all(sources.flatMap((s) => Array.from({ length: 30 }, () => h.verifierFor(s).verify(token))));
      expect(all.every((p) => p.sub === '110169484474386276334')).toBe(true);
      expect(h.fake.fetchCount).toBe(1);
    });

    it('concurrent look-ups in one process share one refresh (one lock attempt, one fetch)', async () => {
      const stores = await h.backend.instance();
      const attempts: string[] = [];
      const countingLocks = {
        acquire: (name: string, ttl: number) => (attempts.push(name), stores.locks.acquire(name, ttl)),
        release: (name: string) => stores.locks.release(name),
      };
      const s = await h.source({ store: stores.keySets, locks: countingLocks });
      const keys = await Promise.all(Array.from({ length: 50 }, () => s.getKey(h.fake.current.kid)));
      expect(new Set(keys).size).toBe(1);
      expect(attempts).toEqual(['google-jwks-fetch']);
      expect(h.fake.fetchCount).toBe(1);
    });

    it('after taking the lock, re-reads the shared cache (the previous holder may just have published)', async () => {
      const a = await h.source();
      await a.getKey(h.fake.current.kid);
      const stores = await h.backend.instance();
      // The first read happened "before" a published; by the time b takes the free lock it has.
      let reads = 0;
      const lagging = {
        get: async (provider: string) => (++reads === 1 ? null : stores.keySets.get(provider)),
        put: stores.keySets.put.bind(stores.keySets),
      };
      const b = await h.source({ store: lagging, locks: stores.locks });
      expect(await b.getKey(h.fake.current.kid)).toMatchObject(rs256);
      expect(reads).toBe(2);
      expect(h.fake.fetchCount).toBe(1);
      expect(b.stats.sharedCacheHits).toBe(1);
    });

    it('a loser whose winner never publishes fetches itself after lockWaitMs', async () => {
      const stores = await h.backend.instance();
      expect(await stores.locks.acquire('google-jwks-fetch', 60_000)).toBe(true); // a winner that then dies
      const lockWaitMs = 300;
      const lockPollMs = 50;
      const s = await h.source({ lockWaitMs, lockPollMs, clock: h.clock });
      const p = track(s.getKey(h.fake.current.kid));
      let waited = 0;
      for (;;) {
        await until(() => h.clock.pendingDelays().includes(lockPollMs) || h.fake.fetchCount > 0, 'a poll of the lock or the fetch');
        if (h.fake.fetchCount > 0) break;
        h.clock.advance(lockPollMs);
        waited += lockPollMs;
      }
      expect(waited).toBe(lockWaitMs);
      expect(await p.result).toMatchObject({ status: 'fulfilled', value: rs256 });
      expect(h.fake.fetchCount).toBe(1);
      await stores.locks.release('google-jwks-fetch');
    });

    it('a loser takes over as soon as the winner gives the lock up without publishing', async () => {
      const stores = await h.backend.instance();
      expect(await stores.locks.acquire('google-jwks-fetch', 60_000)).toBe(true);
      const s = await h.source({ lockWaitMs: 10_000, lockPollMs: 50, clock: h.clock });
      const p = track(s.getKey(h.fake.current.kid));
      await h.clock.timerPending(50);
      h.clock.advance(50);
      await h.clock.timerPending(50);
      await stores.locks.release('google-jwks-fetch'); // the winner failed
      h.clock.advance(50);
      expect(await p.result).toMatchObject({ status: 'fulfilled', value: rs256 });
      expect(h.fake.fetchCount).toBe(1);
    });
  });
});
