import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Cluster, Redis } from 'ioredis';
import type { AccountEvent } from '../../src/events/event.js';
import { createRedisConnection, createRedisStores, whenReady } from '../../src/store/redis/index.js';
import { keyLayout } from '../../src/store/keys.js';
import type { Stores } from '../../src/store/types.js';
import { uniquePrefix } from '../support/env.js';
import { FakeApple } from '../support/fake-apple.js';
import { FakeClock, FakeGoogle } from '../support/fake-google.js';
import { ME, REFRESH, SIGN_IN, SIGN_IN_APPLE, SIGN_OUT, bearer, startTestGateway, type AuthPayloadShape, type TestGateway } from '../support/gateway.js';
import { RedisCluster } from '../support/redis-cluster.js';
import { elapseRedis } from '../support/redis-ttl.js';
import { id, newSession, storeContract, write } from '../store/contract.js';

// The slot function ioredis itself routes Cluster commands with (an ioredis dependency).
const calculateSlot = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;

/**
 * Everything the gateway does, on a real three-shard Redis Cluster (no replicas; started by
 * the test on free ports): the store contract through a Cluster client, and sign-in, refresh,
 * sign-out and listing through the gateway over HTTP with REDIS_CLUSTER_NODES, then the loss
 * and return of one shard.
 *
 * `cluster-require-full-coverage no`: with Redis' default (yes) a lost shard without a replica
 * stops the whole cluster; with `no` the other shards keep serving, which is what the last
 * test checks the gateway takes advantage of.
 */
let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await RedisCluster.start({ masters: 3, extraArgs: ['--cluster-require-full-coverage', 'no'] });
}, 60_000);
afterAll(async () => {
  await cluster?.destroy();
});

async function clusterStores(prefix = uniquePrefix()): Promise<Stores> {
  const client = createRedisConnection({ kind: 'cluster', nodes: cluster.hostPorts, username: null, password: null });
  await whenReady(client, 10_000);
  expect(client.isCluster).toBe(true);
  return createRedisStores({ client, keyPrefix: prefix, ownsClient: true });
}

/**
 * The store contract through a Cluster client. The account scripts name session and grace
 * keys inside Lua from prefixes in ARGV rather than in KEYS, which a Cluster node only accepts
 * while those keys are in the slot it is running the script for. Every user the contract signs
 * in is recorded, so the next test can show those users were not all on one shard (a contract
 * that happened to run on one node would prove little about routing).
 */
const contractUsers: { prefix: string; uid: string }[] = [];
storeContract('redis cluster', async () => {
  const prefix = uniquePrefix();
  const stores = await clusterStores(prefix);
  const nodes = cluster.nodes.map((n) => new Redis(n.port, '127.0.0.1'));
  const peers: Stores[] = [];
  const accounts = stores.accounts;
  const recording: typeof accounts = new Proxy(accounts, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'writeSession') {
        return (...args: Parameters<typeof accounts.writeSession>) => {
          contractUsers.push({ prefix, uid: args[0].userId });
          return accounts.writeSession(...args);
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    stores: { ...stores, accounts: recording },
    now: () => Date.now(),
    async peer() {
      const p = await clusterStores(prefix);
      peers.push(p);
      return p;
    },
    elapse: (ms) => elapseRedis(nodes, prefix, ms),
    async cleanup() {
      for (const p of [stores, ...peers]) await p.close();
      for (const n of nodes) n.disconnect();
    },
  };
});

describe('store contract: redis cluster, placement', () => {
  it('exercised users on more than one shard', async () => {
    const owners = await Promise.all(cluster.nodes.map(async (n) => ({ port: n.port, owns: await slotOwners(n.port) })));
    const shards = new Set(
      contractUsers.map(({ prefix, uid }) => {
        const slot = calculateSlot(keyLayout(prefix).user(uid));
        const found = owners.filter((o) => o.owns(slot));
        expect(found).toHaveLength(1);
        return found[0]!.port;
      }),
    );
    expect(contractUsers.length).toBeGreaterThan(10);
    expect(shards.size).toBeGreaterThan(1);
  });
});

describe('account events on a Redis Cluster: outbox in the user’s slot, relay, sweep', () => {
  let stores: Stores;
  let prefix: string;
  let raw: Cluster;
  beforeAll(async () => {
    prefix = uniquePrefix();
    stores = await clusterStores(prefix);
    raw = new Cluster(cluster.hostPorts);
  });
  afterAll(async () => {
    await stores?.close();
    raw?.disconnect();
  });
  const k = () => keyLayout(prefix);
  const streamIds = async () => ((await raw.xrange(k().events(), '-', '+')) as [string, string[]][]).map(([, f]) => JSON.parse(f[1]!) as AccountEvent);

  it('appends to the user’s outbox (the user’s slot) and relays it to the stream right after; the outbox is gone once moved', async () => {
    const uid = id();
    expect(calculateSlot(k().outbox(uid))).toBe(calculateSlot(k().user(uid)));
    expect(calculateSlot(k().relayLock(uid))).toBe(calculateSlot(k().user(uid)));
    await stores.accounts.writeSession(write(uid, newSession(Date.now())));
    await stores.events.settled();
    expect((await streamIds()).filter((e) => e.userId === uid).map((e) => e.type)).toEqual(['user.created']);
    expect(await raw.exists(k().outbox(uid), k().relayLock(uid))).toBe(0);
  });

  it('sweeps an outbox an instance left behind (it died between its write and its relay), once, in order; a live relay’s lock is respected', async () => {
    const [a, b] = [id(), id()];
    const doc = (uid: string, n: number) => JSON.stringify({ id: `${'L'.repeat(22)}.${n}`, type: 'user.enabled', time: Date.now(), userId: uid, data: {} });
    // What a script leaves when its relay never runs: entries in the user's outbox.
    for (let n = 0; n < 3; n++) await raw.xadd(k().outbox(a), '*', 'event', doc(a, n));
    await raw.xadd(k().outbox(b), '*', 'event', doc(b, 0));
    // b's outbox is held by a relay that is still running (its lock): the sweep leaves it to that relay.
    await raw.set(k().relayLock(b), 'someone-else', 'PX', 60_000);
    expect(await stores.events.sweep()).toBe(3);
    const moved = (await streamIds()).filter((e) => e.userId === a);
    expect(moved.map((e) => e.id)).toEqual([0, 1, 2].map((n) => `${'L'.repeat(22)}.${n}`));
    expect(await raw.exists(k().outbox(a))).toBe(0);
    expect(await raw.xlen(k().outbox(b))).toBe(1);
    // That relay died too: once its lock is gone, the next sweep moves b's event.
    await raw.del(k().relayLock(b));
    expect(await stores.events.sweep()).toBe(1);
    expect((await streamIds()).filter((e) => e.userId === b)).toHaveLength(1);
    expect(await stores.events.sweep()).toBe(0);
  });

  it('lets one instance sweep at a time (a lock), and a sweep scans every master', async () => {
    const peer = await clusterStores(prefix);
    try {
      const uids = Array.from({ length: 12 }, () => id());
      for (const uid of uids) await raw.xadd(k().outbox(uid), '*', 'event', JSON.stringify({ id: `${'S'.repeat(22)}.0`, type: 'user.enabled', time: 1, userId: uid, data: {} }));
      const shards = new Set(uids.map((u) => calculateSlot(k().outbox(u))));
      expect(shards.size).toBeGreaterThan(1);
      const [x, y] = await Promise.all([stores.events.sweep(), peer.events.sweep()]);
      expect([x, y].sort((p, q) => p - q)).toEqual([0, 12]);
    } finally {
      await peer.close();
    }
  });
});

describe('gateway on a Redis Cluster, over HTTP', () => {
  let google: FakeGoogle;
  let apple: FakeApple;
  let a: TestGateway;
  let b: TestGateway;
  let prefix: string;
  let subCounter = 0;
  const newSub = () => `2000${Date.now()}${subCounter++}`;
  /** Every node's own keys (a raw single-node connection each: KEYS/DBSIZE are per node). */
  const perNode = () =>
    Promise.all(
      cluster.nodes.map(async (n) => {
        const r = new Redis(n.port, '127.0.0.1', { lazyConnect: true });
        try {
          await r.connect();
          return await r.call('KEYS', `${prefix}*`) as string[];
        } finally {
          r.disconnect();
        }
      }),
    );

  beforeAll(async () => {
    google = await FakeGoogle.start();
    apple = await FakeApple.start();
    prefix = uniquePrefix();
    const env = { REDIS_CLUSTER_NODES: cluster.seeds, REFRESH_GRACE_PERIOD: '1s' };
    [a, b] = await Promise.all([startTestGateway({ prefix, google, apple, env }), startTestGateway({ prefix, google, apple, env })]);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await google?.close();
    await apple?.close();
  });

  async function signIn(gw: TestGateway, sub = newSub()) {
    const res = await gw.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub }) });
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.signInWithGoogle;
  }

  it('Google security events across slots: the identity\'s state in its link\'s slot, the account\'s sessions in its own, for users on every shard', async () => {
    const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';
    const deliver = async (gw: TestGateway, events: Record<string, unknown>) =>
      (await fetch(`${gw.url}/notifications/google-risc`, { method: 'POST', headers: { 'content-type': 'application/secevent+jwt' }, body: await google.mintSet(events) })).status;
    const subject = (sub: string) => ({ subject_type: 'iss-sub', iss: 'https://accounts.google.com/', sub });
    for (let i = 0; i < 8; i++) {
      const sub = newSub();
      const p = await signIn(i % 2 ? a : b, sub);
      expect(await deliver(i % 2 ? b : a, { [`${RISC}account-disabled`]: { subject: subject(sub), reason: 'hijacking' } })).toBe(202);
      expect((await a.gql(ME, undefined, bearer(p.accessToken))).body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'session_revoked' });
      const refused = await b.gql(SIGN_IN, { idToken: await google.mint({ sub }) });
      expect(refused.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'google_account_disabled' });
      // A sub with no account yet: its state holds in its own slot.
      const stranger = newSub();
      expect(await deliver(a, { [`${RISC}account-disabled`]: { subject: subject(stranger) } })).toBe(202);
      expect((await a.gql(SIGN_IN, { idToken: await google.mint({ sub: stranger }) })).body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'google_account_disabled' });
    }
  });

  it('signs in, answers me, refreshes and signs out across instances, for users on every shard', async () => {
    const users = await Promise.all(Array.from({ length: 24 }, (_, i) => signIn(i % 2 ? a : b)));
    for (const [i, p] of users.entries()) {
      const [here, there] = i % 2 ? [a, b] : [b, a];
      const me = await there.gql<{ me: { id: string } }>(ME, undefined, bearer(p.accessToken));
      expect(me.body).toEqual({ data: { me: { id: p.user.id, email: 'alice@example.com', name: 'Alice Example' } } });
      const r = await there.gql<{ refreshSession: AuthPayloadShape }>(REFRESH, { refreshToken: p.refreshToken });
      expect(r.body.errors).toBeUndefined();
      const next = r.body.data!.refreshSession;
      expect(next.user.id).toBe(p.user.id);
      // A retry of the spent token within the grace period gets the same successor (grace box, same slot).
      const retry = await here.gql<{ refreshSession: AuthPayloadShape }>(REFRESH, { refreshToken: p.refreshToken });
      expect(retry.body.data!.refreshSession.refreshToken).toBe(next.refreshToken);
      expect((await here.gql(SIGN_OUT, undefined, bearer(next.accessToken))).body).toEqual({ data: { signOut: true } });
      const after = await there.gql(ME, undefined, bearer(next.accessToken));
      expect(after.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'session_revoked' });
      const spent = await there.gql(REFRESH, { refreshToken: next.refreshToken });
      expect(spent.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'invalid_refresh_token' });
    }
    // The users really are spread over the three shards, and each user's keys over one only.
    const keysByNode = await perNode();
    for (const keys of keysByNode) expect(keys.filter((k) => k.startsWith(`${prefix}user:`)).length).toBeGreaterThan(0);
    for (const p of users) {
      const holders = keysByNode.map((keys) => keys.filter((k) => k.includes(`{${p.user.id}}`)).length).filter((n) => n > 0);
      expect(holders).toHaveLength(1);
    }
  });

  it("lists a user's sessions and reads many users across slots through the gateway's Cluster client", async () => {
    const sub = newSub();
    const first = await signIn(a, sub);
    await signIn(b, sub);
    await signIn(a, sub);
    const uid = first.user.id;
    const listed = await a.gateway.stores.accounts.listSessions(uid, Date.now());
    expect(listed).toHaveLength(3);
    expect(new Set(listed.map((s) => s.userId))).toEqual(new Set([uid]));

    const others = await Promise.all(Array.from({ length: 9 }, () => signIn(b)));
    const ids = [uid, ...others.map((p) => p.user.id)];
    const slots = new Set(ids.map((u) => calculateSlot(keyLayout(prefix).user(u))));
    expect(slots.size).toBeGreaterThan(1);
    const missing = id();
    const users = await b.gateway.stores.accounts.getUsers([...ids.slice(0, 5), missing, ...ids.slice(5)]);
    expect(users.map((u) => u?.id ?? null)).toEqual([...ids.slice(0, 5), null, ...ids.slice(5)]);
  });

  it('links Apple to a Google account and unlinks Google across instances: the account’s identities in its slot, each link in its own', async () => {
    const gsub = newSub();
    const asub = `001${gsub}.cluster.0001`;
    const account = await signIn(a, gsub);
    const LINK = 'mutation($t: String!) { linkIdentity(provider: APPLE, idToken: $t) { id identities { provider } } }';
    const linked = await b.gql(LINK, { t: await apple.mint({ sub: asub }) }, bearer(account.accessToken));
    expect(linked.body).toEqual({ data: { linkIdentity: { id: account.user.id, identities: [{ provider: 'GOOGLE' }, { provider: 'APPLE' }] } } });
    const k = keyLayout(prefix);
    expect(calculateSlot(k.accountIdentities(account.user.id))).toBe(calculateSlot(k.user(account.user.id)));
    expect(new Set([k.user(account.user.id), k.identity('google', gsub), k.identity('apple', asub)].map(calculateSlot)).size).toBe(3);
    const viaApple = await a.gql<{ signInWithApple: AuthPayloadShape }>(SIGN_IN_APPLE, { identityToken: await apple.mint({ sub: asub }) });
    expect(viaApple.body.data!.signInWithApple).toMatchObject({ isNewUser: false, user: { id: account.user.id } });
    const unlinked = await a.gql('mutation { unlinkIdentity(provider: GOOGLE) { identities { provider } } }', undefined, bearer(account.accessToken));
    expect(unlinked.body).toEqual({ data: { unlinkIdentity: { identities: [{ provider: 'APPLE' }] } } });
    expect((await signIn(b, gsub)).user.id).not.toBe(account.user.id);
    expect((await b.gql('mutation { deleteMyAccount }', undefined, bearer(account.accessToken))).body).toEqual({ data: { deleteMyAccount: true } });
    expect(await a.gateway.stores.identities.get('apple', asub)).toBeNull();
  });

  it('reports the cluster as ready and up, with no Redis command errors', async () => {
    expect((await fetch(`${a.url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    expect(metrics).toMatch(/^authgw_redis_up 1$/m);
    expect(metrics).not.toMatch(/^authgw_redis_command_errors_total\{/m);
    expect(metrics).toMatch(/^authgw_redis_command_duration_seconds_count\{command="evalsha"\} [1-9]/m);
  });

  it('when one shard stops, only its users get SERVICE_UNAVAILABLE (promptly); when it returns, every session is intact', async () => {
    const users = await Promise.all(Array.from({ length: 15 }, (_, i) => signIn(i % 2 ? a : b)));
    const victim = cluster.nodes[1]!;
    const owner = await slotOwners(victim.port);
    const onVictim = (p: AuthPayloadShape) => owner(calculateSlot(keyLayout(prefix).user(p.user.id)));
    expect(users.some(onVictim)).toBe(true);
    expect(users.some((p) => !onVictim(p))).toBe(true);

    await victim.stop();
    try {
      await Promise.all(
        users.map(async (p) => {
          const t0 = performance.now();
          const me = await a.gql<{ me: { id: string } }>(ME, undefined, bearer(p.accessToken));
          expect(performance.now() - t0).toBeLessThan(3_000);
          if (onVictim(p)) {
            expect(me.body.errors?.[0]?.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', reason: 'store_unavailable' });
            expect(me.body.data).toEqual({ me: null }); // never anonymous data, never the user
          } else {
            expect(me.body).toEqual({ data: { me: { id: p.user.id, email: 'alice@example.com', name: 'Alice Example' } } });
          }
        }),
      );
    } finally {
      await victim.start();
    }
    await cluster.waitUntilOk();
    // The gateway finds the shard again by itself; every session from before is still valid.
    const deadline = Date.now() + 15_000;
    for (const p of users) {
      for (;;) {
        const me = await b.gql<{ me: { id: string } }>(ME, undefined, bearer(p.accessToken));
        if (me.body.data?.me?.id === p.user.id) break;
        expect(me.body.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
        if (Date.now() > deadline) throw new Error('the gateway did not recover after the shard returned');
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    expect(metrics).toMatch(/^authgw_redis_command_errors_total\{kind="connection"\} [1-9]/m);
  }, 60_000);

  it('never logs a token', () => {
    const all = a.logs.join('\n') + b.logs.join('\n');
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
    expect(all).not.toMatch(/[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}/);
  });
});

/** A predicate: does the node on `port` own this slot (from CLUSTER SLOTS, asked of another node)? */
async function slotOwners(port: number): Promise<(slot: number) => boolean> {
  const other = cluster.nodes.find((n) => n.port !== port)!;
  const r = new Redis(other.port, '127.0.0.1');
  try {
    const ranges = (await r.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
    const mine = ranges.filter(([, , [, p]]) => p === port).map(([from, to]) => [from, to] as const);
    return (slot) => mine.some(([from, to]) => slot >= from && slot <= to);
  } finally {
    r.disconnect();
  }
}

describe('Sign in with Apple’s token revocation and notifications on a Redis Cluster', () => {
  const TEAM_ID = 'TEAM123456';
  const KEY_ID = 'KEY1234567';
  const devKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const clock = new FakeClock();
  let google: FakeGoogle;
  let apple: FakeApple;
  let a: TestGateway;
  let b: TestGateway;
  beforeAll(async () => {
    google = await FakeGoogle.start({ now: clock.now });
    apple = await FakeApple.start({ now: clock.now });
    apple.trustClientSecretKey(devKey.publicKey, TEAM_ID, KEY_ID);
    const prefix = uniquePrefix();
    const env = {
      REDIS_CLUSTER_NODES: cluster.seeds,
      APPLE_TEAM_ID: TEAM_ID,
      APPLE_KEY_ID: KEY_ID,
      APPLE_PRIVATE_KEY: devKey.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      APPLE_TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      APPLE_TOKEN_URL: apple.tokenUrl,
      APPLE_REVOKE_URL: apple.revokeUrl,
    };
    const opts = { prefix, google, apple, env, now: clock.now, appleOptions: { pollMs: 0 } };
    [a, b] = await Promise.all([startTestGateway(opts), startTestGateway(opts)]);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await google?.close();
    await apple?.close();
  });

  it('a deletion while Apple is down queues the revocation through the user’s outbox; it is sent once, by one of two instances, when Apple is back', async () => {
    const accounts = [];
    for (let i = 0; i < 4; i++) {
      const r = await a.gql<{ signInWithApple: AuthPayloadShape }>(SIGN_IN_APPLE, { identityToken: await apple.mint({ sub: `00${i}.${randomBytes(8).toString('hex')}.1` }), authorizationCode: apple.issueCode() });
      accounts.push(r.body.data!.signInWithApple);
    }
    await a.gateway.settled();
    expect(apple.issued).toHaveLength(4);
    apple.revokeMode = 'down';
    for (const p of accounts) expect((await b.gql<{ deleteMyAccount: boolean }>('mutation { deleteMyAccount }', {}, bearer(p.accessToken))).body.data?.deleteMyAccount).toBe(true);
    await b.gateway.settled();
    await Promise.all([a.gateway.appleTokens!.revoker.flush(), b.gateway.appleTokens!.revoker.flush()]);
    expect(apple.revoked).toEqual([]);
    apple.revokeMode = 'ok';
    clock.advance(3_600_000);
    await Promise.all([a.gateway.appleTokens!.revoker.flush(), b.gateway.appleTokens!.revoker.flush()]);
    expect(apple.revoked.map((r) => r.token).sort()).toEqual([...apple.issued].sort());
  });

  it('consent-revoked posted to one instance ends the session on the other at once', async () => {
    const s = `00x.${randomBytes(8).toString('hex')}.2`;
    const r = await a.gql<{ signInWithApple: AuthPayloadShape }>(SIGN_IN_APPLE, { identityToken: await apple.mint({ sub: s }) });
    const p = r.body.data!.signInWithApple;
    expect((await b.gql(ME, {}, bearer(p.accessToken))).body.errors).toBeUndefined();
    const res = await fetch(`${a.url}/notifications/apple`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payload: await apple.notification({ type: 'consent-revoked', sub: s, event_time: clock.now() }) }),
    });
    expect(res.status).toBe(200);
    expect((await b.gql(ME, {}, bearer(p.accessToken))).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
