import { describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { createRedisClient, createRedisStores, whenReady } from '../../src/store/redis/index.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { gcraRule } from '../../src/store/gcra.js';
import { hash, id, newSession, profile, rotation, write } from './contract.js';

/** The default per-account and per-session limits: their state is part of the records measured. */
const SIGN_IN_LIMIT = gcraRule(10, 600_000);
const REFRESH_LIMIT = gcraRule(10, 60_000);

/**
 * Redis memory per user and per session, measured as the growth of `used_memory` (what the
 * allocator really holds: values, key names, dictionary entries, expiry entries) while
 * realistic records are written through the store. The README's scaling notes quote the
 * line this test prints; the bounds keep a regression from going unnoticed.
 */
const USERS = 3_000;
const BATCH = 500;

describe('Redis memory per session', () => {
  const redis = usePrivateRedis();

  it('measures bytes per user with one session, per further session, and per rotation', async () => {
    const client = createRedisClient(redis.url);
    await whenReady(client);
    const stores = createRedisStores({ client, keyPrefix: uniquePrefix(), ownsClient: true });
    const raw = new Redis(redis.url);
    const used = async () => Number(/used_memory:(\d+)/.exec(await raw.info('memory'))![1]);
    try {
      const now = Date.now();
      const picture = 'https://lh3.googleusercontent.com/a/ACg8ocKxZ3Xq1cQm8Qz2l9v0T7bW4Yf2Qp6N1sJrUuHkLmN0pQrS=s96-c';
      const users = Array.from({ length: USERS }, () => ({ uid: id(), sub: String(100_000_000_000_000_000_000n + BigInt(Math.floor(Math.random() * 1e15))) }));
      const inBatches = async (work: (u: (typeof users)[number]) => Promise<unknown>) => {
        for (let i = 0; i < users.length; i += BATCH) await Promise.all(users.slice(i, i + BATCH).map(work));
      };

      const m0 = await used();
      const first = new Map<string, { id: string; refreshHash: string }>();
      await inBatches(async (u) => {
        await stores.identities.link('google', u.sub, u.uid);
        const s = newSession(now); // iOS user agent (118 B) and an IPv6 address
        first.set(u.uid, s);
        const p = profile(u.sub, { picture, email: `ada.${u.sub}@example.com`, hostedDomain: 'example.com' });
        await stores.accounts.writeSession(write(u.uid, s, { profile: p, limit: SIGN_IN_LIMIT }));
      });
      const m1 = await used();
      await inBatches((u) =>
        stores.accounts.writeSession(write(u.uid, newSession(now), { profile: profile(u.sub, { picture, email: `ada.${u.sub}@example.com`, hostedDomain: 'example.com' }), limit: SIGN_IN_LIMIT })),
      );
      const m2 = await used();
      // One refresh per first session: the session keeps the previous hash, the rotation time
      // and its refresh budget from then on. (The grace box a refresh also writes lives REFRESH_GRACE_PERIOD,
      // 10 s, so it is left out here: graceMs 0.)
      await inBatches((u) => {
        const s = first.get(u.uid)!;
        return stores.accounts.rotateSession(u.uid, s.id, { ...rotation(now, s.refreshHash), nextHash: hash(), graceMs: 0, limit: REFRESH_LIMIT });
      });
      const m3 = await used();

      const perUser = (m1 - m0) / USERS;
      const perSession = (m2 - m1) / USERS;
      const perRotation = (m3 - m2) / USERS;
      process.stdout.write(
        `redis memory (used_memory growth over ${USERS} users): user with first session ${Math.round(perUser)} B, each further session ${Math.round(perSession)} B, a session once refreshed +${Math.round(perRotation)} B\n`,
      );
      // The user record, its identities record (~0.3 KB), its identity link, its first session
      // and its `user.created` event.
      expect(perUser).toBeLessThan(2_400);
      expect(perSession).toBeLessThan(800);
      expect(perRotation).toBeLessThan(200);
    } finally {
      raw.disconnect();
      await stores.close();
    }
  }, 60_000);
});
