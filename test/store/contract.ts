import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CachedKeySet, GoogleProfile, NewSession, RotateInput, Stores, StoredSigningKey } from '../../src/store/types.js';

/**
 * The store contract: every implementation (Redis, memory) must pass exactly these tests, so
 * they cannot drift. Times are based on the real clock because Redis expires keys by it; the
 * `now` passed to the stores is derived from it and shifted where a test needs the future.
 */
export type StoreFactory = () => Promise<{ stores: Stores; cleanup(): Promise<void> }>;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const id = () => randomUUID();
/** Shaped like a stored refresh-token hash (src/sessions/refresh-token.ts: 192 bits, base64url). */
export const hash = () => randomBytes(24).toString('base64url');

const HOUR = 3_600_000;

export function profile(sub: string, over: Partial<GoogleProfile> = {}): GoogleProfile {
  return {
    sub,
    email: `${sub}@example.com`,
    emailVerified: true,
    name: 'Ada Lovelace',
    givenName: 'Ada',
    familyName: 'Lovelace',
    picture: 'https://lh3.googleusercontent.com/a/photo',
    locale: 'en-GB',
    hostedDomain: null,
    ...over,
  };
}

export function newSession(now: number, over: Partial<NewSession> = {}): NewSession {
  return {
    id: id(),
    refreshHash: hash(),
    createdAt: now,
    expiresAt: now + 2 * HOUR,
    refreshExpiresAt: now + HOUR,
    userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
    clientAddress: '2001:db8:85a3::8a2e:370:7334',
    ...over,
  };
}

export function rotateInput(now: number, presentedHash: string, over: Partial<RotateInput> = {}): RotateInput {
  return {
    presentedHash,
    nextHash: hash(),
    graceBox: `box-${randomBytes(8).toString('hex')}`,
    now,
    graceMs: 10_000,
    nextRefreshExpiresAt: now + HOUR,
    ...over,
  };
}

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

export function storeContract(name: string, make: StoreFactory): void {
  describe(`store contract: ${name}`, () => {
    let stores: Stores;
    const cleanups: (() => Promise<void>)[] = [];

    /** A store no other test has written to (for the process-wide records: key set, signing keys). */
    async function fresh(): Promise<Stores> {
      const made = await make();
      cleanups.push(made.cleanup);
      return made.stores;
    }

    /** Signs a new user in with one session; returns ids and the session input. */
    async function signedIn(now = Date.now(), over: Partial<NewSession> = {}) {
      const uid = id();
      const session = newSession(now, over);
      await stores.accounts.signIn(uid, profile(`sub-${uid}`), session);
      return { uid, session, now };
    }

    beforeAll(async () => {
      stores = await fresh();
    });
    afterAll(async () => {
      for (const c of cleanups.reverse()) await c();
    });

    describe('locks', () => {
      it('gives the lock to the first caller only, until released', async () => {
        const name = `l-${id()}`;
        expect(await stores.locks.acquire(name, 10_000)).toBe(true);
        expect(await stores.locks.acquire(name, 10_000)).toBe(false);
        await stores.locks.release(name);
        expect(await stores.locks.acquire(name, 10_000)).toBe(true);
        await stores.locks.release(name);
      });

      it('lets exactly one of 20 concurrent callers in', async () => {
        const name = `l-${id()}`;
        const got = await Promise.all(Array.from({ length: 20 }, () => stores.locks.acquire(name, 10_000)));
        expect(got.filter(Boolean)).toHaveLength(1);
        await stores.locks.release(name);
      });

      it('frees the lock when its ttl passes', async () => {
        const name = `l-${id()}`;
        expect(await stores.locks.acquire(name, 100)).toBe(true);
        expect(await stores.locks.acquire(name, 100)).toBe(false);
        await sleep(200);
        expect(await stores.locks.acquire(name, 10_000)).toBe(true);
        await stores.locks.release(name);
      });

      it('keeps names independent; releasing a lock nobody holds is harmless', async () => {
        const a = `l-${id()}`;
        const b = `l-${id()}`;
        await stores.locks.release(a);
        expect(await stores.locks.acquire(a, 10_000)).toBe(true);
        expect(await stores.locks.acquire(b, 10_000)).toBe(true);
        await stores.locks.release(a);
        expect(await stores.locks.acquire(b, 10_000)).toBe(false);
        await stores.locks.release(b);
      });
    });

    describe('keySets', () => {
      it('is empty at first, then round-trips a provider\'s key set as JSON; put replaces; one record per provider', async () => {
        const s = await fresh();
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
        const s = await fresh();
        const value = keySet(3);
        await s.keySets.put('google', value, 60_000);
        value.fetchedAt = 0;
        const got = await s.keySets.get('google');
        got!.jwks.keys.length = 0;
        expect(await s.keySets.get('google')).toEqual(keySet(3));
      });

      it('expires after ttlMs (the exact TTL in Redis: redis.test.ts)', async () => {
        const s = await fresh();
        await s.keySets.put('google', keySet(4), 60_000);
        await s.keySets.put('apple', keySet(4), 1);
        expect(await s.keySets.get('google')).toEqual(keySet(4));
        // Expiry is by the store's own clock: wait for it, with a generous deadline.
        const deadline = Date.now() + 10_000;
        while ((await s.keySets.get('apple')) !== null) {
          if (Date.now() > deadline) throw new Error('the 1 ms record did not expire');
          await sleep(5);
        }
        expect(await s.keySets.get('google')).toEqual(keySet(4));
      });
    });

    describe('signingKeys', () => {
      it('adds, lists (oldest first), never overwrites on add, replaces, removes', async () => {
        const s = await fresh();
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
        const s = await fresh();
        const variants = Array.from({ length: 10 }, (_, i) => signingKey('same', 1000 + i));
        await Promise.all(variants.map((k) => s.signingKeys.add(k)));
        const list = await s.signingKeys.list();
        expect(list).toHaveLength(1);
        expect(variants).toContainEqual(list[0]);
      });
    });

    describe('accounts.linkIdentity', () => {
      it('links the first candidate and returns it to every later caller', async () => {
        const sub = `g-${id()}`;
        const first = id();
        expect(await stores.accounts.linkIdentity('google', sub, first)).toBe(first);
        expect(await stores.accounts.linkIdentity('google', sub, id())).toBe(first);
        expect(await stores.accounts.linkIdentity('google', sub, first)).toBe(first);
      });

      it('gives 20 concurrent first sign-ins one id', async () => {
        const sub = `g-${id()}`;
        const candidates = Array.from({ length: 20 }, () => id());
        const got = await Promise.all(candidates.map((c) => stores.accounts.linkIdentity('google', sub, c)));
        expect(new Set(got).size).toBe(1);
        expect(candidates).toContain(got[0]);
        expect(await stores.accounts.linkIdentity('google', sub, id())).toBe(got[0]);
      });

      it('keeps subjects apart', async () => {
        const a = id();
        const b = id();
        expect(await stores.accounts.linkIdentity('google', `g-${a}`, a)).toBe(a);
        expect(await stores.accounts.linkIdentity('google', `g-${b}`, b)).toBe(b);
      });
    });

    describe('accounts.signIn', () => {
      it('creates the user on first sign-in', async () => {
        const uid = id();
        const now = Date.now();
        const p = profile(`sub-${uid}`, { hostedDomain: 'example.com' });
        const { user, isNewUser } = await stores.accounts.signIn(uid, p, newSession(now));
        expect(isNewUser).toBe(true);
        const { sub, ...claims } = p;
        const expected = { id: uid, googleSub: sub, ...claims, createdAt: now, lastSignInAt: now, disabled: false };
        expect(user).toEqual(expected);
        expect(await stores.accounts.getUsers([uid])).toEqual([expected]);
      });

      it('round-trips null claims as null and empty strings as empty strings', async () => {
        const uid = id();
        const p = profile(`sub-${uid}`, { email: null, name: '', givenName: null, familyName: null, picture: null, locale: null, emailVerified: false });
        const { user } = await stores.accounts.signIn(uid, p, newSession(Date.now(), { userAgent: null, clientAddress: null }));
        const [stored] = await stores.accounts.getUsers([uid]);
        for (const u of [user, stored!]) {
          expect(u.email).toBeNull();
          expect(u.name).toBe('');
          expect(u.givenName).toBeNull();
          expect(u.familyName).toBeNull();
          expect(u.picture).toBeNull();
          expect(u.locale).toBeNull();
          expect(u.hostedDomain).toBeNull();
          expect(u.emailVerified).toBe(false);
        }
      });

      it('refreshes claims and lastSignInAt on later sign-ins, keeping createdAt', async () => {
        const uid = id();
        const t1 = Date.now();
        await stores.accounts.signIn(uid, profile(`sub-${uid}`), newSession(t1));
        const t2 = t1 + 5000;
        const p2 = profile(`sub-${uid}`, { name: 'Ada King', picture: null, email: 'ada@new.example', emailVerified: false });
        const { user, isNewUser } = await stores.accounts.signIn(uid, p2, newSession(t2));
        expect(isNewUser).toBe(false);
        expect(user).toMatchObject({ createdAt: t1, lastSignInAt: t2, name: 'Ada King', picture: null, email: 'ada@new.example', emailVerified: false });
        expect((await stores.accounts.getUsers([uid]))[0]).toEqual(user);
      });

      it('round-trips long and non-ASCII claims exactly, and shortening or clearing them leaves nothing behind', async () => {
        const uid = id();
        const now = Date.now();
        const long = profile(`sub-${uid}`, {
          name: 'Ada 👩‍💻 Lovelace, Countess of Lovelace — '.repeat(6),
          picture: `https://lh3.googleusercontent.com/a/${'x'.repeat(300)}=s96-c`,
          email: `${'é'.repeat(40)}@example.com`,
        });
        const { user } = await stores.accounts.signIn(uid, long, newSession(now));
        expect([user.name, user.picture, user.email]).toEqual([long.name, long.picture, long.email]);
        expect((await stores.accounts.getUsers([uid]))[0]).toEqual(user);

        const short = profile(`sub-${uid}`, { name: 'Ada', picture: null, email: 'a@example.com' });
        await stores.accounts.signIn(uid, short, newSession(now + 1));
        expect((await stores.accounts.getUsers([uid]))[0]).toMatchObject({ name: 'Ada', picture: null, email: 'a@example.com' });
      });

      it('treats the same email under another subject as another user', async () => {
        const a = id();
        const b = id();
        const now = Date.now();
        const email = `shared-${a}@example.com`;
        expect((await stores.accounts.signIn(a, profile(`sub-${a}`, { email }), newSession(now))).isNewUser).toBe(true);
        expect((await stores.accounts.signIn(b, profile(`sub-${b}`, { email }), newSession(now))).isNewUser).toBe(true);
        const [ua, ub] = await stores.accounts.getUsers([a, b]);
        expect([ua?.googleSub, ub?.googleSub]).toEqual([`sub-${a}`, `sub-${b}`]);
      });

      it('writes the session: lastSeenAt = createdAt, refreshExpiresAt capped at expiresAt', async () => {
        const uid = id();
        const now = Date.now();
        const s = newSession(now, { expiresAt: now + HOUR, refreshExpiresAt: now + 2 * HOUR });
        await stores.accounts.signIn(uid, profile(`sub-${uid}`), s);
        const { session, user } = await stores.sessions.getSessionWithUser(uid, s.id);
        expect(user?.id).toBe(uid);
        expect(session).toEqual({
          id: s.id,
          userId: uid,
          createdAt: now,
          lastSeenAt: now,
          expiresAt: now + HOUR,
          refreshExpiresAt: now + HOUR,
          userAgent: s.userAgent,
          clientAddress: s.clientAddress,
        });
      });

      it('round-trips a session without user agent or address as nulls', async () => {
        const { uid, session } = await signedIn(Date.now(), { userAgent: null, clientAddress: null });
        const got = (await stores.sessions.getSessionWithUser(uid, session.id)).session;
        expect(got?.userAgent).toBeNull();
        expect(got?.clientAddress).toBeNull();
      });

      it('keeps user agent and client address up to 256 UTF-8 bytes, cut on a character boundary', async () => {
        const exact = 'a'.repeat(63) + 'é' + 'b'.repeat(190); // 256 bytes; a 2-byte character across the first 64-byte boundary
        const long = '日本語'.repeat(40); // 360 bytes of 3-byte characters
        const { uid, session } = await signedIn(Date.now(), { userAgent: exact, clientAddress: long });
        const got = (await stores.sessions.getSessionWithUser(uid, session.id)).session!;
        expect(got.userAgent).toBe(exact);
        expect(got.clientAddress).toBe(long.slice(0, 84)); // 84 characters = 252 bytes; the 85th would pass 256
        const short = await signedIn(Date.now(), { userAgent: '', clientAddress: '203.0.113.7' });
        const s2 = (await stores.sessions.getSessionWithUser(short.uid, short.session.id)).session!;
        expect([s2.userAgent, s2.clientAddress]).toEqual(['', '203.0.113.7']);
      });

      it('adds a session per sign-in to the same user', async () => {
        const uid = id();
        const now = Date.now();
        const s1 = newSession(now);
        const s2 = newSession(now + 1);
        await stores.accounts.signIn(uid, profile(`sub-${uid}`), s1);
        await stores.accounts.signIn(uid, profile(`sub-${uid}`), s2);
        expect((await stores.sessions.listSessions(uid, now + 2)).map((s) => s.id)).toEqual([s2.id, s1.id]);
      });

      it('rejects non-integer times', async () => {
        const uid = id();
        await expect(stores.accounts.signIn(uid, profile('x'), newSession(Date.now() + 0.5))).rejects.toThrow(TypeError);
        expect(await stores.accounts.getUsers([uid])).toEqual([null]);
      });
    });

    describe('accounts.getUsers', () => {
      it('returns users in the order asked, null where absent', async () => {
        const a = (await signedIn()).uid;
        const b = (await signedIn()).uid;
        const missing = id();
        const got = await stores.accounts.getUsers([b, missing, a, b]);
        expect(got.map((u) => u?.id ?? null)).toEqual([b, null, a, b]);
        expect(await stores.accounts.getUsers([])).toEqual([]);
      });
    });

    describe('sessions.getSessionWithUser', () => {
      it('returns a null session (and the user) for an unknown session id', async () => {
        const { uid } = await signedIn();
        const got = await stores.sessions.getSessionWithUser(uid, id());
        expect(got.session).toBeNull();
        expect(got.user?.id).toBe(uid);
      });

      it('returns nulls for an unknown user, and does not find a session under another user', async () => {
        const { session } = await signedIn();
        expect(await stores.sessions.getSessionWithUser(id(), session.id)).toEqual({ session: null, user: null });
      });

      it('hides a session once its refresh lifetime has passed', async () => {
        const now = Date.now();
        const { uid, session } = await signedIn(now, { refreshExpiresAt: now + 300 });
        expect((await stores.sessions.getSessionWithUser(uid, session.id)).session?.id).toBe(session.id);
        await sleep(400);
        expect((await stores.sessions.getSessionWithUser(uid, session.id)).session).toBeNull();
      });

      it('never stores a session that has already ended', async () => {
        const now = Date.now();
        const { uid, session } = await signedIn(now - 10_000, { expiresAt: now - 1, refreshExpiresAt: now - 1 });
        expect((await stores.sessions.getSessionWithUser(uid, session.id)).session).toBeNull();
        expect(await stores.sessions.listSessions(uid, now)).toEqual([]);
      });
    });

    describe('sessions.rotateRefreshToken', () => {
      it('is not_found for an unknown session', async () => {
        const { uid, session, now } = await signedIn();
        expect(await stores.sessions.rotateRefreshToken(uid, id(), rotateInput(now, session.refreshHash))).toEqual({ kind: 'not_found' });
        expect(await stores.sessions.rotateRefreshToken(id(), session.id, rotateInput(now, session.refreshHash))).toEqual({ kind: 'not_found' });
      });

      it('rotates on the current hash: slides refreshExpiresAt, updates lastSeenAt, and the next hash becomes current', async () => {
        const { uid, session, now } = await signedIn();
        const t = now + 60_000;
        const r1 = rotateInput(t, session.refreshHash, { nextRefreshExpiresAt: t + HOUR });
        const out = await stores.sessions.rotateRefreshToken(uid, session.id, r1);
        expect(out).toEqual({
          kind: 'rotated',
          session: { ...(await stores.sessions.getSessionWithUser(uid, session.id)).session, lastSeenAt: t, refreshExpiresAt: t + HOUR },
        });
        expect(out.kind === 'rotated' && out.session.createdAt).toBe(now);
        const r2 = rotateInput(t + 1, r1.nextHash);
        expect((await stores.sessions.rotateRefreshToken(uid, session.id, r2)).kind).toBe('rotated');
      });

      it('never slides refreshExpiresAt past expiresAt', async () => {
        const { uid, session, now } = await signedIn();
        const out = await stores.sessions.rotateRefreshToken(uid, session.id, rotateInput(now + 1, session.refreshHash, { nextRefreshExpiresAt: now + 10 * HOUR }));
        expect(out.kind === 'rotated' && out.session.refreshExpiresAt).toBe(session.expiresAt);
        const listed = await stores.sessions.listSessions(uid, now + 2);
        expect(listed[0]?.refreshExpiresAt).toBe(session.expiresAt);
      });

      it('answers the previous hash within the grace period with the same sealed successor, changing nothing', async () => {
        const { uid, session, now } = await signedIn();
        const r1 = rotateInput(now + 1000, session.refreshHash);
        const rotated = await stores.sessions.rotateRefreshToken(uid, session.id, r1);
        const before = (await stores.sessions.getSessionWithUser(uid, session.id)).session;
        const again = await stores.sessions.rotateRefreshToken(uid, session.id, rotateInput(now + 1000 + r1.graceMs, session.refreshHash));
        expect(again).toEqual({ kind: 'grace', graceBox: r1.graceBox, session: rotated.kind === 'rotated' ? rotated.session : null });
        expect((await stores.sessions.getSessionWithUser(uid, session.id)).session).toEqual(before);
        // The successor is still the current token.
        expect((await stores.sessions.rotateRefreshToken(uid, session.id, rotateInput(now + 2000, r1.nextHash))).kind).toBe('rotated');
      });

      it('revokes the session when the previous hash comes back after the grace period', async () => {
        const { uid, session, now } = await signedIn();
        const r1 = rotateInput(now + 1000, session.refreshHash);
        await stores.sessions.rotateRefreshToken(uid, session.id, r1);
        const late = rotateInput(now + 1000 + r1.graceMs + 1, session.refreshHash);
        expect(await stores.sessions.rotateRefreshToken(uid, session.id, late)).toEqual({ kind: 'reused' });
        expect((await stores.sessions.getSessionWithUser(uid, session.id)).session).toBeNull();
        expect(await stores.sessions.listSessions(uid, now + 2000)).toEqual([]);
        // Even the legitimate successor is dead now.
        expect(await stores.sessions.rotateRefreshToken(uid, session.id, rotateInput(now + 2000, r1.nextHash))).toEqual({ kind: 'not_found' });
      });

      it('revokes when the grace box itself has expired, whatever the clock says', async () => {
        const { uid, session, now } = await signedIn();
        const r1 = rotateInput(now, session.refreshHash, { graceMs: 100 });
        await stores.sessions.rotateRefreshToken(uid, session.id, r1);
        await sleep(200);
        expect(await stores.sessions.rotateRefreshToken(uid, session.id, rotateInput(now, session.refreshHash, { graceMs: 100 }))).toEqual({
          kind: 'reused',
        });
        expect((await stores.sessions.getSessionWithUser(uid, session.id)).session).toBeNull();
      });

      it('with graceMs 0, any reuse of the previous hash revokes', async () => {
        const { uid, session, now } = await signedIn();
        await stores.sessions.rotateRefreshToken(uid, session.id, rotateInput(now, session.refreshHash, { graceMs: 0 }));
        expect(await stores.sessions.rotateRefreshToken(uid, session.id, rotateInput(now, session.refreshHash, { graceMs: 0 }))).toEqual({
          kind: 'reused',
        });
      });

      it('changes nothing on a hash that is neither current nor previous (a guess cannot revoke)', async () => {
        const { uid, session, now } = await signedIn();
        const r1 = rotateInput(now + 1, session.refreshHash);
        await stores.sessions.rotateRefreshToken(uid, session.id, r1);
        const before = await stores.sessions.getSessionWithUser(uid, session.id);
        for (let i = 0; i < 3; i++) {
          expect(await stores.sessions.rotateRefreshToken(uid, session.id, rotateInput(now + HOUR / 2, hash()))).toEqual({ kind: 'mismatch' });
        }
        expect(await stores.sessions.getSessionWithUser(uid, session.id)).toEqual(before);
        // The previous hash still gets its grace answer, and the current one still rotates.
        expect((await stores.sessions.rotateRefreshToken(uid, session.id, rotateInput(now + 2, session.refreshHash))).kind).toBe('grace');
        expect((await stores.sessions.rotateRefreshToken(uid, session.id, rotateInput(now + 3, r1.nextHash))).kind).toBe('rotated');
      });

      it('treats a hash from two rotations ago as a mismatch', async () => {
        const { uid, session, now } = await signedIn();
        const r1 = rotateInput(now + 1, session.refreshHash);
        await stores.sessions.rotateRefreshToken(uid, session.id, r1);
        await stores.sessions.rotateRefreshToken(uid, session.id, rotateInput(now + 2, r1.nextHash));
        expect(await stores.sessions.rotateRefreshToken(uid, session.id, rotateInput(now + 3, session.refreshHash))).toEqual({ kind: 'mismatch' });
      });

      it('is not_found once expiresAt or refreshExpiresAt is reached by `now`, and changes nothing', async () => {
        const { uid, session, now } = await signedIn();
        const at = (t: number) => stores.sessions.rotateRefreshToken(uid, session.id, rotateInput(t, session.refreshHash));
        expect(await at(session.refreshExpiresAt)).toEqual({ kind: 'not_found' });
        expect(await at(session.expiresAt)).toEqual({ kind: 'not_found' });
        expect((await stores.sessions.getSessionWithUser(uid, session.id)).session?.lastSeenAt).toBe(now);
        expect((await at(session.refreshExpiresAt - 1)).kind).toBe('rotated');
      });

      it('lets exactly one of 20 concurrent rotations win; the rest get the winner’s box', async () => {
        const { uid, session, now } = await signedIn();
        const inputs = Array.from({ length: 20 }, () => rotateInput(now + 1000, session.refreshHash));
        const outs = await Promise.all(inputs.map((i) => stores.sessions.rotateRefreshToken(uid, session.id, i)));
        const rotated = outs.filter((o) => o.kind === 'rotated');
        const grace = outs.filter((o) => o.kind === 'grace');
        expect(rotated).toHaveLength(1);
        expect(grace).toHaveLength(19);
        const boxes = new Set(grace.map((o) => (o.kind === 'grace' ? o.graceBox : '')));
        expect(boxes.size).toBe(1);
        const winner = inputs[outs.indexOf(rotated[0]!)]!;
        expect([...boxes][0]).toBe(winner.graceBox);
        // The winner's next hash is the current one; every loser's is unknown.
        const loser = inputs.find((i) => i !== winner)!;
        expect((await stores.sessions.rotateRefreshToken(uid, session.id, rotateInput(now + 2000, loser.nextHash))).kind).toBe('mismatch');
        expect((await stores.sessions.rotateRefreshToken(uid, session.id, rotateInput(now + 2000, winner.nextHash))).kind).toBe('rotated');
      });
    });

    describe('sessions.revokeSession', () => {
      it('deletes the session, its index entry and its grace box; true only when it existed', async () => {
        const { uid, session, now } = await signedIn();
        const other = newSession(now);
        await stores.accounts.signIn(uid, profile(`sub-${uid}`), other);
        await stores.sessions.rotateRefreshToken(uid, session.id, rotateInput(now, session.refreshHash));
        expect(await stores.sessions.revokeSession(uid, session.id)).toBe(true);
        expect(await stores.sessions.revokeSession(uid, session.id)).toBe(false);
        expect((await stores.sessions.getSessionWithUser(uid, session.id)).session).toBeNull();
        expect((await stores.sessions.listSessions(uid, now)).map((s) => s.id)).toEqual([other.id]);
        // No grace answer for a revoked session's previous token.
        expect(await stores.sessions.rotateRefreshToken(uid, session.id, rotateInput(now, session.refreshHash))).toEqual({ kind: 'not_found' });
        expect(await stores.sessions.revokeSession(id(), session.id)).toBe(false);
      });
    });

    describe('sessions.listSessions', () => {
      it('lists live sessions newest first, only the user’s own', async () => {
        const uid = id();
        const now = Date.now();
        const sessions = [newSession(now - 3000), newSession(now - 1000), newSession(now - 2000)];
        for (const s of sessions) await stores.accounts.signIn(uid, profile(`sub-${uid}`), s);
        await signedIn(now);
        const listed = await stores.sessions.listSessions(uid, now);
        expect(listed.map((s) => s.id)).toEqual([sessions[1]!.id, sessions[2]!.id, sessions[0]!.id]);
        expect(listed[0]).toEqual((await stores.sessions.getSessionWithUser(uid, sessions[1]!.id)).session);
        expect(await stores.sessions.listSessions(id(), now)).toEqual([]);
      });

      it('leaves out sessions that ended by `now` or whose record expired', async () => {
        const uid = id();
        const now = Date.now();
        const long = newSession(now);
        const short = newSession(now, { refreshExpiresAt: now + 30 * 60_000 });
        const brief = newSession(now, { refreshExpiresAt: now + 200 });
        for (const s of [long, short, brief]) await stores.accounts.signIn(uid, profile(`sub-${uid}`), s);
        expect(await stores.sessions.listSessions(uid, now)).toHaveLength(3);
        await sleep(300);
        expect((await stores.sessions.listSessions(uid, Date.now())).map((s) => s.id).sort()).toEqual([long.id, short.id].sort());
        expect((await stores.sessions.listSessions(uid, now + 30 * 60_000)).map((s) => s.id)).toEqual([long.id]);
        // Pruned for good: an earlier `now` does not bring them back.
        expect((await stores.sessions.listSessions(uid, now)).map((s) => s.id)).toEqual([long.id]);
      });
    });

    describe('rateLimits (GCRA)', () => {
      const subject = () => randomBytes(12).toString('base64url');

      it('allows a burst of `limit`, then refuses with the exact wait, counting nothing refused', async () => {
        const s = subject();
        const t = 1_700_000_000_000;
        const seen = [];
        for (let i = 0; i < 4; i++) seen.push(await stores.rateLimits.hit('test', s, 3, 60_000, t));
        expect(seen).toEqual([
          { allowed: true, remaining: 2, retryAfterMs: 0 },
          { allowed: true, remaining: 1, retryAfterMs: 0 },
          { allowed: true, remaining: 0, retryAfterMs: 0 },
          // One event every 60 s / 3 = 20 s: the next is allowed 20 s after the burst.
          { allowed: false, remaining: 0, retryAfterMs: 20_000 },
        ]);
        // Refused calls count nothing: still 20 s, and 5 s later 15 s.
        expect(await stores.rateLimits.hit('test', s, 3, 60_000, t)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 20_000 });
        expect(await stores.rateLimits.hit('test', s, 3, 60_000, t + 5_000)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 15_000 });
      });

      it('refills one event per interval and resets fully after the window', async () => {
        const s = subject();
        const t = 1_700_000_000_000;
        for (let i = 0; i < 3; i++) await stores.rateLimits.hit('test', s, 3, 60_000, t);
        expect((await stores.rateLimits.hit('test', s, 3, 60_000, t + 19_999)).allowed).toBe(false);
        expect(await stores.rateLimits.hit('test', s, 3, 60_000, t + 20_000)).toEqual({ allowed: true, remaining: 0, retryAfterMs: 0 });
        expect(await stores.rateLimits.hit('test', s, 3, 60_000, t + 20_000)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 20_000 });
        // A window after the last event: a full burst again.
        expect(await stores.rateLimits.peek('test', s, 3, 60_000, t + 80_000)).toEqual({ allowed: true, remaining: 3, retryAfterMs: 0 });
        expect(await stores.rateLimits.hit('test', s, 3, 60_000, t + 80_000)).toEqual({ allowed: true, remaining: 2, retryAfterMs: 0 });
      });

      it('peek tells whether a hit would pass and counts nothing', async () => {
        const s = subject();
        const t = 1_700_000_000_000;
        expect(await stores.rateLimits.peek('test', s, 2, 10_000, t)).toEqual({ allowed: true, remaining: 2, retryAfterMs: 0 });
        expect(await stores.rateLimits.peek('test', s, 2, 10_000, t)).toEqual({ allowed: true, remaining: 2, retryAfterMs: 0 });
        await stores.rateLimits.hit('test', s, 2, 10_000, t);
        expect(await stores.rateLimits.peek('test', s, 2, 10_000, t)).toEqual({ allowed: true, remaining: 1, retryAfterMs: 0 });
        await stores.rateLimits.hit('test', s, 2, 10_000, t);
        expect(await stores.rateLimits.peek('test', s, 2, 10_000, t + 1_000)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 4_000 });
      });

      it('keeps kinds and subjects apart', async () => {
        const s = subject();
        const other = subject();
        const t = 1_700_000_000_000;
        expect((await stores.rateLimits.hit('a', s, 1, 60_000, t)).allowed).toBe(true);
        expect((await stores.rateLimits.hit('a', s, 1, 60_000, t)).allowed).toBe(false);
        expect((await stores.rateLimits.hit('b', s, 1, 60_000, t)).allowed).toBe(true);
        expect((await stores.rateLimits.hit('a', other, 1, 60_000, t)).allowed).toBe(true);
      });

      it('rounds the interval up to whole milliseconds, never allowing more than the limit per window', async () => {
        const s = subject();
        const t = 1_700_000_000_000;
        // 7 per 60 s: interval ceil(60000 / 7) = 8572 ms; a burst of exactly 7.
        const burst = [];
        for (let i = 0; i < 8; i++) burst.push((await stores.rateLimits.hit('test', s, 7, 60_000, t)).allowed);
        expect(burst).toEqual([true, true, true, true, true, true, true, false]);
        expect((await stores.rateLimits.hit('test', s, 7, 60_000, t + 8_571)).allowed).toBe(false);
        expect((await stores.rateLimits.hit('test', s, 7, 60_000, t + 8_572)).allowed).toBe(true);
      });

      it('is atomic: concurrent hits allow exactly `limit`', async () => {
        const s = subject();
        const t = Date.now();
        const results = await Promise.all(Array.from({ length: 50 }, () => stores.rateLimits.hit('test', s, 20, 60_000, t)));
        expect(results.filter((r) => r.allowed)).toHaveLength(20);
        expect(results.filter((r) => !r.allowed).every((r) => r.retryAfterMs === 3_000)).toBe(true);
      });

      it('forgets a subject when its window has passed by the real clock (TTL)', async () => {
        const s = subject();
        const t = Date.now();
        expect((await stores.rateLimits.hit('test', s, 1, 1_000, t)).allowed).toBe(true);
        expect((await stores.rateLimits.hit('test', s, 1, 1_000, t)).allowed).toBe(false);
        await sleep(1_100);
        // Same `now`: only the expiry of the record can explain the reset.
        expect((await stores.rateLimits.hit('test', s, 1, 1_000, t)).allowed).toBe(true);
      });

      it('refuses unbounded or malformed keys and arguments (programming errors)', async () => {
        const t = Date.now();
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
          await expect(stores.rateLimits.hit(...args)).rejects.toThrow(TypeError);
          await expect(stores.rateLimits.peek(...args)).rejects.toThrow(TypeError);
        }
      });
    });

    describe('activity', () => {
      // Bucket numbers far from any other test's (each test uses its own).
      const base = () => 1_000_000 + Math.floor(Math.random() * 1_000_000_000);

      it('counts distinct session ids over the buckets asked for, and no others', async () => {
        const b = base();
        const later = Date.now() + HOUR;
        await stores.activity.record(b, ['s1'], later);
        await stores.activity.record(b, ['s2'], later);
        await stores.activity.record(b, ['s1'], later); // repeated in one bucket
        await stores.activity.record(b + 1, ['s2'], later); // repeated across buckets
        await stores.activity.record(b + 1, ['s3'], later);
        await stores.activity.record(b + 5, ['s4'], later);
        await stores.activity.record(b + 5, [], later); // nothing to add: no error, no change
        expect(await stores.activity.count([b])).toBe(2);
        expect(await stores.activity.count([b, b + 1])).toBe(3);
        expect(await stores.activity.count([b, b + 1, b + 2, b + 3, b + 4, b + 5])).toBe(4);
        expect(await stores.activity.count([b + 2])).toBe(0);
        expect(await stores.activity.count([])).toBe(0);
      });

      it('adds many session ids in one call', async () => {
        const b = base();
        await stores.activity.record(b, ['a', 'b', 'c', 'a'], Date.now() + HOUR);
        await stores.activity.record(b, ['c', 'd'], Date.now() + HOUR);
        expect(await stores.activity.count([b])).toBe(4);
      });

      it('forgets a bucket when it expires', async () => {
        const b = base();
        await stores.activity.record(b, ['s1'], Date.now() + 150);
        await stores.activity.record(b + 1, ['s2'], Date.now() + HOUR);
        expect(await stores.activity.count([b, b + 1])).toBe(2);
        await sleep(300);
        expect(await stores.activity.count([b, b + 1])).toBe(1);
      });
    });

    describe('ping', () => {
      it('resolves while the store answers', async () => {
        await expect(stores.ping()).resolves.toBeUndefined();
      });
    });
  });
}
