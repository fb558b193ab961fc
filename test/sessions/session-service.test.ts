import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { AccessTokens } from '../../src/sessions/access-token.js';
import { LAST_SEEN_RESOLUTION_MS, SessionService } from '../../src/sessions/session-service.js';
import { SigningKeys } from '../../src/sessions/signing-keys.js';
import { createRedisClient, createRedisStores, whenReady } from '../../src/store/redis/index.js';
import { keyLayout } from '../../src/store/keys.js';
import type { GoogleProfile, Stores } from '../../src/store/types.js';
import { FakeClock } from '../support/fake-google.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';

/**
 * SessionService on a real Redis, with a controllable clock. The stores are real; where a test
 * needs to count or interleave store calls it wraps the real store (the calls still reach Redis).
 */
const redis = usePrivateRedis();
const MIN = 60_000;

let subCounter = 0;
function profile(): GoogleProfile {
  const sub = `sub-${Date.now()}-${subCounter++}`;
  return { sub, email: `${sub}@example.com`, emailVerified: true, name: 'Ada', givenName: null, familyName: null, picture: null, locale: null, hostedDomain: null };
}
const meta = { userAgent: 'test-agent', clientAddress: '203.0.113.9' };

interface Harness {
  service: SessionService;
  stores: Stores;
  clock: FakeClock;
  prefix: string;
  warnings: object[];
  touches: () => number;
}

async function harness(opts: { maxSessionsPerUser?: number; wrap?: (stores: Stores) => Stores } = {}): Promise<Harness> {
  const prefix = uniquePrefix();
  const client = createRedisClient(redis.url);
  await whenReady(client);
  const real = createRedisStores({ client, keyPrefix: prefix, ownsClient: true });
  let touches = 0;
  const counted: Stores = {
    ...real,
    sessions: {
      ...real.sessions,
      getSessionWithUser: real.sessions.getSessionWithUser.bind(real.sessions),
      rotateRefreshToken: real.sessions.rotateRefreshToken.bind(real.sessions),
      revokeSession: real.sessions.revokeSession.bind(real.sessions),
      listSessions: real.sessions.listSessions.bind(real.sessions),
      revokeAllSessions: real.sessions.revokeAllSessions.bind(real.sessions),
      touchSession: (uid, sid, now) => {
        touches++;
        return real.sessions.touchSession(uid, sid, now);
      },
    },
  };
  const stores = opts.wrap ? opts.wrap(counted) : counted;
  const clock = new FakeClock();
  const keys = new SigningKeys({ store: stores.signingKeys, locks: stores.locks, accessTokenTtlMs: 15 * MIN, now: clock.now });
  await keys.maintain();
  const tokens = new AccessTokens({ keys, issuer: 'https://issuer.test', audience: 'aud', ttlMs: 15 * MIN, now: clock.now });
  const warnings: object[] = [];
  const log = { error: () => undefined, warn: (obj: object) => void warnings.push(obj) };
  const service = new SessionService(
    stores,
    tokens,
    { refreshTtlMs: 60 * MIN, sessionMaxLifetimeMs: 180 * MIN, refreshGraceMs: 10_000, maxSessionsPerUser: opts.maxSessionsPerUser },
    log,
    clock.now,
  );
  return { service, stores, clock, prefix, warnings, touches: () => touches };
}

const settle = () => new Promise((r) => setTimeout(r, 50)); // let fire-and-forget writes land

describe('SessionService', () => {
  let raw: Redis;
  const open: Stores[] = [];
  async function make(opts?: Parameters<typeof harness>[0]) {
    const h = await harness(opts);
    open.push(h.stores);
    return h;
  }
  beforeAll(() => {
    raw = new Redis(redis.url);
  });
  afterAll(async () => {
    for (const s of open) await s.close();
    raw.disconnect();
  });

  describe('lastSeenAt', () => {
    it('is written at most once a minute per session, never on every request, and not waited for', async () => {
      const h = await make();
      const t0 = h.clock.t;
      const { accessToken } = await h.service.signIn(profile(), meta);
      for (let i = 0; i < 10; i++) {
        h.clock.advance(5_000);
        await h.service.authenticate(accessToken);
      }
      expect(h.touches()).toBe(0); // 50 s: nothing written

      h.clock.t = t0 + LAST_SEEN_RESOLUTION_MS;
      const many = await Promise.all(Array.from({ length: 20 }, () => h.service.authenticate(accessToken)));
      expect(h.touches()).toBe(1); // 20 concurrent requests, one write
      expect(many[0]!.session.lastSeenAt).toBe(t0 + LAST_SEEN_RESOLUTION_MS);
      await settle();
      const stored = async () => (await h.service.listSessions(many[0]!))[0]!.lastSeenAt;
      expect(await stored()).toBe(t0 + LAST_SEEN_RESOLUTION_MS);

      h.clock.advance(30_000);
      await h.service.authenticate(accessToken);
      expect(h.touches()).toBe(1); // the stored value is now recent: no write
      h.clock.advance(31_000);
      await h.service.authenticate(accessToken);
      expect(h.touches()).toBe(2);
      await settle();
      expect(await stored()).toBe(h.clock.t);
    });

    it('counts a refresh as activity, so a request right after one writes nothing', async () => {
      const h = await make();
      const { refreshToken } = await h.service.signIn(profile(), meta);
      h.clock.advance(10 * MIN);
      const r = await h.service.refresh(refreshToken);
      await h.service.authenticate(r.accessToken);
      expect(h.touches()).toBe(0);
    });

    it('a failed write does not fail the request; it is logged without the token', async () => {
      const h = await make({
        wrap: (s) => ({ ...s, sessions: { ...s.sessions, touchSession: async () => Promise.reject(new Error('redis went away')) } }),
      });
      const { accessToken } = await h.service.signIn(profile(), meta);
      h.clock.advance(2 * MIN);
      await expect(h.service.authenticate(accessToken)).resolves.toBeTruthy();
      await settle();
      expect(h.warnings).toHaveLength(1);
      expect(JSON.stringify(h.warnings)).not.toContain(accessToken);
    });
  });

  describe('limits (controllable clock)', () => {
    it('inactivity: a session not refreshed within REFRESH_TOKEN_TTL ends, even before Redis drops it', async () => {
      const h = await make();
      const a = await h.service.signIn(profile(), meta);
      h.clock.advance(60 * MIN); // refresh lifetime 60 min reached; Redis keeps the key by its own clock
      await expect(h.service.refresh(a.refreshToken)).rejects.toMatchObject({ reason: 'invalid_refresh_token' });
    });

    it('sliding: each refresh extends the inactivity deadline, up to the absolute lifetime and no further', async () => {
      const h = await make();
      const t0 = h.clock.t;
      let r = await h.service.signIn(profile(), meta);
      for (let i = 0; i < 3; i++) {
        h.clock.advance(50 * MIN);
        r = await h.service.refresh(r.refreshToken);
        expect(r.refreshTokenExpiresAt).toBe(Math.min(h.clock.t + 60 * MIN, t0 + 180 * MIN));
      }
      expect(r.refreshTokenExpiresAt).toBe(t0 + 180 * MIN); // capped at the absolute lifetime
      h.clock.t = t0 + 175 * MIN;
      const last = await h.service.refresh(r.refreshToken);
      h.clock.t = t0 + 180 * MIN;
      await expect(h.service.authenticate(last.accessToken)).rejects.toMatchObject({ reason: 'session_expired' });
      await expect(h.service.refresh(last.refreshToken)).rejects.toMatchObject({ reason: 'invalid_refresh_token' });
    });

    it('keeps at most maxSessionsPerUser sessions; the oldest ends first', async () => {
      const h = await make({ maxSessionsPerUser: 2 });
      const p = profile();
      const first = await h.service.signIn(p, meta);
      h.clock.advance(1000);
      const second = await h.service.signIn(p, meta);
      h.clock.advance(1000);
      const third = await h.service.signIn(p, meta);
      await expect(h.service.authenticate(first.accessToken)).rejects.toMatchObject({ reason: 'session_revoked' });
      const me = await h.service.authenticate(third.accessToken);
      expect((await h.service.listSessions(me)).length).toBe(2);
      await expect(h.service.authenticate(second.accessToken)).resolves.toBeTruthy();
    });
  });

  describe('disabled accounts', () => {
    it('refuse sign-in, access and refresh with account_disabled', async () => {
      const h = await make();
      const p = profile();
      const a = await h.service.signIn(p, meta);
      // Set the flag alone (as a crashed operator command could leave it): every path still refuses.
      await raw.hset(keyLayout(h.prefix).user(a.user.id), 'd', '1');
      await expect(h.service.authenticate(a.accessToken)).rejects.toMatchObject({ reason: 'account_disabled' });
      await expect(h.service.refresh(a.refreshToken)).rejects.toMatchObject({ reason: 'account_disabled' });
      await expect(h.service.signIn(p, meta)).rejects.toMatchObject({ reason: 'account_disabled' });
      expect(await raw.zcard(keyLayout(h.prefix).sessionIndex(a.user.id))).toBe(1); // the refused sign-in wrote no session
    });
  });

  describe('revokeSession', () => {
    it('answers false for malformed ids without asking the store, and for other users’ sessions', async () => {
      const h = await make();
      const a = await h.service.signIn(profile(), meta);
      const b = await h.service.signIn(profile(), meta);
      const pa = await h.service.authenticate(a.accessToken);
      const pb = await h.service.authenticate(b.accessToken);
      for (const bad of ['', 'x', '{x}', 'a'.repeat(10_000), `${pb.session.id}:x`]) expect(await h.service.revokeSession(pa, bad)).toBe(false);
      expect(await h.service.revokeSession(pa, pb.session.id)).toBe(false);
      await expect(h.service.authenticate(b.accessToken)).resolves.toBeTruthy();
      expect(await h.service.revokeSession(pa, pa.session.id)).toBe(true);
      await expect(h.service.authenticate(a.accessToken)).rejects.toMatchObject({ reason: 'session_revoked' });
    });
  });

  describe('account deletion racing a sign-in', () => {
    it('a sign-in that found the link just before deletion and writes just after leaves no orphan: it gets a fresh account', async () => {
      const p = profile();
      let victim: string | null = null;
      const h = await make({
        wrap: (s) => ({
          ...s,
          accounts: {
            ...s.accounts,
            signIn: s.accounts.signIn.bind(s.accounts),
            getUsers: s.accounts.getUsers.bind(s.accounts),
            getIdentity: s.accounts.getIdentity.bind(s.accounts),
            setDisabled: s.accounts.setDisabled.bind(s.accounts),
            deleteAccount: s.accounts.deleteAccount.bind(s.accounts),
            // Interleave: the account is deleted right after this sign-in looked its link up.
            linkIdentity: async (provider, subject, candidate) => {
              const uid = await s.accounts.linkIdentity(provider, subject, candidate);
              if (uid === victim) {
                victim = null;
                await s.accounts.deleteAccount(uid);
              }
              return uid;
            },
          },
        }),
      });
      const first = await h.service.signIn(p, meta);
      const keysOf = async (uid: string) => {
        const all: string[] = [];
        for (let cursor = '0'; ; ) {
          const [next, batch] = await raw.scan(cursor, 'MATCH', `${h.prefix}*`, 'COUNT', 1000);
          all.push(...batch);
          if ((cursor = next) === '0') break;
        }
        return all.filter((k) => k.includes(uid));
      };
      victim = first.user.id;
      const second = await h.service.signIn(p, meta);
      expect(second.isNewUser).toBe(true);
      expect(second.user.id).not.toBe(first.user.id);
      expect(await keysOf(first.user.id)).toEqual([]); // nothing of the deleted account came back
      expect(await h.stores.accounts.getIdentity('google', p.sub)).toBe(second.user.id);
      await expect(h.service.authenticate(second.accessToken)).resolves.toMatchObject({ user: { id: second.user.id } });
    });
  });
});
