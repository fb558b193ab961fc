import { describe, expect, it } from '@jest/globals';
import type { NewSession, SessionRecord, Stores } from '../../src/store/types.js';
import { HOUR, TWO_PER_MINUTE, hash, id, newSession, profile, rotation, write, type ContractContext } from './contract-fixtures.js';

/**
 * Store contract, part two: the account and session primitives (src/store/types.ts
 * AccountStore). What they decide is src/sessions/policy.ts's (test/sessions/policy.test.ts
 * holds its table); these tests check that each store applies it to what it persists.
 */
export function accountContract(ctx: ContractContext): void {
  const s = (): Stores => ctx.stores;
  const now = () => ctx.backend.now();

  /** A user with `n` sessions (created 1 ms apart). */
  async function user(n = 1, t = now(), over: Partial<NewSession> = {}) {
    const uid = id();
    const sessions: NewSession[] = [];
    for (let i = 0; i < n; i++) {
      const session = newSession(t + i, over);
      expect((await s().accounts.writeSession(write(uid, session))).kind).toBe('written');
      sessions.push(session);
    }
    return { uid, sessions, now: t };
  }
  const ids = async (uid: string, t = now()) => (await s().accounts.listSessions(uid, t)).map((x) => x.id).sort();
  const stored = async (uid: string, sid: string) => (await s().accounts.readSession(uid, sid)).session;

  describe('accounts.writeSession', () => {
    it('creates the user on first sign-in, and writes the session', async () => {
      const uid = id();
      const t = now();
      const p = profile(`sub-${uid}`, { hostedDomain: 'example.com' });
      const session = newSession(t, { expiresAt: t + HOUR, refreshExpiresAt: t + 2 * HOUR });
      const got = await s().accounts.writeSession(write(uid, session, { profile: p }));
      const { sub, ...claims } = p;
      const expected = { id: uid, ...claims, createdAt: t, lastSignInAt: t, disabled: false };
      expect(got).toEqual({ kind: 'written', user: expected, isNewUser: true });
      expect(await s().accounts.getUsers([uid])).toEqual([expected]);
      // The identity that signed in is the account's, linked at its creation.
      expect(await s().accounts.getIdentities([uid])).toEqual([
        [{ provider: 'google', subject: sub, email: p.email, emailVerified: true, isPrivateEmail: false, realUserStatus: null, linkedAt: t, pending: false }],
      ]);
      // refreshExpiresAt is capped at expiresAt; nothing has been refreshed or touched yet.
      expect(await s().accounts.readSession(uid, session.id)).toEqual({
        user: expected,
        session: {
          id: session.id,
          userId: uid,
          createdAt: t,
          expiresAt: t + HOUR,
          refreshExpiresAt: t + HOUR,
          rotatedAt: null,
          touchedAt: null,
          userAgent: session.userAgent,
          clientAddress: session.clientAddress,
        } satisfies SessionRecord,
      });
    });

    it('round-trips null claims as null and empty strings as empty strings', async () => {
      const uid = id();
      const p = profile(`sub-${uid}`, { email: null, name: '', givenName: null, familyName: null, picture: null, locale: null, emailVerified: false });
      const got = await s().accounts.writeSession(write(uid, newSession(now(), { userAgent: null, clientAddress: null }), { profile: p }));
      const [read] = await s().accounts.getUsers([uid]);
      for (const u of [got.kind === 'written' ? got.user : null, read]) {
        expect(u).toMatchObject({ email: null, name: '', givenName: null, familyName: null, picture: null, locale: null, hostedDomain: null, emailVerified: false });
      }
    });

    it('refreshes claims and lastSignInAt on later sign-ins, keeping createdAt', async () => {
      const uid = id();
      const t1 = now();
      await s().accounts.writeSession(write(uid, newSession(t1)));
      const t2 = t1 + 5000;
      const p2 = profile(`sub-${uid}`, { name: 'Ada King', picture: null, email: 'ada@new.example', emailVerified: false });
      const got = await s().accounts.writeSession(write(uid, newSession(t2), { profile: p2, mustExist: true }));
      expect(got).toMatchObject({ kind: 'written', isNewUser: false, user: { createdAt: t1, lastSignInAt: t2, name: 'Ada King', picture: null, email: 'ada@new.example', emailVerified: false } });
      expect((await s().accounts.getUsers([uid]))[0]).toEqual(got.kind === 'written' && got.user);
    });

    it('round-trips long and non-ASCII claims exactly, and shortening or clearing them leaves nothing behind', async () => {
      const uid = id();
      const long = profile(`sub-${uid}`, {
        name: 'Ada 👩‍💻 Lovelace, Countess of Lovelace — '.repeat(6),
        picture: `https://lh3.googleusercontent.com/a/${'x'.repeat(300)}=s96-c`,
        email: `${'é'.repeat(40)}@example.com`,
      });
      const got = await s().accounts.writeSession(write(uid, newSession(now()), { profile: long }));
      expect(got).toMatchObject({ user: { name: long.name, picture: long.picture, email: long.email } });
      const short = profile(`sub-${uid}`, { name: 'Ada', picture: null, email: 'a@example.com' });
      await s().accounts.writeSession(write(uid, newSession(now() + 1), { profile: short }));
      expect((await s().accounts.getUsers([uid]))[0]).toMatchObject({ name: 'Ada', picture: null, email: 'a@example.com' });
    });

    it('treats the same email under another subject as another user', async () => {
      const [a, b] = [id(), id()];
      const email = `shared-${a}@example.com`;
      expect(await s().accounts.writeSession(write(a, newSession(now()), { profile: profile(`sub-${a}`, { email }) }))).toMatchObject({ isNewUser: true });
      expect(await s().accounts.writeSession(write(b, newSession(now()), { profile: profile(`sub-${b}`, { email }) }))).toMatchObject({ isNewUser: true });
      expect((await s().accounts.getIdentities([a, b])).map((list) => list.map((i) => i.subject))).toEqual([[`sub-${a}`], [`sub-${b}`]]);
    });

    it('keeps user agent and client address up to 256 UTF-8 bytes, cut on a character boundary', async () => {
      const exact = 'a'.repeat(63) + 'é' + 'b'.repeat(190); // 256 bytes; a 2-byte character across the first 64-byte boundary
      const long = '日本語'.repeat(40); // 360 bytes of 3-byte characters
      const { uid, sessions } = await user(1, now(), { userAgent: exact, clientAddress: long });
      expect(await stored(uid, sessions[0]!.id)).toMatchObject({ userAgent: exact, clientAddress: long.slice(0, 84) }); // 84 characters = 252 bytes
      const short = await user(1, now(), { userAgent: '', clientAddress: '203.0.113.7' });
      expect(await stored(short.uid, short.sessions[0]!.id)).toMatchObject({ userAgent: '', clientAddress: '203.0.113.7' });
      const none = await user(1, now(), { userAgent: null, clientAddress: null });
      expect(await stored(none.uid, none.sessions[0]!.id)).toMatchObject({ userAgent: null, clientAddress: null });
    });

    it('adds a session per sign-in to the same user', async () => {
      const { uid, sessions } = await user(2);
      expect(await ids(uid)).toEqual(sessions.map((x) => x.id).sort());
    });

    it('with mustExist, writes nothing for a user that has no record (gone)', async () => {
      const uid = id();
      const session = newSession(now());
      expect(await s().accounts.writeSession(write(uid, session, { mustExist: true }))).toEqual({ kind: 'gone' });
      expect(await s().accounts.readSession(uid, session.id)).toEqual({ session: null, user: null });
      expect(await ids(uid)).toEqual([]);
    });

    it('refuses a disabled account and writes nothing: no session, no profile change', async () => {
      const { uid, now: t } = await user(1);
      await s().accounts.setAccountState(uid, 'disabled', now());
      const before = (await s().accounts.getUsers([uid]))[0]!;
      const session = newSession(t + 100);
      const refused = write(uid, session, { profile: profile(`sub-${uid}`, { name: 'Changed' }), maxSessions: 5, mustExist: true, limit: TWO_PER_MINUTE });
      expect(await s().accounts.writeSession(refused)).toEqual({ kind: 'account_disabled' });
      expect(await s().accounts.writeSession({ ...refused, mustExist: false })).toEqual({ kind: 'account_disabled' });
      expect(await s().accounts.readSession(uid, session.id)).toEqual({ session: null, user: before });
      await s().accounts.setAccountState(uid, 'enabled', now());
      expect(await s().accounts.writeSession(refused)).toMatchObject({ kind: 'written', isNewUser: false, user: { name: 'Changed', disabled: false } });
      expect(await ids(uid, t + 101)).toEqual([session.id]);
    });

    it('spends the account’s sign-in budget only on admitted sign-ins, refusing with the exact wait and writing nothing', async () => {
      const uid = id();
      const t = now();
      const limited = (session: NewSession) => write(uid, session, { limit: TWO_PER_MINUTE });
      expect((await s().accounts.writeSession(limited(newSession(t)))).kind).toBe('written');
      expect((await s().accounts.writeSession(limited(newSession(t)))).kind).toBe('written');
      const third = newSession(t + 10_000);
      expect(await s().accounts.writeSession(limited(third))).toEqual({ kind: 'limited', retryAfterMs: 20_000 });
      expect(await stored(uid, third.id)).toBeNull();
      expect((await s().accounts.getUsers([uid]))[0]?.lastSignInAt).toBe(t);
      // One more every 30 s; a write without the limit neither checks nor spends it.
      expect((await s().accounts.writeSession(write(uid, newSession(t + 10_000)))).kind).toBe('written');
      expect((await s().accounts.writeSession(limited(newSession(t + 30_000)))).kind).toBe('written');
      expect(await s().accounts.writeSession(limited(newSession(t + 30_000)))).toEqual({ kind: 'limited', retryAfterMs: 30_000 });
    });

    it('never stores a session that has already ended', async () => {
      const t = now();
      const { uid, sessions } = await user(1, t - 10_000, { expiresAt: t - 1, refreshExpiresAt: t - 1 });
      expect(await stored(uid, sessions[0]!.id)).toBeNull();
      expect(await s().accounts.listSessions(uid, t)).toEqual([]);
    });

    it('rejects non-integer times and writes nothing', async () => {
      const uid = id();
      await expect(s().accounts.writeSession(write(uid, newSession(now() + 0.5)))).rejects.toThrow(TypeError);
      expect(await s().accounts.getUsers([uid])).toEqual([null]);
    });
  });

  describe('accounts.writeSession with a session cap', () => {
    it('ends the oldest sessions (by creation) so that at most maxSessions remain, the new one included', async () => {
      const { uid, sessions, now: t } = await user(4);
      // The oldest session was refreshed last: creation order decides, not activity.
      await s().accounts.rotateSession(uid, sessions[0]!.id, rotation(t + 10, sessions[0]!.refreshHash));
      const fresh = newSession(t + 20);
      await s().accounts.writeSession(write(uid, fresh, { maxSessions: 3 }));
      expect(await ids(uid, t + 30)).toEqual([sessions[2]!.id, sessions[3]!.id, fresh.id].sort());
      for (const gone of sessions.slice(0, 2)) {
        expect(await stored(uid, gone.id)).toBeNull();
        expect(await s().accounts.rotateSession(uid, gone.id, rotation(t + 30, gone.refreshHash))).toEqual({ kind: 'not_found' });
      }
    });

    it('breaks ties of creation time by id (byte order), and keeps the new session; 0 means no cap', async () => {
      const t = now();
      const uid = id();
      // Ids whose byte order differs from a case-insensitive (locale) order.
      const tied = ['b-tied-session-id-00001', 'B-tied-session-id-00002', 'a-tied-session-id-00003'].map((sid) => newSession(t, { id: sid }));
      for (const x of tied) await s().accounts.writeSession(write(uid, x));
      const next = newSession(t);
      await s().accounts.writeSession(write(uid, next, { maxSessions: 2 }));
      // Byte order: 'B' < 'a' < 'b': the two first end.
      expect(await ids(uid, t + 1)).toEqual([tied[0]!.id, next.id].sort());
      for (let i = 0; i < 3; i++) await s().accounts.writeSession(write(uid, newSession(t + 5), { maxSessions: 0 }));
      expect(await ids(uid, t + 6)).toHaveLength(5);
      const only = newSession(t + 7);
      await s().accounts.writeSession(write(uid, only, { maxSessions: 1 }));
      expect(await ids(uid, t + 8)).toEqual([only.id]);
    });

    it('never touches another user’s sessions', async () => {
      const a = await user(2);
      const b = await user(2);
      await s().accounts.writeSession(write(a.uid, newSession(a.now + 10), { maxSessions: 1 }));
      expect(await ids(b.uid)).toEqual(b.sessions.map((x) => x.id).sort());
    });
  });

  describe('accounts.getUsers and readSession', () => {
    it('returns users in the order asked, null where absent', async () => {
      const a = (await user()).uid;
      const b = (await user()).uid;
      const got = await s().accounts.getUsers([b, id(), a, b]);
      expect(got.map((u) => u?.id ?? null)).toEqual([b, null, a, b]);
      expect(await s().accounts.getUsers([])).toEqual([]);
    });

    it('returns a null session (and the user) for an unknown session id; nulls for an unknown user', async () => {
      const { uid, sessions } = await user();
      const got = await s().accounts.readSession(uid, id());
      expect(got.session).toBeNull();
      expect(got.user?.id).toBe(uid);
      expect(await s().accounts.readSession(id(), sessions[0]!.id)).toEqual({ session: null, user: null });
    });

    it('hides a session once its refresh lifetime has passed (the record expires)', async () => {
      const t = now();
      const { uid, sessions } = await user(1, t, { refreshExpiresAt: t + 60_000 });
      expect((await stored(uid, sessions[0]!.id))?.id).toBe(sessions[0]!.id);
      await ctx.backend.elapse(60_000);
      expect(await stored(uid, sessions[0]!.id)).toBeNull();
    });

    it('is shared with another instance on the same data', async () => {
      const { uid, sessions } = await user();
      const other = await ctx.backend.peer();
      expect((await other.accounts.readSession(uid, sessions[0]!.id)).session?.id).toBe(sessions[0]!.id);
    });
  });

  describe('accounts.rotateSession', () => {
    it('is not_found for an unknown session or user', async () => {
      const { uid, sessions, now: t } = await user();
      expect(await s().accounts.rotateSession(uid, id(), rotation(t, sessions[0]!.refreshHash))).toEqual({ kind: 'not_found' });
      expect(await s().accounts.rotateSession(id(), sessions[0]!.id, rotation(t, sessions[0]!.refreshHash))).toEqual({ kind: 'not_found' });
    });

    it('rotates on the current hash: slides refreshExpiresAt, sets rotatedAt, returns the user; the next hash becomes current', async () => {
      const { uid, sessions, now: t0 } = await user();
      const t = t0 + 60_000;
      const r1 = rotation(t, sessions[0]!.refreshHash, { refreshTtlMs: HOUR });
      const out = await s().accounts.rotateSession(uid, sessions[0]!.id, r1);
      const { session, user: u } = await s().accounts.readSession(uid, sessions[0]!.id);
      expect(out).toEqual({ kind: 'rotated', session, user: u });
      expect(session).toMatchObject({ createdAt: t0, rotatedAt: t, refreshExpiresAt: t + HOUR, touchedAt: null });
      expect((await s().accounts.rotateSession(uid, sessions[0]!.id, rotation(t + 1, r1.nextHash))).kind).toBe('rotated');
    });

    it('never slides refreshExpiresAt past expiresAt', async () => {
      const { uid, sessions, now: t } = await user();
      const out = await s().accounts.rotateSession(uid, sessions[0]!.id, rotation(t + 1, sessions[0]!.refreshHash, { refreshTtlMs: 10 * HOUR }));
      expect(out.kind === 'rotated' && out.session.refreshExpiresAt).toBe(sessions[0]!.expiresAt);
      expect((await s().accounts.listSessions(uid, t + 2))[0]?.refreshExpiresAt).toBe(sessions[0]!.expiresAt);
    });

    it('answers the previous hash within the grace period with the same sealed successor, changing nothing', async () => {
      const { uid, sessions, now: t } = await user();
      const sid = sessions[0]!.id;
      const r1 = rotation(t + 1000, sessions[0]!.refreshHash);
      const rotated = await s().accounts.rotateSession(uid, sid, r1);
      const before = await stored(uid, sid);
      const again = await s().accounts.rotateSession(uid, sid, rotation(t + 1000 + r1.graceMs, sessions[0]!.refreshHash));
      expect(again).toEqual({ kind: 'grace', graceBox: r1.graceBox, session: before, user: rotated.kind === 'rotated' && rotated.user });
      expect(await stored(uid, sid)).toEqual(before);
      expect((await s().accounts.rotateSession(uid, sid, rotation(t + 2000, r1.nextHash))).kind).toBe('rotated');
    });

    it('revokes the session when the previous hash comes back after the grace period', async () => {
      const { uid, sessions, now: t } = await user();
      const sid = sessions[0]!.id;
      const r1 = rotation(t + 1000, sessions[0]!.refreshHash);
      await s().accounts.rotateSession(uid, sid, r1);
      expect(await s().accounts.rotateSession(uid, sid, rotation(t + 1000 + r1.graceMs + 1, sessions[0]!.refreshHash))).toEqual({ kind: 'reused' });
      expect(await stored(uid, sid)).toBeNull();
      expect(await s().accounts.listSessions(uid, t + 2000)).toEqual([]);
      // Even the legitimate successor is dead now.
      expect(await s().accounts.rotateSession(uid, sid, rotation(t + 2000, r1.nextHash))).toEqual({ kind: 'not_found' });
    });

    it('revokes when the grace box itself has expired, whatever `now` says', async () => {
      const { uid, sessions, now: t } = await user();
      await s().accounts.rotateSession(uid, sessions[0]!.id, rotation(t, sessions[0]!.refreshHash, { graceMs: 1_000 }));
      await ctx.backend.elapse(1_000);
      expect(await s().accounts.rotateSession(uid, sessions[0]!.id, rotation(t, sessions[0]!.refreshHash, { graceMs: 1_000 }))).toEqual({ kind: 'reused' });
    });

    it('with graceMs 0, any reuse of the previous hash revokes', async () => {
      const { uid, sessions, now: t } = await user();
      await s().accounts.rotateSession(uid, sessions[0]!.id, rotation(t, sessions[0]!.refreshHash, { graceMs: 0 }));
      expect(await s().accounts.rotateSession(uid, sessions[0]!.id, rotation(t, sessions[0]!.refreshHash, { graceMs: 0 }))).toEqual({ kind: 'reused' });
    });

    it('changes nothing on a hash that is neither current nor previous (a guess cannot revoke)', async () => {
      const { uid, sessions, now: t } = await user();
      const sid = sessions[0]!.id;
      const r1 = rotation(t + 1, sessions[0]!.refreshHash);
      await s().accounts.rotateSession(uid, sid, r1);
      const before = await s().accounts.readSession(uid, sid);
      for (let i = 0; i < 3; i++) expect(await s().accounts.rotateSession(uid, sid, rotation(t + HOUR / 2, hash()))).toEqual({ kind: 'mismatch' });
      expect(await s().accounts.readSession(uid, sid)).toEqual(before);
      expect((await s().accounts.rotateSession(uid, sid, rotation(t + 2, sessions[0]!.refreshHash))).kind).toBe('grace');
      expect((await s().accounts.rotateSession(uid, sid, rotation(t + 3, r1.nextHash))).kind).toBe('rotated');
    });

    it('treats a hash from two rotations ago as a mismatch', async () => {
      const { uid, sessions, now: t } = await user();
      const sid = sessions[0]!.id;
      const r1 = rotation(t + 1, sessions[0]!.refreshHash);
      await s().accounts.rotateSession(uid, sid, r1);
      await s().accounts.rotateSession(uid, sid, rotation(t + 2, r1.nextHash));
      expect(await s().accounts.rotateSession(uid, sid, rotation(t + 3, sessions[0]!.refreshHash))).toEqual({ kind: 'mismatch' });
    });

    it('is not_found once expiresAt or refreshExpiresAt is reached by `now`, and changes nothing', async () => {
      const { uid, sessions, now: t } = await user();
      const session = sessions[0]!;
      const at = (x: number) => s().accounts.rotateSession(uid, session.id, rotation(x, session.refreshHash));
      expect(await at(session.refreshExpiresAt)).toEqual({ kind: 'not_found' });
      expect(await at(session.expiresAt)).toEqual({ kind: 'not_found' });
      expect((await stored(uid, session.id))?.rotatedAt).toBeNull();
      expect((await at(session.refreshExpiresAt - 1)).kind).toBe('rotated');
      expect(t).toBe(session.createdAt);
    });

    it('spends the session’s refresh budget on rotations and grace answers only; a refused refresh spends nothing', async () => {
      const { uid, sessions, now: t } = await user();
      const sid = sessions[0]!.id;
      const limited = (x: number, presented: string) => rotation(x, presented, { limit: TWO_PER_MINUTE });
      // Guesses do not spend it.
      for (let i = 0; i < 3; i++) expect(await s().accounts.rotateSession(uid, sid, limited(t, hash()))).toEqual({ kind: 'mismatch' });
      const r1 = limited(t + 1, sessions[0]!.refreshHash);
      expect((await s().accounts.rotateSession(uid, sid, r1)).kind).toBe('rotated');
      expect((await s().accounts.rotateSession(uid, sid, limited(t + 2, sessions[0]!.refreshHash))).kind).toBe('grace');
      const before = await s().accounts.readSession(uid, sid);
      expect(await s().accounts.rotateSession(uid, sid, limited(t + 3, r1.nextHash))).toEqual({ kind: 'limited', retryAfterMs: 29_998 });
      // Refused before anything: the token is not spent, and even a garbage hash gets the limit.
      expect(await s().accounts.readSession(uid, sid)).toEqual(before);
      expect(await s().accounts.rotateSession(uid, sid, limited(t + 3, hash()))).toEqual({ kind: 'limited', retryAfterMs: 29_998 });
      expect((await s().accounts.rotateSession(uid, sid, limited(t + 30_001, r1.nextHash))).kind).toBe('rotated');
    });

    it('lets exactly one of 20 concurrent rotations win; the rest get the winner’s box', async () => {
      const { uid, sessions, now: t } = await user();
      const sid = sessions[0]!.id;
      const inputs = Array.from({ length: 20 }, () => rotation(t + 1000, sessions[0]!.refreshHash));
      const outs = await Promise.all(inputs.map((i) => s().accounts.rotateSession(uid, sid, i)));
      const rotated = outs.filter((o) => o.kind === 'rotated');
      const grace = outs.filter((o) => o.kind === 'grace');
      expect([rotated.length, grace.length]).toEqual([1, 19]);
      const boxes = new Set(grace.map((o) => (o.kind === 'grace' ? o.graceBox : '')));
      const winner = inputs[outs.indexOf(rotated[0]!)]!;
      expect([...boxes]).toEqual([winner.graceBox]);
      const loser = inputs.find((i) => i !== winner)!;
      expect((await s().accounts.rotateSession(uid, sid, rotation(t + 2000, loser.nextHash))).kind).toBe('mismatch');
      expect((await s().accounts.rotateSession(uid, sid, rotation(t + 2000, winner.nextHash))).kind).toBe('rotated');
    });
  });

  describe('accounts.listSessions', () => {
    it('lists the user’s stored sessions, only the user’s own', async () => {
      const { uid, sessions, now: t } = await user(3);
      await user(1);
      const listed = await s().accounts.listSessions(uid, t + 3);
      expect(listed.map((x) => x.id).sort()).toEqual(sessions.map((x) => x.id).sort());
      expect(listed.find((x) => x.id === sessions[1]!.id)).toEqual(await stored(uid, sessions[1]!.id));
      expect(await s().accounts.listSessions(id(), t)).toEqual([]);
    });

    it('leaves out sessions that ended by `now` or whose record expired, and prunes them for good', async () => {
      const t = now();
      const uid = id();
      const long = newSession(t);
      const short = newSession(t, { refreshExpiresAt: t + 30 * 60_000 });
      const brief = newSession(t, { refreshExpiresAt: t + 60_000 });
      for (const x of [long, short, brief]) await s().accounts.writeSession(write(uid, x));
      expect(await ids(uid, t)).toHaveLength(3);
      await ctx.backend.elapse(60_000);
      expect(await ids(uid, t)).toEqual([long.id, short.id].sort());
      expect(await ids(uid, t + 30 * 60_000)).toEqual([long.id]);
      // Pruned for good: an earlier `now` does not bring them back.
      expect(await ids(uid, t)).toEqual([long.id]);
    });
  });

  describe('accounts.endSessions', () => {
    it('ends one session: its record, index entry and grace box; counts it only when it was stored', async () => {
      const { uid, sessions, now: t } = await user(2);
      const [one, other] = sessions as [NewSession, NewSession];
      await s().accounts.rotateSession(uid, one.id, rotation(t, one.refreshHash));
      expect(await s().accounts.endSessions(uid, { kind: 'session', sessionId: one.id }, { reason: 'revoked', now: now() })).toBe(1);
      expect(await s().accounts.endSessions(uid, { kind: 'session', sessionId: one.id }, { reason: 'revoked', now: now() })).toBe(0);
      expect(await stored(uid, one.id)).toBeNull();
      expect(await ids(uid, t)).toEqual([other.id]);
      // No grace answer for an ended session's previous token.
      expect(await s().accounts.rotateSession(uid, one.id, rotation(t, one.refreshHash))).toEqual({ kind: 'not_found' });
      expect(await s().accounts.endSessions(id(), { kind: 'session', sessionId: other.id }, { reason: 'revoked', now: now() })).toBe(0);
      expect(await stored(uid, other.id)).not.toBeNull();
    });

    it('ends every session but the kept one, or all, and counts them', async () => {
      const { uid, sessions, now: t } = await user(4);
      const bystander = await user(2);
      await s().accounts.rotateSession(uid, sessions[1]!.id, rotation(t + 1, sessions[1]!.refreshHash));
      expect(await s().accounts.endSessions(uid, { kind: 'others', keep: sessions[0]!.id }, { reason: 'sign_out_others', now: now() })).toBe(3);
      expect(await ids(uid, t)).toEqual([sessions[0]!.id]);
      expect(await s().accounts.rotateSession(uid, sessions[1]!.id, rotation(t + 2, sessions[1]!.refreshHash))).toEqual({ kind: 'not_found' });
      expect(await s().accounts.endSessions(uid, { kind: 'others', keep: sessions[0]!.id }, { reason: 'sign_out_others', now: now() })).toBe(0);
      expect(await s().accounts.endSessions(uid, { kind: 'all' }, { reason: 'sign_out_everywhere', now: now() })).toBe(1);
      expect(await ids(uid, t)).toEqual([]);
      expect(await s().accounts.endSessions(uid, { kind: 'all' }, { reason: 'sign_out_everywhere', now: now() })).toBe(0);
      expect(await s().accounts.endSessions(id(), { kind: 'all' }, { reason: 'sign_out_everywhere', now: now() })).toBe(0);
      expect(await ids(bystander.uid)).toHaveLength(2);
    });

    it('does not count a session whose record already expired', async () => {
      const t = now();
      const { uid } = await user(1, t, { refreshExpiresAt: t + 60_000 });
      await s().accounts.writeSession(write(uid, newSession(t)));
      await ctx.backend.elapse(60_000);
      expect(await s().accounts.endSessions(uid, { kind: 'all' }, { reason: 'sign_out_everywhere', now: now() })).toBe(1);
    });
  });

  describe('accounts.setAccountState', () => {
    it('disabling sets the flag and ends every session at once; enabling clears it and ends nothing', async () => {
      const { uid, sessions, now: t } = await user(3);
      const other = await user(1);
      expect(await s().accounts.setAccountState(uid, 'disabled', now())).toEqual({ found: true, sessionsEnded: 3, identities: [] });
      const seen = await s().accounts.readSession(uid, sessions[0]!.id);
      expect(seen.session).toBeNull();
      expect(seen.user?.disabled).toBe(true);
      expect(await s().accounts.listSessions(uid, t)).toEqual([]);
      expect(await s().accounts.setAccountState(uid, 'disabled', now())).toEqual({ found: true, sessionsEnded: 0, identities: [] });
      expect(await s().accounts.setAccountState(uid, 'enabled', now())).toEqual({ found: true, sessionsEnded: 0, identities: [] });
      expect((await s().accounts.getUsers([uid]))[0]?.disabled).toBe(false);
      expect(await ids(other.uid)).toEqual([other.sessions[0]!.id]);
    });

    it('is found: false (and creates nothing) for an unknown user', async () => {
      const uid = id();
      for (const state of ['disabled', 'enabled', 'deleted'] as const) expect(await s().accounts.setAccountState(uid, state, now())).toEqual({ found: false, sessionsEnded: 0, identities: [] });
      expect(await s().accounts.getUsers([uid])).toEqual([null]);
      // Not even a retired-id marker: a first sign-in may still create it.
      expect(await s().accounts.writeSession(write(uid, newSession(now())))).toMatchObject({ kind: 'written', isNewUser: true });
    });

    it('deleting removes the user and every session and grace box, and leaves others alone', async () => {
      const { uid, sessions, now: t } = await user(2);
      await s().accounts.rotateSession(uid, sessions[0]!.id, rotation(t + 1, sessions[0]!.refreshHash));
      const bystander = await user(1);
      expect(await s().accounts.setAccountState(uid, 'deleted', now())).toEqual({ found: true, sessionsEnded: 2, identities: [{ provider: 'google', subject: `sub-${uid}` }] });
      expect(await s().accounts.getIdentities([uid])).toEqual([[]]);
      expect(await s().accounts.getUsers([uid])).toEqual([null]);
      for (const x of sessions) expect(await s().accounts.readSession(uid, x.id)).toEqual({ session: null, user: null });
      expect(await s().accounts.listSessions(uid, t)).toEqual([]);
      // The rotated session's previous token gets no grace answer.
      expect(await s().accounts.rotateSession(uid, sessions[0]!.id, rotation(t + 2, sessions[0]!.refreshHash))).toEqual({ kind: 'not_found' });
      expect(await ids(bystander.uid)).toEqual([bystander.sessions[0]!.id]);
      // Nothing of the user is left to find: a sign-in that must find it writes nothing, and its
      // id is retired: not even a sign-in that would create it (a stale link's) writes.
      expect(await s().accounts.writeSession(write(uid, newSession(t + 3), { mustExist: true }))).toEqual({ kind: 'gone' });
      expect(await s().accounts.writeSession(write(uid, newSession(t + 3), { mustExist: false }))).toEqual({ kind: 'gone' });
      expect(await s().accounts.getUsers([uid])).toEqual([null]);
    });
  });

  describe('accounts.touchSession', () => {
    it('moves touchedAt forward only, past the last refresh too', async () => {
      const { uid, sessions, now: t } = await user();
      const sid = sessions[0]!.id;
      const times = async () => {
        const x = await stored(uid, sid);
        return [x?.rotatedAt, x?.touchedAt];
      };
      await s().accounts.touchSession(uid, sid, t + 60_000);
      expect(await times()).toEqual([null, t + 60_000]);
      await s().accounts.touchSession(uid, sid, t + 30_000);
      expect(await times()).toEqual([null, t + 60_000]);
      await s().accounts.rotateSession(uid, sid, rotation(t + 90_000, sessions[0]!.refreshHash));
      await s().accounts.touchSession(uid, sid, t + 80_000); // before the refresh: lastSeenAt is already later
      expect(await times()).toEqual([t + 90_000, t + 60_000]);
      await s().accounts.touchSession(uid, sid, t + 120_000);
      expect(await times()).toEqual([t + 90_000, t + 120_000]);
      expect((await s().accounts.listSessions(uid, t))[0]?.touchedAt).toBe(t + 120_000);
      await s().accounts.touchSession(uid, sid, t); // the creation time itself: nothing to record
      expect(await times()).toEqual([t + 90_000, t + 120_000]);
    });

    it('does not bring back an ended or unknown session; refuses a non-integer time', async () => {
      const { uid, sessions, now: t } = await user();
      await s().accounts.endSessions(uid, { kind: 'session', sessionId: sessions[0]!.id }, { reason: 'revoked', now: now() });
      await s().accounts.touchSession(uid, sessions[0]!.id, t + 60_000);
      await s().accounts.touchSession(id(), id(), t + 60_000);
      expect(await stored(uid, sessions[0]!.id)).toBeNull();
      expect(await s().accounts.readSession(id(), id())).toEqual({ session: null, user: null });
      await expect(s().accounts.touchSession(uid, sessions[0]!.id, t + 0.5)).rejects.toThrow(TypeError);
    });
  });
}
