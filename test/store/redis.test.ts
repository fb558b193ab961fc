import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { createRedisClient, createRedisStores, whenReady } from '../../src/store/redis/index.js';
import { keyLayout } from '../../src/store/keys.js';
import type { Stores } from '../../src/store/types.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { RoundTripProxy } from './round-trip-proxy.js';
import { elapseRedis } from '../support/redis-ttl.js';
import { HOUR, TWO_PER_MINUTE, hash, id, newSession, profile, rotation, storeContract, write } from './contract.js';

// The slot function ioredis itself routes Cluster commands with (an ioredis dependency).
const calculateSlot = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;

const redis = usePrivateRedis();

async function makeStores(prefix = uniquePrefix(), url = redis.url): Promise<Stores> {
  const client = createRedisClient(url);
  await whenReady(client);
  return createRedisStores({ client, keyPrefix: prefix, ownsClient: true });
}

storeContract('redis', async () => {
  const prefix = uniquePrefix();
  const stores = await makeStores(prefix);
  const raw = new Redis(redis.url);
  const peers: Stores[] = [];
  return {
    stores,
    now: () => Date.now(),
    async peer() {
      const p = await makeStores(prefix);
      peers.push(p);
      return p;
    },
    elapse: (ms) => elapseRedis([raw], prefix, ms),
    async cleanup() {
      for (const p of [stores, ...peers]) await p.close();
      raw.disconnect();
    },
  };
});

describe('redis store', () => {
  let raw: Redis;
  let prefix: string;
  let stores: Stores;
  const keys = () => keyLayout(prefix);

  beforeAll(async () => {
    raw = new Redis(redis.url);
    prefix = uniquePrefix();
    stores = await makeStores(prefix);
  });
  afterAll(async () => {
    await stores.close();
    raw.disconnect();
  });

  it('lays keys out as documented', () => {
    expect(keyLayout('ag:').identity('apple', '001.abc')).toBe('ag:idn:apple:001.abc');
    expect(() => keyLayout('ag:').identity('a:b', 's')).toThrow(TypeError);
    const k = keyLayout('ag:');
    expect(k.user('u1')).toBe('ag:user:{u1}');
    expect(k.accountIdentities('u1')).toBe('ag:ids:{u1}');
    expect(k.retired('u1')).toBe('ag:gone:{u1}');
    expect(k.identity('google', '123')).toBe('ag:idn:google:123');
    expect(k.session('u1', 's1')).toBe('ag:sess:{u1}:s1');
    expect(k.sessionIndex('u1')).toBe('ag:sessidx:{u1}');
    expect(k.grace('u1', 's1')).toBe('ag:grace:{u1}:s1');
    expect(k.keySet('google')).toBe('ag:jwks:google');
    expect(k.keySet('apple')).toBe('ag:jwks:apple');
    expect(() => k.keySet('a:b')).toThrow(TypeError);
    expect(k.signingKeys()).toBe('ag:keys:signing');
    expect(k.lock('jwks-fetch')).toBe('ag:lock:jwks-fetch');
    expect(k.rateLimit('sign-in-addr', 'abc')).toBe('ag:rl:sign-in-addr:abc');
    expect(keyLayout().user('u1')).toBe('ag:user:{u1}');
    expect(() => k.user('a}b')).toThrow(TypeError);
    expect(() => k.session('', 's')).toThrow(TypeError);
  });

  it('trims the event stream by age (EVENTS_RETENTION) on every append, never by count', async () => {
    const p = uniquePrefix();
    const client = createRedisClient(redis.url);
    await whenReady(client);
    const short = createRedisStores({ client, keyPrefix: p, ownsClient: true, eventsRetentionMs: 3_600_000 });
    const stream = keyLayout(p).events();
    try {
      // 250 entries older than the hour, 250 within it (explicit ids: the entry id is its time).
      const t = Date.now();
      for (let i = 0; i < 250; i++) await raw.xadd(stream, `${t - 7_200_000 + i}-0`, 'event', '{}');
      for (let i = 0; i < 250; i++) await raw.xadd(stream, `${t - 1_800_000 + i}-0`, 'event', '{}');
      await short.accounts.writeSession(write(id(), newSession(t)));
      const left = (await raw.xrange(stream, '-', '+')) as [string, string[]][];
      const ms = left.map(([entry]) => Number(entry.split('-')[0]));
      // Every younger entry stays; of the older ones, at most one stream node's worth (100, `~`) may linger.
      expect(ms.filter((m) => m >= t - 1_800_000)).toHaveLength(251);
      expect(ms.filter((m) => m < t - 3_600_000).length).toBeLessThan(100);
    } finally {
      await short.close();
    }
  });

  it('puts a user’s record, identities, retired marker, sessions, index and grace boxes in one Cluster slot', () => {
    const k = keyLayout('ag:');
    const slots = (uid: string) =>
      new Set([k.user(uid), k.accountIdentities(uid), k.retired(uid), k.session(uid, 's1'), k.session(uid, 's2'), k.sessionIndex(uid), k.grace(uid, 's1')].map(calculateSlot));
    expect(slots('user-a').size).toBe(1);
    expect(slots('user-b').size).toBe(1);
    // Without the tag these keys would scatter; with it, distinct users still spread out.
    expect([...slots('user-a')][0]).not.toBe([...slots('user-b')][0]);
    expect(calculateSlot('ag:user:user-a')).not.toBe(calculateSlot('ag:sess:user-a:s1'));
  });

  it('gives every ephemeral key a TTL, and only the durable ones none', async () => {
    const now = Date.now();
    const uid = id();
    const s1 = newSession(now, { expiresAt: now + 7_200_000, refreshExpiresAt: now + 3_600_000 });
    const s2 = newSession(now, { expiresAt: now + 600_000, refreshExpiresAt: now + 900_000 });
    await stores.identities.link('google', `sub-${uid}`, uid);
    await stores.accounts.writeSession(write(uid, s1, { limit: TWO_PER_MINUTE }));
    await stores.accounts.writeSession(write(uid, s2));
    await stores.accounts.rotateSession(uid, s2.id, rotation(now, s2.refreshHash, { graceMs: 10_000, refreshTtlMs: 3_600_000, limit: TWO_PER_MINUTE }));
    await stores.singleUse.put('sign-in-nonce', hash(), now + 600_000, now);
    await stores.singleUse.put('used-id-token', hash(), now + 3_660_000, now);
    await stores.keySets.put('google', { jwks: { keys: [] }, fetchedAt: now, expiresAt: now + 1000 }, 60_000);
    await stores.signingKeys.add({ kid: 'k', privateJwk: {}, publicJwk: {}, createdAt: now, activatesAt: now, retiresAt: null });
    await stores.locks.acquire('ttl-check', 30_000);
    for (let i = 0; i < 3; i++) await stores.rateLimits.hit('ttl-check', 'subject', 4, 60_000, now);

    const k = keys();
    const pttl = (key: string) => raw.pttl(key);
    const near = (actual: number, expected: number) => {
      expect(actual).toBeGreaterThan(expected - Date.now() - 2000);
      expect(actual).toBeLessThanOrEqual(expected - now);
    };
    near(await pttl(k.session(uid, s1.id)), now + 3_600_000);
    near(await pttl(k.session(uid, s2.id)), now + 600_000); // rotation capped refresh at expiresAt
    near(await pttl(k.sessionIndex(uid)), now + 3_600_000); // the latest session end
    const grace = await pttl(k.grace(uid, s2.id));
    expect(grace).toBeGreaterThan(8000);
    expect(grace).toBeLessThanOrEqual(10_000);
    const jwks = await pttl(k.keySet('google'));
    expect(jwks).toBeGreaterThan(55_000);
    expect(jwks).toBeLessThanOrEqual(60_000);
    const lock = await pttl(k.lock('ttl-check'));
    expect(lock).toBeGreaterThan(25_000);
    expect(lock).toBeLessThanOrEqual(30_000);
    expect(await raw.zscore(k.sessionIndex(uid), s2.id)).toBe(String(now + 600_000));
    // The per-account and per-session budgets are fields of the user and the session, not keys.
    expect(await raw.hget(k.user(uid), 'sb')).toBe(String(now + 30_000));
    expect(await raw.hget(k.session(uid, s2.id), 'rb')).toBe('30000'); // ms after the refresh (rt)
    // Three of four per minute used: 45 s of debt, the key lives that long (never past the window).
    expect(k.rateLimit('ttl-check', 'subject')).toBe(`${prefix}rl:ttl-check:subject`);
    expect(await raw.get(k.rateLimit('ttl-check', 'subject'))).toBe(String(now + 45_000));
    const rl = await pttl(k.rateLimit('ttl-check', 'subject'));
    expect(rl).toBeGreaterThan(43_000);
    expect(rl).toBeLessThanOrEqual(45_000);

    // Every key this store wrote: durable ones have no TTL, all others have one. The event
    // stream is durable too: bounded by age entry by entry (XADD MINID), not by a key TTL.
    const durable = new Set([k.user(uid), k.accountIdentities(uid), k.identity('google', `sub-${uid}`), k.signingKeys(), k.events()]);
    const all: string[] = [];
    for (let cursor = '0'; ; ) {
      const [next, batch] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      all.push(...batch);
      if ((cursor = next) === '0') break;
    }
    expect(all.length).toBe(14);
    for (const key of all) {
      const t = await pttl(key);
      if (durable.has(key)) expect([key, t]).toEqual([key, -1]);
      else expect([key, t > 0]).toEqual([key, true]);
    }
    await stores.locks.release('ttl-check');
  });

  it('keeps a session under 512 bytes of Redis memory (and reports user and session sizes)', async () => {
    const now = Date.now();
    const uid = id();
    const s = newSession(now); // realistic iOS user agent (> 100 chars) and an IPv6 address
    // A realistic Google profile: 21-digit sub, ~95-byte picture URL.
    const picture = 'https://lh3.googleusercontent.com/a/ACg8ocKxZ3Xq1cQm8Qz2l9v0T7bW4Yf2Qp6N1sJrUuHkLmN0pQrS=s96-c';
    const p = profile('109876543210987654321', { picture, email: 'ada.lovelace@example.com', hostedDomain: 'example.com' });
    await stores.accounts.writeSession(write(uid, s, { profile: p, limit: TWO_PER_MINUTE })); // with the sign-in budget (sb)
    await stores.accounts.rotateSession(uid, s.id, rotation(now, s.refreshHash, { limit: TWO_PER_MINUTE })); // adds ph, rt and rb
    await stores.accounts.touchSession(uid, s.id, now + 120_000); // adds ls (lastSeenAt between refreshes)
    const k = keys();
    const session = Number(await raw.call('MEMORY', 'USAGE', k.session(uid, s.id), 'SAMPLES', '0'));
    const user = Number(await raw.call('MEMORY', 'USAGE', k.user(uid), 'SAMPLES', '0'));
    const index = Number(await raw.call('MEMORY', 'USAGE', k.sessionIndex(uid), 'SAMPLES', '0'));
    const grace = Number(await raw.call('MEMORY', 'USAGE', k.grace(uid, s.id), 'SAMPLES', '0'));
    const identities = Number(await raw.call('MEMORY', 'USAGE', k.accountIdentities(uid), 'SAMPLES', '0'));
    process.stdout.write(`redis memory: session ${session} B, user ${user} B, identities (one Google) ${identities} B, index(1 session) ${index} B, grace ${grace} B\n`);
    expect(await raw.object('ENCODING', k.session(uid, s.id))).toBe('listpack');
    expect(await raw.object('ENCODING', k.accountIdentities(uid))).toBe('listpack');
    expect(session).toBeLessThanOrEqual(512);
    expect(user).toBeLessThanOrEqual(1024);
    expect(identities).toBeLessThanOrEqual(256);
  });

  it('keeps `disabled` across sign-ins (sign-in never re-enables a user) and reads the flag alone as disabled', async () => {
    const now = Date.now();
    const uid = id();
    const s = newSession(now);
    await stores.accounts.writeSession(write(uid, s));
    // The flag alone, sessions still stored (as an interrupted operator command could leave it).
    await raw.hset(keys().user(uid), 'd', '1');
    expect(await stores.accounts.writeSession(write(uid, newSession(now + 1), { mustExist: true }))).toEqual({ kind: 'account_disabled' });
    expect((await stores.accounts.getUsers([uid]))[0]?.disabled).toBe(true);
    const before = await raw.hgetall(keys().session(uid, s.id));
    expect(await stores.accounts.rotateSession(uid, s.id, rotation(now + 2, s.refreshHash))).toEqual({ kind: 'account_disabled' });
    expect(await raw.hgetall(keys().session(uid, s.id))).toEqual(before); // the token was not spent
  });

  it('leaves no stale pieces of a long claim after it shrinks or becomes null', async () => {
    const uid = id();
    const now = Date.now();
    await stores.accounts.writeSession(write(uid, newSession(now), { profile: profile(`sub-${uid}`, { name: 'n'.repeat(200), picture: 'p'.repeat(200) }), limit: TWO_PER_MINUTE }));
    const fields = async () => (await raw.hkeys(keys().user(uid))).sort();
    expect(await fields()).toEqual(expect.arrayContaining(['n', 'n1', 'n2', 'n3', 'p', 'p1', 'p2', 'p3']));
    await stores.accounts.writeSession(write(uid, newSession(now + 1), { profile: profile(`sub-${uid}`, { name: 'n'.repeat(70), picture: null }) }));
    expect(await fields()).toEqual(['c', 'em', 'ev', 'fn', 'gn', 'lc', 'ls', 'n', 'n1', 's', 'sb']);
    expect(await raw.object('ENCODING', keys().user(uid))).toBe('listpack');
  });

  it('links an identity with one SET (no read-then-write)', async () => {
    const stat = async () => {
      const info = await raw.info('commandstats');
      const calls = (cmd: string) => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
      return { set: calls('set'), get: calls('get'), eval: calls('evalsha') + calls('eval') };
    };
    const before = await stat();
    await stores.identities.link('google', `g-${id()}`, id());
    const after = await stat();
    expect(after).toEqual({ ...before, set: before.set + 1 });
  });

  it('isolates key prefixes: another prefix on the same Redis sees none of it', async () => {
    const other = await makeStores();
    try {
      const uid = id();
      const s = newSession(Date.now());
      await stores.accounts.writeSession(write(uid, s));
      expect((await stores.accounts.readSession(uid, s.id)).session?.id).toBe(s.id);
      expect(await other.accounts.readSession(uid, s.id)).toEqual({ session: null, user: null });
    } finally {
      await other.close();
    }
  });

  describe('round trips (counted by a relay that delays every reply)', () => {
    const proxy = { current: null as RoundTripProxy | null };
    let viaProxy: Stores;
    let client: Redis;
    let p: string;
    beforeAll(async () => {
      proxy.current = new RoundTripProxy(redis.server.port);
      await proxy.current.start();
      p = uniquePrefix();
      client = createRedisClient(proxy.current.url);
      await whenReady(client);
      viaProxy = createRedisStores({ client, keyPrefix: p, ownsClient: true });
    });
    afterAll(async () => {
      await viaProxy.close();
      await proxy.current?.stop();
    });

    it('counts two dependent commands as two (the counter can tell)', async () => {
      const turns = await proxy.current!.count(async () => {
        await client.get(`${p}x`);
        await client.get(`${p}y`);
      });
      expect(turns).toBe(2);
    });

    it('readSession is one round trip', async () => {
      const uid = id();
      const s = newSession(Date.now());
      await viaProxy.accounts.writeSession(write(uid, s));
      let got: Awaited<ReturnType<Stores['accounts']['readSession']>> | undefined;
      const turns = await proxy.current!.count(async () => {
        got = await viaProxy.accounts.readSession(uid, s.id);
      });
      expect(got?.session?.id).toBe(s.id);
      expect(got?.user?.id).toBe(uid);
      expect(turns).toBe(1);
    });

    it('concurrent readSession calls (many requests at once) share one network write', async () => {
      const uid = id();
      const sessions = [newSession(Date.now()), newSession(Date.now()), newSession(Date.now())];
      for (const s of sessions) await viaProxy.accounts.writeSession(write(uid, s));
      const socket = (client as unknown as { stream: { write: (...a: unknown[]) => boolean } }).stream;
      const send = socket.write;
      let writes = 0;
      socket.write = function (this: unknown, ...a: unknown[]) {
        writes++;
        return send.apply(this, a);
      };
      try {
        const got = await Promise.all(Array.from({ length: 8 }, (_, i) => viaProxy.accounts.readSession(uid, sessions[i % 3]!.id)));
        expect(got.map((g) => g.session?.id)).toEqual(Array.from({ length: 8 }, (_, i) => sessions[i % 3]!.id));
        expect(got.every((g) => g.user?.id === uid)).toBe(true);
      } finally {
        socket.write = send;
      }
      expect(writes).toBe(1);
    });

    it('in a shared batch, a failing read fails only its own request', async () => {
      const uid = id();
      const good = newSession(Date.now());
      await viaProxy.accounts.writeSession(write(uid, good));
      const broken = newSession(Date.now());
      await client.set(keyLayout(p).session(uid, broken.id), 'not a hash'); // HGETALL → WRONGTYPE
      const [ok, bad] = await Promise.allSettled([
        viaProxy.accounts.readSession(uid, good.id),
        viaProxy.accounts.readSession(uid, broken.id),
      ]);
      expect(ok.status === 'fulfilled' && ok.value.session?.id).toBe(good.id);
      expect(bad.status === 'rejected' && String((bad.reason as Error).message)).toMatch(/WRONGTYPE/);
    });

    it('getUsers is one round trip for many users', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const uid = id();
        ids.push(uid);
        await viaProxy.accounts.writeSession(write(uid, newSession(Date.now())));
      }
      ids.splice(2, 0, id());
      let got: unknown[] = [];
      const turns = await proxy.current!.count(async () => {
        got = await viaProxy.accounts.getUsers(ids);
      });
      expect(got.filter((u) => u !== null)).toHaveLength(5);
      expect(turns).toBe(1);
    });

    it('every account primitive is one round trip once its script is cached', async () => {
      const uid = id();
      const s = newSession(Date.now());
      // Load the scripts (the first call of each may need EVAL after NOSCRIPT).
      await viaProxy.accounts.writeSession(write(uid, newSession(Date.now())));
      await viaProxy.accounts.rotateSession(uid, s.id, rotation(Date.now(), hash()));
      await viaProxy.accounts.touchSession(id(), id(), Date.now());
      await viaProxy.accounts.endSessions(id(), { kind: 'all' }, { reason: 'sign_out_everywhere', now: Date.now() });
      await viaProxy.identities.unlink('google', id(), id());
      const count = (fn: () => Promise<unknown>) => proxy.current!.count(fn);
      expect(await count(() => viaProxy.identities.link('google', `sub-${uid}`, uid))).toBe(1);
      expect(await count(() => viaProxy.accounts.writeSession(write(uid, s, { mustExist: true, limit: TWO_PER_MINUTE, maxSessions: 5 })))).toBe(1);
      expect(await count(() => viaProxy.accounts.rotateSession(uid, s.id, rotation(Date.now(), s.refreshHash, { limit: TWO_PER_MINUTE })))).toBe(1);
      expect(await count(() => viaProxy.accounts.touchSession(uid, s.id, Date.now() + 60_000))).toBe(1);
      expect(await count(() => viaProxy.accounts.endSessions(uid, { kind: 'others', keep: s.id }, { reason: 'sign_out_others', now: Date.now() }))).toBe(1);
      expect(await count(() => viaProxy.accounts.setAccountState(uid, 'disabled', Date.now()))).toBe(1);
      expect(await count(() => viaProxy.identities.unlink('google', `sub-${uid}`, uid))).toBe(1);
      expect(await count(() => viaProxy.accounts.setAccountState(uid, 'deleted', Date.now()))).toBe(1);
    });
  });

  // Last: stops the shared server.
  describe('outage', () => {
    it('ping (and any command) fails fast while Redis is down, and recovers by itself', async () => {
      const s = await makeStores();
      try {
        await s.ping();
        await redis.server.stop();
        let t = Date.now();
        // Which of ioredis' refusals depends on whether the client has noticed the close yet.
        const refused = /^(Redis not ready after 2000 ms|Stream isn't writeable and enableOfflineQueue options is false|Connection is closed\.)$/;
        await expect(s.ping()).rejects.toThrow(refused);
        expect(Date.now() - t).toBeLessThan(3000);
        t = Date.now();
        await expect(s.accounts.getUsers([id()])).rejects.toThrow(refused);
        expect(Date.now() - t).toBeLessThan(3000);

        await redis.server.start();
        await expect(s.ping()).resolves.toBeUndefined();
        expect(await s.accounts.getUsers([id()])).toEqual([null]);
      } finally {
        await s.close();
      }
    });
  });
});
