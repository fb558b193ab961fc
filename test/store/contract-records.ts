import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { CachedKeySet, StoredSigningKey } from '../../src/store/types.js';
import { HOUR, hash, id, type ContractContext } from './contract-fixtures.js';

/**
 * Store contract, part one: everything but accounts and sessions (locks, Google's key set,
 * signing keys, identity links, single-use records, rate limits, the activity estimate).
 */

function signingKey(kid: string, createdAt: number): StoredSigningKey {
  return {
    kid,
    privateJwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd', kid },
    publicJwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid },
    createdAt,
    activatesAt: createdAt + 1000,
    retiresAt: null,
  };
}

function keySet(n: number): CachedKeySet {
  return {
    jwks: { keys: [{ kty: 'RSA', kid: `k${n}`, n: 'AQAB'.repeat(8), e: 'AQAB', alg: 'RS256', use: 'sig' }] },
    fetchedAt: 1_700_000_000_000 + n,
    expiresAt: 1_700_000_360_000 + n,
  };
}

/** Polls `check` until it holds (a condition, not a fixed sleep); fails after `ms`. */
async function eventually(check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  for (const deadline = Date.now() + ms; !(await check()); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
  }
}

export function recordContract(ctx: ContractContext): void {
  describe('locks', () => {
    it('gives the lock to the first caller only, until released', async () => {
      const name = `l-${id()}`;
      expect(await ctx.stores.locks.acquire(name, 10_000)).toBe(true);
      expect(await ctx.stores.locks.acquire(name, 10_000)).toBe(false);
      await ctx.stores.locks.release(name);
      expect(await ctx.stores.locks.acquire(name, 10_000)).toBe(true);
      await ctx.stores.locks.release(name);
    });

    it('lets exactly one of 20 concurrent callers in', async () => {
      const name = `l-${id()}`;
      const got = await Promise.all(Array.from({ length: 20 }, () => ctx.stores.locks.acquire(name, 10_000)));
      expect(got.filter(Boolean)).toHaveLength(1);
      await ctx.stores.locks.release(name);
    });

    it('frees the lock when its ttl passes', async () => {
      const name = `l-${id()}`;
      expect(await ctx.stores.locks.acquire(name, 60_000)).toBe(true);
      await ctx.backend.elapse(30_000);
      expect(await ctx.stores.locks.acquire(name, 10_000)).toBe(false);
      await ctx.backend.elapse(30_000);
      expect(await ctx.stores.locks.acquire(name, 10_000)).toBe(true);
      await ctx.stores.locks.release(name);
    });

    it('keeps names independent; releasing a lock nobody holds is harmless', async () => {
      const a = `l-${id()}`;
      const b = `l-${id()}`;
      await ctx.stores.locks.release(a);
      expect(await ctx.stores.locks.acquire(a, 10_000)).toBe(true);
      expect(await ctx.stores.locks.acquire(b, 10_000)).toBe(true);
      await ctx.stores.locks.release(a);
      expect(await ctx.stores.locks.acquire(b, 10_000)).toBe(false);
      await ctx.stores.locks.release(b);
    });

    it('belongs to its holder: an instance whose lock expired cannot free the one another instance took since', async () => {
      const a = ctx.stores;
      const b = await ctx.backend.peer();
      const name = `l-${id()}`;
      expect(await a.locks.acquire(name, 1_000)).toBe(true);
      expect(await b.locks.acquire(name, 10_000)).toBe(false);
      await ctx.backend.elapse(1_000);
      expect(await b.locks.acquire(name, 10_000)).toBe(true);
      await a.locks.release(name); // a's acquisition is over: must not delete b's lock
      expect(await a.locks.acquire(name, 10_000)).toBe(false);
      await b.locks.release(name);
      expect(await a.locks.acquire(name, 10_000)).toBe(true);
      await a.locks.release(name);
    });
  });

  describe('keySets', () => {
    it("is empty at first, then round-trips a provider's key set as JSON; put replaces; one record per provider", async () => {
      const { stores: s } = await ctx.fresh();
      expect(await s.keySets.get('google')).toBeNull();
      await s.keySets.put('google', keySet(1), 60_000);
      expect(await s.keySets.get('google')).toEqual(keySet(1));
      await s.keySets.put('google', keySet(2), 60_000);
      await s.keySets.put('apple', keySet(5), 60_000);
      expect(await s.keySets.get('google')).toEqual(keySet(2));
      expect(await s.keySets.get('apple')).toEqual(keySet(5));
      expect(await s.keySets.get('google-risc')).toBeNull();
    });

    it('returns a copy, not the stored object', async () => {
      const { stores: s } = await ctx.fresh();
      const value = keySet(3);
      await s.keySets.put('google', value, 60_000);
      value.fetchedAt = 0;
      const got = await s.keySets.get('google');
      got!.jwks.keys.length = 0;
      expect(await s.keySets.get('google')).toEqual(keySet(3));
    });

    it('expires after ttlMs (the exact TTL in Redis: redis.test.ts)', async () => {
      const { stores: s } = await ctx.fresh();
      await s.keySets.put('google', keySet(4), 60_000);
      await s.keySets.put('apple', keySet(4), 1);
      expect(await s.keySets.get('google')).toEqual(keySet(4));
      // Expiry is by the store's own clock (a 1 ms record): waited for as a condition.
      await eventually(async () => (await s.keySets.get('apple')) === null);
      expect(await s.keySets.get('google')).toEqual(keySet(4));
    });
  });

  describe('signingKeys', () => {
    it('adds, lists (oldest first), never overwrites on add, replaces, removes', async () => {
      const { stores: s } = await ctx.fresh();
      expect(await s.signingKeys.list()).toEqual([]);
      const k1 = signingKey('kid-1', 2000);
      const k2 = signingKey('kid-2', 1000);
      await s.signingKeys.add(k1);
      await s.signingKeys.add(k2);
      expect(await s.signingKeys.list()).toEqual([k2, k1]);

      await s.signingKeys.add({ ...k1, activatesAt: 99 });
      expect((await s.signingKeys.list()).find((k) => k.kid === 'kid-1')).toEqual(k1);

      const retired = { ...k1, retiresAt: 5000 };
      await s.signingKeys.replace(retired);
      expect(await s.signingKeys.list()).toEqual([k2, retired]);

      await s.signingKeys.remove('kid-2');
      await s.signingKeys.remove('kid-absent');
      expect(await s.signingKeys.list()).toEqual([retired]);
    });

    it('keeps one key when 10 instances add the same kid at once', async () => {
      const { stores: s } = await ctx.fresh();
      const variants = Array.from({ length: 10 }, (_, i) => signingKey('same', 1000 + i));
      await Promise.all(variants.map((k) => s.signingKeys.add(k)));
      const list = await s.signingKeys.list();
      expect(list).toHaveLength(1);
      expect(variants).toContainEqual(list[0]);
    });
  });

  describe('identities', () => {
    it('links the first candidate and returns it to every later caller', async () => {
      const sub = `g-${id()}`;
      const first = id();
      expect(await ctx.stores.identities.link('google', sub, first)).toEqual({ userId: first, created: true });
      expect(await ctx.stores.identities.link('google', sub, id())).toEqual({ userId: first, created: false });
      expect(await ctx.stores.identities.link('google', sub, first)).toEqual({ userId: first, created: false });
    });

    it('gives 20 concurrent first sign-ins one id, and tells exactly one it linked', async () => {
      const sub = `g-${id()}`;
      const candidates = Array.from({ length: 20 }, () => id());
      const got = await Promise.all(candidates.map((c) => ctx.stores.identities.link('google', sub, c)));
      expect(new Set(got.map((g) => g.userId)).size).toBe(1);
      expect(got.filter((g) => g.created)).toHaveLength(1);
      expect(candidates).toContain(got[0]!.userId);
    });

    it('keeps subjects and providers apart', async () => {
      const [a, b, c] = [id(), id(), id()];
      expect((await ctx.stores.identities.link('google', `g-${a}`, a)).userId).toBe(a);
      expect((await ctx.stores.identities.link('google', `g-${b}`, b)).userId).toBe(b);
      expect((await ctx.stores.identities.link('apple', `g-${a}`, c)).userId).toBe(c);
    });

    it('get returns the linked id, or null, and never links', async () => {
      const sub = `g-${id()}`;
      expect(await ctx.stores.identities.get('google', sub)).toBeNull();
      expect(await ctx.stores.identities.get('google', sub)).toBeNull();
      const uid = id();
      await ctx.stores.identities.link('google', sub, uid);
      expect(await ctx.stores.identities.get('google', sub)).toBe(uid);
    });

    it('unlink removes a link only while it names that user; then the next link is a new id', async () => {
      const sub = `g-${id()}`;
      const uid = id();
      await ctx.stores.identities.link('google', sub, uid);
      expect(await ctx.stores.identities.unlink('google', sub, id())).toBe(false); // names someone else
      expect(await ctx.stores.identities.get('google', sub)).toBe(uid);
      expect(await ctx.stores.identities.unlink('google', sub, uid)).toBe(true);
      expect(await ctx.stores.identities.unlink('google', sub, uid)).toBe(false);
      const fresh = id();
      expect(await ctx.stores.identities.link('google', sub, fresh)).toEqual({ userId: fresh, created: true });
    });

    it('refuses a provider name that is not ours (programming error)', async () => {
      await expect(ctx.stores.identities.link('Google:x', 's', id())).rejects.toThrow(TypeError);
    });
  });

  describe('singleUse', () => {
    it('takes a record once; an unknown one is refused', async () => {
      const now = ctx.backend.now();
      const n = hash();
      expect(await ctx.stores.singleUse.put('sign-in-nonce', n, now + 600_000, now)).toBe(true);
      expect(await ctx.stores.singleUse.take('sign-in-nonce', n, now + 1)).toBe(true);
      expect(await ctx.stores.singleUse.take('sign-in-nonce', n, now + 2)).toBe(false);
      expect(await ctx.stores.singleUse.take('sign-in-nonce', hash(), now)).toBe(false);
    });

    it('refuses (and spends) a record whose expiry `now` has reached', async () => {
      const now = ctx.backend.now();
      const n = hash();
      await ctx.stores.singleUse.put('sign-in-nonce', n, now + 600_000, now);
      expect(await ctx.stores.singleUse.take('sign-in-nonce', n, now + 600_000)).toBe(false);
      expect(await ctx.stores.singleUse.take('sign-in-nonce', n, now)).toBe(false);
    });

    it('lets exactly one of 20 concurrent takers have it, and one of 20 concurrent putters store it', async () => {
      const now = ctx.backend.now();
      const n = hash();
      await ctx.stores.singleUse.put('sign-in-nonce', n, now + 600_000, now);
      const taken = await Promise.all(Array.from({ length: 20 }, () => ctx.stores.singleUse.take('sign-in-nonce', n, now)));
      expect(taken.filter(Boolean)).toHaveLength(1);
      const t = hash();
      const put = await Promise.all(Array.from({ length: 20 }, () => ctx.stores.singleUse.put('used-id-token', t, now + 60_000, now)));
      expect(put.filter(Boolean)).toHaveLength(1);
    });

    it('keeps the kinds apart', async () => {
      const now = ctx.backend.now();
      const h = hash();
      expect(await ctx.stores.singleUse.put('used-id-token', h, now + 60_000, now)).toBe(true);
      expect(await ctx.stores.singleUse.take('sign-in-nonce', h, now)).toBe(false);
      expect(await ctx.stores.singleUse.put('used-id-token', h, now + 60_000, now)).toBe(false);
    });

    it('forgets a record when its lifetime passes, by the store’s own expiry', async () => {
      const now = ctx.backend.now();
      const [n, t] = [hash(), hash()];
      await ctx.stores.singleUse.put('sign-in-nonce', n, now + 1_000, now);
      await ctx.stores.singleUse.put('used-id-token', t, now + 1_000, now);
      await ctx.backend.elapse(1_000);
      // Same `now`: only the record's expiry explains these.
      expect(await ctx.stores.singleUse.take('sign-in-nonce', n, now)).toBe(false);
      expect(await ctx.stores.singleUse.put('used-id-token', t, now + 600_000, now)).toBe(true);
    });
  });

  describe('rateLimits (GCRA)', () => {
    const subject = () => randomBytes(12).toString('base64url');
    const T = 1_700_000_000_000;

    it('allows a burst of `limit`, then refuses with the exact wait, counting nothing refused', async () => {
      const s = subject();
      const seen = [];
      for (let i = 0; i < 4; i++) seen.push(await ctx.stores.rateLimits.hit('test', s, 3, 60_000, T));
      expect(seen).toEqual([
        { allowed: true, remaining: 2, retryAfterMs: 0 },
        { allowed: true, remaining: 1, retryAfterMs: 0 },
        { allowed: true, remaining: 0, retryAfterMs: 0 },
        // One event every 60 s / 3 = 20 s: the next is allowed 20 s after the burst.
        { allowed: false, remaining: 0, retryAfterMs: 20_000 },
      ]);
      // Refused calls count nothing: still 20 s, and 5 s later 15 s.
      expect(await ctx.stores.rateLimits.hit('test', s, 3, 60_000, T)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 20_000 });
      expect(await ctx.stores.rateLimits.hit('test', s, 3, 60_000, T + 5_000)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 15_000 });
    });

    it('refills one event per interval and resets fully after the window', async () => {
      const s = subject();
      for (let i = 0; i < 3; i++) await ctx.stores.rateLimits.hit('test', s, 3, 60_000, T);
      expect((await ctx.stores.rateLimits.hit('test', s, 3, 60_000, T + 19_999)).allowed).toBe(false);
      expect(await ctx.stores.rateLimits.hit('test', s, 3, 60_000, T + 20_000)).toEqual({ allowed: true, remaining: 0, retryAfterMs: 0 });
      expect(await ctx.stores.rateLimits.hit('test', s, 3, 60_000, T + 20_000)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 20_000 });
      // A window after the last event: a full burst again.
      expect(await ctx.stores.rateLimits.peek('test', s, 3, 60_000, T + 80_000)).toEqual({ allowed: true, remaining: 3, retryAfterMs: 0 });
      expect(await ctx.stores.rateLimits.hit('test', s, 3, 60_000, T + 80_000)).toEqual({ allowed: true, remaining: 2, retryAfterMs: 0 });
    });

    it('peek tells whether a hit would pass and counts nothing', async () => {
      const s = subject();
      expect(await ctx.stores.rateLimits.peek('test', s, 2, 10_000, T)).toEqual({ allowed: true, remaining: 2, retryAfterMs: 0 });
      expect(await ctx.stores.rateLimits.peek('test', s, 2, 10_000, T)).toEqual({ allowed: true, remaining: 2, retryAfterMs: 0 });
      await ctx.stores.rateLimits.hit('test', s, 2, 10_000, T);
      expect(await ctx.stores.rateLimits.peek('test', s, 2, 10_000, T)).toEqual({ allowed: true, remaining: 1, retryAfterMs: 0 });
      await ctx.stores.rateLimits.hit('test', s, 2, 10_000, T);
      expect(await ctx.stores.rateLimits.peek('test', s, 2, 10_000, T + 1_000)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 4_000 });
    });

    it('keeps kinds and subjects apart', async () => {
      const [s, other] = [subject(), subject()];
      expect((await ctx.stores.rateLimits.hit('a', s, 1, 60_000, T)).allowed).toBe(true);
      expect((await ctx.stores.rateLimits.hit('a', s, 1, 60_000, T)).allowed).toBe(false);
      expect((await ctx.stores.rateLimits.hit('b', s, 1, 60_000, T)).allowed).toBe(true);
      expect((await ctx.stores.rateLimits.hit('a', other, 1, 60_000, T)).allowed).toBe(true);
    });

    it('rounds the interval up to whole milliseconds, never allowing more than the limit per window', async () => {
      const s = subject();
      // 7 per 60 s: interval ceil(60000 / 7) = 8572 ms; a burst of exactly 7.
      const burst = [];
      for (let i = 0; i < 8; i++) burst.push((await ctx.stores.rateLimits.hit('test', s, 7, 60_000, T)).allowed);
      expect(burst).toEqual([true, true, true, true, true, true, true, false]);
      expect((await ctx.stores.rateLimits.hit('test', s, 7, 60_000, T + 8_571)).allowed).toBe(false);
      expect((await ctx.stores.rateLimits.hit('test', s, 7, 60_000, T + 8_572)).allowed).toBe(true);
    });

    it('is atomic: concurrent hits allow exactly `limit`', async () => {
      const s = subject();
      const t = ctx.backend.now();
      const results = await Promise.all(Array.from({ length: 50 }, () => ctx.stores.rateLimits.hit('test', s, 20, 60_000, t)));
      expect(results.filter((r) => r.allowed)).toHaveLength(20);
      expect(results.filter((r) => !r.allowed).every((r) => r.retryAfterMs === 3_000)).toBe(true);
    });

    it('forgets a subject when its window has passed by the store’s expiry (TTL)', async () => {
      const s = subject();
      const t = ctx.backend.now();
      expect((await ctx.stores.rateLimits.hit('test', s, 1, 60_000, t)).allowed).toBe(true);
      expect((await ctx.stores.rateLimits.hit('test', s, 1, 60_000, t)).allowed).toBe(false);
      await ctx.backend.elapse(30_000);
      expect((await ctx.stores.rateLimits.hit('test', s, 1, 60_000, t)).allowed).toBe(false);
      await ctx.backend.elapse(30_000);
      // Same `now`: only the expiry of the record can explain the reset.
      expect((await ctx.stores.rateLimits.hit('test', s, 1, 60_000, t)).allowed).toBe(true);
    });

    it('refuses unbounded or malformed keys and arguments (programming errors)', async () => {
      const t = ctx.backend.now();
      const bad: [string, string, number, number, number][] = [
        ['test', 'x'.repeat(65), 1, 1_000, t],
        ['test', 'has space', 1, 1_000, t],
        ['test', '', 1, 1_000, t],
        ['Test', 'ok', 1, 1_000, t],
        ['test:x', 'ok', 1, 1_000, t],
        ['test', 'ok', 0, 1_000, t],
        ['test', 'ok', 1.5, 1_000, t],
        ['test', 'ok', 10, 5, t],
        ['test', 'ok', 1, 1_000, t + 0.5],
      ];
      for (const args of bad) {
        await expect(ctx.stores.rateLimits.hit(...args)).rejects.toThrow(TypeError);
        await expect(ctx.stores.rateLimits.peek(...args)).rejects.toThrow(TypeError);
      }
    });
  });

  describe('activity', () => {
    // Bucket numbers far from any other test's (each test uses its own).
    const base = () => 1_000_000 + Math.floor(Math.random() * 1_000_000_000);

    it('counts distinct session ids over the buckets asked for, and no others', async () => {
      const b = base();
      const later = ctx.backend.now() + HOUR;
      await ctx.stores.activity.record(b, ['s1'], later);
      await ctx.stores.activity.record(b, ['s2'], later);
      await ctx.stores.activity.record(b, ['s1'], later); // repeated in one bucket
      await ctx.stores.activity.record(b + 1, ['s2'], later); // repeated across buckets
      await ctx.stores.activity.record(b + 1, ['s3'], later);
      await ctx.stores.activity.record(b + 5, ['s4'], later);
      await ctx.stores.activity.record(b + 5, [], later); // nothing to add: no error, no change
      expect(await ctx.stores.activity.count([b])).toBe(2);
      expect(await ctx.stores.activity.count([b, b + 1])).toBe(3);
      expect(await ctx.stores.activity.count([b, b + 1, b + 2, b + 3, b + 4, b + 5])).toBe(4);
      expect(await ctx.stores.activity.count([b + 2])).toBe(0);
      expect(await ctx.stores.activity.count([])).toBe(0);
    });

    it('adds many session ids in one call', async () => {
      const b = base();
      await ctx.stores.activity.record(b, ['a', 'b', 'c', 'a'], ctx.backend.now() + HOUR);
      await ctx.stores.activity.record(b, ['c', 'd'], ctx.backend.now() + HOUR);
      expect(await ctx.stores.activity.count([b])).toBe(4);
    });

    it('forgets a bucket when it expires', async () => {
      const b = base();
      await ctx.stores.activity.record(b, ['s1'], ctx.backend.now() + 60_000);
      await ctx.stores.activity.record(b + 1, ['s2'], ctx.backend.now() + HOUR);
      expect(await ctx.stores.activity.count([b, b + 1])).toBe(2);
      await ctx.backend.elapse(61_000);
      expect(await ctx.stores.activity.count([b, b + 1])).toBe(1);
    });
  });

  describe('ping', () => {
    it('resolves while the store answers', async () => {
      await expect(ctx.stores.ping()).resolves.toBeUndefined();
    });
  });
}
