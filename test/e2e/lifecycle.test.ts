import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { FakeClock, FakeGoogle } from '../support/fake-google.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { bearer, ME, REFRESH, SIGN_IN, SIGN_OUT, startTestGateway, type AuthPayloadShape, type GqlResponse, type TestGateway } from '../support/gateway.js';

/**
 * The session and account lifecycle through the public surface: GraphQL over HTTP against
 * gateways on one real Redis, a fake Google issuer, and one controllable clock shared by the
 * gateways and the issuer (Redis still expires keys by the real clock; the clock only moves
 * forward, so nothing expires early).
 */
const MY_SESSIONS = `{ mySessions { id current createdAt lastSeenAt expiresAt userAgent clientAddress } }`;
const REVOKE = `mutation($id: ID!) { revokeSession(id: $id) }`;
const OTHERS = `mutation { signOutOtherSessions }`;
const EVERYWHERE = `mutation { signOutEverywhere }`;
const NONCE = `mutation { createSignInNonce { nonce expiresAt } }`;
const DELETE = `mutation { deleteMyAccount }`;

const MIN = 60_000;
const DAY = 86_400_000;

interface SessionShape {
  id: string;
  current: boolean;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  userAgent: string | null;
  clientAddress: string | null;
}

const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex');
const reasonOf = (r: GqlResponse) => r.body.errors?.[0]?.extensions;
const unauth = (reason: string) => ({ code: 'UNAUTHENTICATED', reason });
/**
 * Some writes happen after the answer: lastSeenAt (awaited by `Gateway.settled()`) and the
 * active-sessions metric, sent in the event-loop turn after a sign-in (src/metrics/active-sessions.ts).
 * A test that counts Redis writes or keys lets them land first: `settled()`, then a PING on each
 * gateway's own connection. Redis runs one connection's commands in order, so once the PING is
 * answered, every write that gateway sent before it has landed.
 */
async function backgroundWritesLanded(...gws: TestGateway[]): Promise<void> {
  await Promise.all(
    gws.map(async (gw) => {
      await gw.gateway.settled();
      await gw.gateway.stores.ping();
    }),
  );
}

describe('session and account lifecycle over HTTP', () => {
  const redis = usePrivateRedis();
  const clock = new FakeClock();
  let google: FakeGoogle;
  let raw: Redis;
  const gateways: TestGateway[] = [];
  let subCounter = 0;
  const newSub = () => `2000${Date.now()}${subCounter++}`;

  async function gateway(env: Record<string, string> = {}, prefix = uniquePrefix()): Promise<TestGateway> {
    const gw = await startTestGateway({ redisUrl: redis.url, prefix, google, env, now: clock.now });
    gateways.push(gw);
    return gw;
  }

  async function signIn(gw: TestGateway, opts: { sub?: string; ua?: string; nonce?: string; tokenNonce?: string } = {}) {
    const idToken = await google.mint({ sub: opts.sub ?? newSub(), ...(opts.tokenNonce ? { nonce: opts.tokenNonce } : {}) });
    const res = await gw.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken, nonce: opts.nonce }, opts.ua ? { 'user-agent': opts.ua } : {});
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.signInWithGoogle;
  }

  async function sessions(gw: TestGateway, accessToken: string): Promise<SessionShape[]> {
    const r = await gw.gql<{ mySessions: SessionShape[] }>(MY_SESSIONS, undefined, bearer(accessToken));
    expect(r.body.errors).toBeUndefined();
    return r.body.data!.mySessions;
  }

  /**
   * The test prefix's keys, less short-lived coordination and counters: `lock:` (a key-fetch or
   * key-maintenance lock, seconds) and `rl:` (rate-limit state, a hash of the subject, gone with
   * its window). Neither holds account data; both come and go independently of the account.
   */
  async function scan(prefix: string): Promise<string[]> {
    const all: string[] = [];
    for (let cursor = '0'; ; ) {
      const [next, batch] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      all.push(...batch.filter((k) => !k.startsWith(`${prefix}lock:`) && !k.startsWith(`${prefix}rl:`)));
      if ((cursor = next) === '0') break;
    }
    return all.sort();
  }

  beforeAll(async () => {
    google = await FakeGoogle.start({ now: clock.now });
    raw = new Redis(redis.url);
  });
  afterAll(async () => {
    for (const gw of gateways) await gw.close();
    await google?.close();
    raw?.disconnect();
  });

  describe('listing and ending sessions (two instances)', () => {
    let a: TestGateway;
    let b: TestGateway;
    beforeAll(async () => {
      const prefix = uniquePrefix();
      [a, b] = await Promise.all([gateway({}, prefix), gateway({}, prefix)]);
    });

    it('mySessions lists the caller’s sessions, newest first, marks the current one, and needs a session', async () => {
      const sub = newSub();
      const t0 = clock.t;
      const phone = await signIn(a, { sub, ua: 'ExampleApp/1.0 (iPhone; iOS 17.4)' });
      clock.advance(1000);
      const tablet = await signIn(b, { sub, ua: 'ExampleApp/1.0 (Android 14)' });
      await signIn(a); // someone else

      const list = await sessions(a, tablet.accessToken);
      expect(list).toHaveLength(2);
      expect(list.map((s) => [s.userAgent, s.current])).toEqual([
        ['ExampleApp/1.0 (Android 14)', true],
        ['ExampleApp/1.0 (iPhone; iOS 17.4)', false],
      ]);
      expect(list[1]).toMatchObject({
        createdAt: new Date(t0).toISOString(),
        lastSeenAt: new Date(t0).toISOString(),
        expiresAt: new Date(t0 + 30 * DAY).toISOString(), // inactivity timeout first (absolute lifetime is 90 d)
        clientAddress: '127.0.0.1',
      });
      expect((await sessions(b, phone.accessToken)).map((s) => s.current)).toEqual([false, true]);
      expect(list.every((s) => /^[A-Za-z0-9_-]{22}$/.test(s.id))).toBe(true);

      const anon = await a.gql(MY_SESSIONS);
      expect(reasonOf(anon)).toEqual(unauth('authentication_required'));
      expect(anon.body.data).toBeNull();
    });

    it('lastSeenAt follows requests to the minute, without a Redis write per request', async () => {
      const sub = newSub();
      const t0 = clock.t;
      const s1 = await signIn(a, { sub });
      const s2 = await signIn(b, { sub });
      await backgroundWritesLanded(a, b);
      // Write commands Redis executed, those run inside Lua scripts included.
      const writes = async () => {
        const info = await raw.info('commandstats');
        return ['hset', 'hdel', 'set', 'del', 'zadd', 'zrem', 'pexpireat', 'hsetnx'].reduce(
          (n, cmd) => n + Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(info)?.[1] ?? 0),
          0,
        );
      };
      const before = await writes();
      for (let i = 0; i < 10; i++) {
        clock.advance(5_000);
        expect((await (i % 2 ? a : b).gql(ME, undefined, bearer(s1.accessToken))).body.errors).toBeUndefined();
      }
      expect(await writes()).toBe(before); // 10 requests within the minute: no write at all

      clock.t = t0 + 61_000;
      await a.gql(ME, undefined, bearer(s1.accessToken));
      await backgroundWritesLanded(a);
      await b.gql(ME, undefined, bearer(s1.accessToken));
      await backgroundWritesLanded(a, b);
      expect(await writes()).toBe(before + 1); // one write for the minute, whichever instance saw it first
      const list = await sessions(a, s2.accessToken);
      const seen = Object.fromEntries(list.map((s) => [s.current ? 's2' : 's1', s.lastSeenAt]));
      expect(seen).toEqual({ s1: new Date(t0 + 61_000).toISOString(), s2: new Date(t0 + 61_000).toISOString() });
      // (s2's own mySessions request was its first after a minute: it recorded itself.)
    });

    it('revokeSession ends only the caller’s own session; someone else’s or an unknown id is false, revealing nothing', async () => {
      const sub = newSub();
      const mine1 = await signIn(a, { sub });
      const mine2 = await signIn(b, { sub });
      const theirs = await signIn(a);
      const theirId = (await sessions(a, theirs.accessToken))[0]!.id;
      const mine2Id = (await sessions(a, mine2.accessToken)).find((s) => s.current)!.id;

      for (const id of [theirId, 'AAAAAAAAAAAAAAAAAAAAAA', 'x', '', '{x}:y', 'z'.repeat(20_000)]) {
        const r = await a.gql<{ revokeSession: boolean }>(REVOKE, { id }, bearer(mine1.accessToken));
        expect({ id: id.slice(0, 30), body: r.body }).toEqual({ id: id.slice(0, 30), body: { data: { revokeSession: false } } });
      }
      expect((await b.gql(ME, undefined, bearer(theirs.accessToken))).body.errors).toBeUndefined(); // untouched

      const ok = await a.gql(REVOKE, { id: mine2Id }, bearer(mine1.accessToken));
      expect(ok.body).toEqual({ data: { revokeSession: true } });
      expect(reasonOf(await b.gql(ME, undefined, bearer(mine2.accessToken)))).toEqual(unauth('session_revoked'));
      expect(reasonOf(await a.gql(REFRESH, { refreshToken: mine2.refreshToken }))).toEqual(unauth('invalid_refresh_token'));
      expect((await a.gql(REVOKE, { id: mine2Id }, bearer(mine1.accessToken))).body).toEqual({ data: { revokeSession: false } });
      expect(reasonOf(await a.gql(REVOKE, { id: mine2Id }))).toEqual(unauth('authentication_required'));
      expect((await a.gql(REVOKE, { id: 5 }, bearer(mine1.accessToken))).body.data).toEqual({ revokeSession: false }); // ID accepts ints
      const wrongType = await a.gql(REVOKE, { id: { x: 1 } }, bearer(mine1.accessToken));
      expect(wrongType.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    });

    it('signOutOtherSessions keeps the current session; signOutEverywhere ends them all; both count what ended', async () => {
      const sub = newSub();
      const [s1, s2, s3] = [await signIn(a, { sub }), await signIn(b, { sub }), await signIn(a, { sub })];
      const bystander = await signIn(b);
      expect((await b.gql(OTHERS, undefined, bearer(s1.accessToken))).body).toEqual({ data: { signOutOtherSessions: 2 } });
      expect((await a.gql(ME, undefined, bearer(s1.accessToken))).body.errors).toBeUndefined();
      for (const gone of [s2, s3]) {
        expect(reasonOf(await a.gql(ME, undefined, bearer(gone.accessToken)))).toEqual(unauth('session_revoked'));
        expect(reasonOf(await b.gql(REFRESH, { refreshToken: gone.refreshToken }))).toEqual(unauth('invalid_refresh_token'));
      }
      expect((await sessions(a, s1.accessToken)).map((s) => s.current)).toEqual([true]);
      expect((await a.gql(OTHERS, undefined, bearer(s1.accessToken))).body).toEqual({ data: { signOutOtherSessions: 0 } });

      const s4 = await signIn(b, { sub });
      expect((await a.gql(EVERYWHERE, undefined, bearer(s4.accessToken))).body).toEqual({ data: { signOutEverywhere: 2 } });
      for (const gone of [s1, s4]) expect(reasonOf(await b.gql(ME, undefined, bearer(gone.accessToken)))).toEqual(unauth('session_revoked'));
      expect((await a.gql(ME, undefined, bearer(bystander.accessToken))).body.errors).toBeUndefined();
      for (const op of [OTHERS, EVERYWHERE]) expect(reasonOf(await a.gql(op))).toEqual(unauth('authentication_required'));
    });

    it('concurrent refreshes of one token on both instances: one rotation wins, every retry gets the same successor, no second branch', async () => {
      const sub = newSub();
      const s = await signIn(a, { sub });
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).gql<{ refreshSession: AuthPayloadShape }>(REFRESH, { refreshToken: s.refreshToken })),
      );
      const ok = results.filter((r) => !r.body.errors);
      for (const r of results.filter((x) => x.body.errors)) expect(reasonOf(r)?.code).toBe('UNAUTHENTICATED'); // a clear error, if any
      expect(ok.length).toBeGreaterThan(0);
      const successors = new Set(ok.map((r) => r.body.data!.refreshSession.refreshToken));
      expect(successors.size).toBe(1);
      const next = [...successors][0]!;
      for (const r of ok) expect((await sessions(a, r.body.data!.refreshSession.accessToken)).length).toBe(1); // one session, one branch
      clock.advance(11_000); // past REFRESH_GRACE_PERIOD (10 s)
      expect(reasonOf(await b.gql(REFRESH, { refreshToken: s.refreshToken }))).toEqual(unauth('refresh_token_reused'));
      expect(reasonOf(await a.gql(REFRESH, { refreshToken: next }))).toEqual(unauth('invalid_refresh_token'));
    });
  });

  it('with no grace period, concurrent refreshes: one rotation wins, the next presentation counts as reuse and ends the session: never two live branches', async () => {
    const gw = await gateway({ REFRESH_GRACE_PERIOD: '0s' });
    const sub = newSub();
    const s = await signIn(gw, { sub });
    const watcher = await signIn(gw, { sub });
    const results = await Promise.all(Array.from({ length: 8 }, () => gw.gql<{ refreshSession: AuthPayloadShape }>(REFRESH, { refreshToken: s.refreshToken })));
    const ok = results.filter((r) => !r.body.errors);
    expect(ok).toHaveLength(1);
    const reasons = results.filter((x) => x.body.errors).map((r) => reasonOf(r)?.reason);
    expect(reasons).toContain('refresh_token_reused');
    for (const reason of reasons) expect(['refresh_token_reused', 'invalid_refresh_token']).toContain(reason);
    // The whole session is gone: the winner's pair included.
    expect((await sessions(gw, watcher.accessToken)).map((x) => x.current)).toEqual([true]);
    const winner = ok[0]!.body.data!.refreshSession;
    expect(reasonOf(await gw.gql(ME, undefined, bearer(winner.accessToken)))).toEqual(unauth('session_revoked'));
    expect(reasonOf(await gw.gql(REFRESH, { refreshToken: winner.refreshToken }))).toEqual(unauth('invalid_refresh_token'));
  });

  describe('limits (controllable clock)', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await gateway({ REFRESH_TOKEN_TTL: '1h', SESSION_MAX_LIFETIME: '3h', MAX_SESSIONS_PER_USER: '2' });
    });

    it('inactivity: a session not refreshed for REFRESH_TOKEN_TTL ends; refreshing slides it, up to SESSION_MAX_LIFETIME', async () => {
      const sub = newSub();
      const idle = await signIn(gw, { sub });
      clock.advance(1000);
      const t0 = clock.t;
      let active = await signIn(gw, { sub });
      const refresh = async () => {
        const r = await gw.gql<{ refreshSession: AuthPayloadShape }>(REFRESH, { refreshToken: active.refreshToken });
        expect(r.body.errors).toBeUndefined();
        active = r.body.data!.refreshSession;
        return new Date(active.refreshTokenExpiresAt).getTime();
      };

      clock.t = t0 + 50 * MIN;
      expect(await refresh()).toBe(t0 + 110 * MIN); // slides: now + 1 h
      expect(await sessions(gw, active.accessToken)).toHaveLength(2); // the idle one is 51 min old: still alive

      clock.t = t0 + 61 * MIN; // the idle session passed 1 h without a refresh
      expect(reasonOf(await gw.gql(REFRESH, { refreshToken: idle.refreshToken }))).toEqual(unauth('invalid_refresh_token'));
      expect((await sessions(gw, active.accessToken)).map((s) => s.current)).toEqual([true]);

      clock.t = t0 + 100 * MIN;
      expect(await refresh()).toBe(t0 + 160 * MIN);
      clock.t = t0 + 150 * MIN;
      expect(await refresh()).toBe(t0 + 180 * MIN); // capped by SESSION_MAX_LIFETIME (3 h)
      clock.t = t0 + 175 * MIN;
      expect(await refresh()).toBe(t0 + 180 * MIN);
      clock.t = t0 + 180 * MIN;
      expect(reasonOf(await gw.gql(ME, undefined, bearer(active.accessToken)))).toEqual(unauth('session_expired'));
      expect(reasonOf(await gw.gql(REFRESH, { refreshToken: active.refreshToken }))).toEqual(unauth('invalid_refresh_token'));
    });

    it('MAX_SESSIONS_PER_USER: a new sign-in ends the oldest session first', async () => {
      const sub = newSub();
      const first = await signIn(gw, { sub, ua: 'first' });
      clock.advance(1000);
      const second = await signIn(gw, { sub, ua: 'second' });
      clock.advance(1000);
      const third = await signIn(gw, { sub, ua: 'third' });
      expect(reasonOf(await gw.gql(ME, undefined, bearer(first.accessToken)))).toEqual(unauth('session_revoked'));
      expect(reasonOf(await gw.gql(REFRESH, { refreshToken: first.refreshToken }))).toEqual(unauth('invalid_refresh_token'));
      expect((await gw.gql(ME, undefined, bearer(second.accessToken))).body.errors).toBeUndefined();
      expect((await sessions(gw, third.accessToken)).map((s) => s.userAgent)).toEqual(['third', 'second']);
    });
  });

  describe('server-issued nonces', () => {
    let gw: TestGateway;
    let strict: TestGateway;
    beforeAll(async () => {
      gw = await gateway();
      strict = await gateway({ REQUIRE_SIGN_IN_NONCE: 'true' });
    });
    const createNonce = async (g: TestGateway) => {
      const r = await g.gql<{ createSignInNonce: { nonce: string; expiresAt: string } }>(NONCE);
      expect(r.body.errors).toBeUndefined();
      return r.body.data!.createSignInNonce;
    };
    const attempt = async (g: TestGateway, nonce: string | undefined, tokenNonce: string | undefined) =>
      g.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub: newSub(), ...(tokenNonce ? { nonce: tokenNonce } : {}) }), nonce });

    it('are issued to anyone, live 10 minutes and sign in once (raw or SHA-256 style)', async () => {
      const n = await createNonce(gw);
      expect(n.nonce).toMatch(/^sn_[A-Za-z0-9_-]{43}$/);
      expect(new Date(n.expiresAt).getTime()).toBe(clock.t + 10 * MIN);
      expect((await attempt(gw, n.nonce, n.nonce)).body.errors).toBeUndefined();
      expect(reasonOf(await attempt(gw, n.nonce, n.nonce))).toEqual(unauth('invalid_nonce'));

      const hashed = await createNonce(gw);
      expect((await attempt(gw, hashed.nonce, sha256hex(hashed.nonce))).body.errors).toBeUndefined();

      const late = await createNonce(gw);
      clock.advance(10 * MIN);
      expect(reasonOf(await attempt(gw, late.nonce, late.nonce))).toEqual(unauth('invalid_nonce'));
    });

    it('a token whose nonce does not match does not spend the nonce', async () => {
      const n = await createNonce(gw);
      expect(reasonOf(await attempt(gw, n.nonce, 'something-else'))).toEqual(unauth('nonce_mismatch'));
      expect(reasonOf(await attempt(gw, n.nonce, undefined))).toEqual(unauth('nonce_mismatch'));
      expect((await attempt(gw, n.nonce, n.nonce)).body.errors).toBeUndefined();
    });

    it('concurrent sign-ins with one nonce: exactly one succeeds', async () => {
      const n = await createNonce(gw);
      const results = await Promise.all(Array.from({ length: 6 }, () => attempt(gw, n.nonce, n.nonce)));
      expect(results.filter((r) => !r.body.errors)).toHaveLength(1);
      for (const r of results.filter((x) => x.body.errors)) expect(reasonOf(r)).toEqual(unauth('invalid_nonce'));
    });

    it('without REQUIRE_SIGN_IN_NONCE client nonces and no nonce keep working; with it they are nonce_required', async () => {
      expect((await attempt(gw, 'client-nonce', 'client-nonce')).body.errors).toBeUndefined();
      expect((await attempt(gw, 'client-nonce', 'client-nonce')).body.errors).toBeUndefined();
      expect((await attempt(gw, undefined, undefined)).body.errors).toBeUndefined();

      expect(reasonOf(await attempt(strict, undefined, undefined))).toEqual(unauth('nonce_required'));
      expect(reasonOf(await attempt(strict, 'client-nonce', 'client-nonce'))).toEqual(unauth('nonce_required'));
      const n = await createNonce(strict);
      expect((await attempt(strict, n.nonce, n.nonce)).body.errors).toBeUndefined();
      expect(reasonOf(await attempt(strict, n.nonce, n.nonce))).toEqual(unauth('invalid_nonce'));
    });
  });

  describe('REJECT_REPLAYED_ID_TOKENS', () => {
    it('refuses a second sign-in with one ID token (however its signature is spelled); off by default', async () => {
      const gw = await gateway({ REJECT_REPLAYED_ID_TOKENS: 'true' });
      const lax = await gateway();
      const idToken = await google.mint({ sub: newSub() });
      expect((await gw.gql(SIGN_IN, { idToken })).body.errors).toBeUndefined();
      expect(reasonOf(await gw.gql(SIGN_IN, { idToken }))).toEqual(unauth('replayed'));
      // The same signature spelled differently (unused low bits of the last base64url
      // character) still verifies with jose: it must still count as the same token.
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const i = alphabet.indexOf(idToken.at(-1)!);
      const respelled = idToken.slice(0, -1) + alphabet[(i & ~0xf) | ((i + 1) & 0xf)];
      expect((await lax.gql(SIGN_IN, { idToken: respelled })).body.errors).toBeUndefined(); // Google's signature check accepts it
      expect(reasonOf(await gw.gql(SIGN_IN, { idToken: respelled }))).toEqual(unauth('replayed'));

      const fresh = await google.mint({ sub: newSub() });
      const results = await Promise.all(Array.from({ length: 6 }, () => gw.gql(SIGN_IN, { idToken: fresh })));
      expect(results.filter((r) => !r.body.errors)).toHaveLength(1);
      for (const r of results.filter((x) => x.body.errors)) expect(reasonOf(r)).toEqual(unauth('replayed'));

      expect((await lax.gql(SIGN_IN, { idToken })).body.errors).toBeUndefined();
      expect((await lax.gql(SIGN_IN, { idToken })).body.errors).toBeUndefined();
    });
  });

  describe('deleteMyAccount', () => {
    it('deletes account, identity and every session at once, leaving no key behind but the marker retiring its id; the next sign-in is a new account', async () => {
      const prefix = uniquePrefix();
      const [a, b] = [await gateway({}, prefix), await gateway({}, prefix)];
      await signIn(a); // a bystander: the shared keys (signing keys, Google's key set, active sessions) exist from here on
      await backgroundWritesLanded(a, b);
      const before = await scan(prefix);

      const sub = newSub();
      const s1 = await signIn(a, { sub });
      const s2 = await signIn(b, { sub });
      const rotated = (await b.gql<{ refreshSession: AuthPayloadShape }>(REFRESH, { refreshToken: s2.refreshToken })).body.data!.refreshSession; // grace box
      clock.advance(2 * MIN);
      await a.gql(ME, undefined, bearer(s1.accessToken)); // lastSeenAt written
      await backgroundWritesLanded(a, b);
      expect((await scan(prefix)).length).toBeGreaterThan(before.length + 4);

      const del = await b.gql(DELETE, undefined, bearer(s1.accessToken));
      expect(del.body).toEqual({ data: { deleteMyAccount: true } });
      expect(await scan(prefix)).toEqual([...before, `${prefix}gone:{${s1.user.id}}`].sort());

      for (const gw of [a, b]) {
        expect(reasonOf(await gw.gql(ME, undefined, bearer(s1.accessToken)))).toEqual(unauth('session_revoked'));
        expect(reasonOf(await gw.gql(ME, undefined, bearer(rotated.accessToken)))).toEqual(unauth('session_revoked'));
        expect(reasonOf(await gw.gql(REFRESH, { refreshToken: rotated.refreshToken }))).toEqual(unauth('invalid_refresh_token'));
        expect(reasonOf(await gw.gql(REFRESH, { refreshToken: s2.refreshToken }))).toEqual(unauth('invalid_refresh_token'));
        expect(reasonOf(await gw.gql(DELETE, undefined, bearer(s1.accessToken)))).toEqual(unauth('session_revoked'));
      }

      const again = await signIn(a, { sub });
      expect(again.isNewUser).toBe(true);
      expect(again.user.id).not.toBe(s1.user.id);
      expect((await sessions(b, again.accessToken)).length).toBe(1);
    });

    it('with a revoked or expired token, or none, is UNAUTHENTICATED and deletes nothing', async () => {
      const gw = await gateway();
      const sub = newSub();
      const keep = await signIn(gw, { sub });
      const revoked = await signIn(gw, { sub });
      await gw.gql(SIGN_OUT, undefined, bearer(revoked.accessToken));
      expect(reasonOf(await gw.gql(DELETE, undefined, bearer(revoked.accessToken)))).toEqual(unauth('session_revoked'));
      expect(reasonOf(await gw.gql(DELETE))).toEqual(unauth('authentication_required'));
      expect(reasonOf(await gw.gql(DELETE, undefined, { authorization: 'Bearer nonsense' }))).toEqual(unauth('invalid_token'));
      clock.advance(16 * MIN); // past ACCESS_TOKEN_TTL
      expect(reasonOf(await gw.gql(DELETE, undefined, bearer(keep.accessToken)))).toEqual(unauth('token_expired'));
      const refreshed = await gw.gql<{ refreshSession: AuthPayloadShape }>(REFRESH, { refreshToken: keep.refreshToken });
      expect(refreshed.body.data!.refreshSession.user.id).toBe(keep.user.id); // the account is still there
    });
  });

  describe('disabling an account (operator CLI)', () => {
    const cli = 'dist/users/user-cli.js';
    let a: TestGateway;
    let b: TestGateway;
    let prefix: string;
    beforeAll(async () => {
      prefix = uniquePrefix();
      [a, b] = [await gateway({}, prefix), await gateway({}, prefix)];
    });
    async function run(args: string[], env: Record<string, string> = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix }) {
      try {
        const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 });
        return { code: 0, stdout, stderr };
      } catch (e) {
        const err = e as { code: number; stdout: string; stderr: string };
        return { code: err.code, stdout: err.stdout, stderr: err.stderr };
      }
    }

    it('`user disable` ends every session at once and refuses sign-in (account_disabled); `enable` lets the user back in', async () => {
      const sub = newSub();
      const s1 = await signIn(a, { sub });
      const s2 = await signIn(b, { sub });
      const uid = s1.user.id;

      const disabled = await run(['disable', uid]);
      expect(disabled).toMatchObject({ code: 0, stdout: `disabled user ${uid}; ended 2 session(s)\n` });
      for (const gw of [a, b]) {
        for (const s of [s1, s2]) {
          expect(reasonOf(await gw.gql(ME, undefined, bearer(s.accessToken)))).toEqual(unauth('account_disabled'));
          expect(reasonOf(await gw.gql(REFRESH, { refreshToken: s.refreshToken }))).toEqual(unauth('invalid_refresh_token'));
        }
        const refused = await gw.gql(SIGN_IN, { idToken: await google.mint({ sub }) });
        expect(reasonOf(refused)).toEqual(unauth('account_disabled'));
        expect(refused.body.data).toBeNull();
      }

      const shown = await run(['show', uid]);
      expect(shown.code).toBe(0);
      expect(JSON.parse(shown.stdout)).toMatchObject({ id: uid, identities: [{ provider: 'google', subject: sub, pending: false }], disabled: true, sessions: [] });

      expect(await run(['enable', uid])).toMatchObject({ code: 0, stdout: `enabled user ${uid}\n` });
      const back = await signIn(b, { sub });
      expect(back).toMatchObject({ isNewUser: false, user: { id: uid } });
      expect(reasonOf(await a.gql(ME, undefined, bearer(s1.accessToken)))).toEqual(unauth('session_revoked')); // ended sessions stay ended
      const listed = JSON.parse((await run(['show', uid])).stdout) as { disabled: boolean; sessions: { id: string }[] };
      expect(listed.disabled).toBe(false);
      expect(listed.sessions).toHaveLength(1);
    });

    it('answers usage errors with exit 2, an unknown user or unreachable Redis with exit 1, and never prints a password', async () => {
      expect((await run([])).code).toBe(2);
      expect((await run(['delete', 'AAAAAAAAAAAAAAAAAAAAAA'])).code).toBe(2);
      expect((await run(['disable'])).code).toBe(2);
      expect(await run(['disable', 'not-an-id'])).toMatchObject({ code: 2 });
      expect(await run(['disable', 'AAAAAAAAAAAAAAAAAAAAAA'])).toMatchObject({ code: 1, stderr: 'user: no user AAAAAAAAAAAAAAAAAAAAAA\n' });
      expect((await run(['show', 'AAAAAAAAAAAAAAAAAAAAAA'])).code).toBe(1);
      const noRedis = await run(['show', 'AAAAAAAAAAAAAAAAAAAAAA'], {});
      expect(noRedis.code).toBe(1);
      expect(noRedis.stderr).toContain('REDIS_URL');
      const down = await run(['show', 'AAAAAAAAAAAAAAAAAAAAAA'], { REDIS_URL: 'redis://:s3cret-pass@127.0.0.1:1' });
      expect(down.code).toBe(1);
      expect(down.stderr).not.toContain('s3cret-pass');
      expect((await run(['--help'])).code).toBe(0);
    });
  });

  it('logs no token, refresh token or nonce', () => {
    const all = gateways.flatMap((g) => g.logs).join('\n');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
    expect(all).not.toMatch(/[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}/);
    expect(all).not.toMatch(/sn_[A-Za-z0-9_-]{43}/);
  });
});
