import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NewSession, Stores } from '../../src/store/types.js';
import { hash, id, newSession, profile, rotateInput, sleep, type StoreFactory } from './contract.js';

/**
 * Store contract, part two: the session and account lifecycle (session cap, disabling,
 * deletion, ending many sessions, lastSeenAt, sign-in nonces and used ID tokens). Runs
 * against every implementation, like `storeContract`.
 */
export function lifecycleContract(name: string, make: StoreFactory): void {
  describe(`store lifecycle contract: ${name}`, () => {
    let stores: Stores;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      ({ stores, cleanup } = await make());
    });
    afterAll(async () => {
      await cleanup();
    });

    async function user(now = Date.now(), sessions = 1, over: Partial<NewSession> = {}) {
      const uid = id();
      const made: NewSession[] = [];
      for (let i = 0; i < sessions; i++) {
        const s = newSession(now + i, over);
        await stores.accounts.signIn(uid, profile(`sub-${uid}`), s);
        made.push(s);
      }
      return { uid, sessions: made, now };
    }
    const ids = async (uid: string, now = Date.now()) => (await stores.sessions.listSessions(uid, now)).map((s) => s.id).sort();

    describe('accounts.signIn with a session cap', () => {
      it('ends the oldest sessions (by creation) so that at most maxSessions remain, the new one included', async () => {
        const { uid, sessions, now } = await user(Date.now(), 4);
        // The oldest session was refreshed last: creation order decides, not activity.
        await stores.sessions.rotateRefreshToken(uid, sessions[0]!.id, rotateInput(now + 10, sessions[0]!.refreshHash));
        const fresh = newSession(now + 20);
        await stores.accounts.signIn(uid, profile(`sub-${uid}`), fresh, { maxSessions: 3 });
        expect(await ids(uid, now + 30)).toEqual([sessions[2]!.id, sessions[3]!.id, fresh.id].sort());
        for (const gone of sessions.slice(0, 2)) {
          expect((await stores.sessions.getSessionWithUser(uid, gone.id)).session).toBeNull();
          expect(await stores.sessions.rotateRefreshToken(uid, gone.id, rotateInput(now + 30, gone.refreshHash))).toEqual({ kind: 'not_found' });
        }
      });

      it('keeps the new session even when every session has the same creation time; 0 means no limit', async () => {
        const now = Date.now();
        const { uid } = await user(now, 3);
        const s = newSession(now);
        await stores.accounts.signIn(uid, profile(`sub-${uid}`), s, { maxSessions: 1 });
        expect(await ids(uid, now + 1)).toEqual([s.id]);
        for (let i = 0; i < 3; i++) await stores.accounts.signIn(uid, profile(`sub-${uid}`), newSession(now + 5), { maxSessions: 0 });
        expect(await ids(uid, now + 6)).toHaveLength(4);
      });

      it('never touches another user’s sessions', async () => {
        const a = await user(Date.now(), 2);
        const b = await user(Date.now(), 2);
        await stores.accounts.signIn(a.uid, profile(`sub-${a.uid}`), newSession(a.now + 10), { maxSessions: 1 });
        expect(await ids(b.uid)).toEqual(b.sessions.map((s) => s.id).sort());
      });
    });

    describe('accounts.getIdentity', () => {
      it('returns the linked id, or null; never links', async () => {
        const sub = `g-${id()}`;
        expect(await stores.accounts.getIdentity('google', sub)).toBeNull();
        expect(await stores.accounts.getIdentity('google', sub)).toBeNull();
        const uid = id();
        await stores.accounts.linkIdentity('google', sub, uid);
        expect(await stores.accounts.getIdentity('google', sub)).toBe(uid);
      });
    });

    describe('accounts.setDisabled', () => {
      it('disabling sets the flag and ends every session at once; enabling clears it and ends nothing', async () => {
        const { uid, sessions, now } = await user(Date.now(), 3);
        const other = await user(now, 1);
        expect(await stores.accounts.setDisabled(uid, true)).toEqual({ found: true, sessionsEnded: 3 });
        const seen = await stores.sessions.getSessionWithUser(uid, sessions[0]!.id);
        expect(seen.session).toBeNull();
        expect(seen.user?.disabled).toBe(true);
        expect(await stores.sessions.listSessions(uid, now)).toEqual([]);
        expect(await stores.accounts.setDisabled(uid, true)).toEqual({ found: true, sessionsEnded: 0 });
        expect(await stores.accounts.setDisabled(uid, false)).toEqual({ found: true, sessionsEnded: 0 });
        expect((await stores.accounts.getUsers([uid]))[0]?.disabled).toBe(false);
        expect(await ids(other.uid)).toEqual([other.sessions[0]!.id]);
      });

      it('is found: false (and creates nothing) for an unknown user', async () => {
        const uid = id();
        expect(await stores.accounts.setDisabled(uid, true)).toEqual({ found: false, sessionsEnded: 0 });
        expect(await stores.accounts.setDisabled(uid, false)).toEqual({ found: false, sessionsEnded: 0 });
        expect(await stores.accounts.getUsers([uid])).toEqual([null]);
      });

      it('makes sign-in write nothing for a disabled user: no session, no profile change', async () => {
        const { uid, now } = await user(Date.now(), 1);
        await stores.accounts.setDisabled(uid, true);
        const before = (await stores.accounts.getUsers([uid]))[0]!;
        const s = newSession(now + 100);
        const got = await stores.accounts.signIn(uid, profile(`sub-${uid}`, { name: 'Changed' }), s, { maxSessions: 5 });
        expect(got).toEqual({ user: before, isNewUser: false });
        expect((await stores.sessions.getSessionWithUser(uid, s.id)).session).toBeNull();
        expect((await stores.accounts.getUsers([uid]))[0]).toEqual(before);
        await stores.accounts.setDisabled(uid, false);
        const again = await stores.accounts.signIn(uid, profile(`sub-${uid}`, { name: 'Changed' }), s);
        expect(again.user).toMatchObject({ name: 'Changed', disabled: false });
        expect(await ids(uid, now + 101)).toEqual([s.id]);
      });
    });

    describe('accounts.deleteAccount', () => {
      it('removes the user, the identity link and every session; the next link is a new id', async () => {
        const { uid, sessions, now } = await user(Date.now(), 2);
        const sub = `sub-${uid}`;
        await stores.accounts.linkIdentity('google', sub, uid);
        await stores.sessions.rotateRefreshToken(uid, sessions[0]!.id, rotateInput(now + 1, sessions[0]!.refreshHash));
        const bystander = await user(now, 1);
        expect(await stores.accounts.deleteAccount(uid)).toBe(true);
        expect(await stores.accounts.getUsers([uid])).toEqual([null]);
        expect(await stores.accounts.getIdentity('google', sub)).toBeNull();
        for (const s of sessions) expect(await stores.sessions.getSessionWithUser(uid, s.id)).toEqual({ session: null, user: null });
        expect(await stores.sessions.listSessions(uid, now)).toEqual([]);
        // The rotated session's previous token gets no grace answer.
        expect(await stores.sessions.rotateRefreshToken(uid, sessions[0]!.id, rotateInput(now + 2, sessions[0]!.refreshHash))).toEqual({ kind: 'not_found' });
        const fresh = id();
        expect(await stores.accounts.linkIdentity('google', sub, fresh)).toBe(fresh);
        expect(await ids(bystander.uid)).toEqual([bystander.sessions[0]!.id]);
        expect(await stores.accounts.deleteAccount(uid)).toBe(false);
      });

      it('leaves an identity that already names another user alone', async () => {
        const { uid } = await user(Date.now(), 1);
        const sub = `sub-${uid}`;
        const other = id();
        await stores.accounts.linkIdentity('google', sub, other); // someone else holds the link
        expect(await stores.accounts.deleteAccount(uid)).toBe(true);
        expect(await stores.accounts.getIdentity('google', sub)).toBe(other);
      });
    });

    describe('sessions.revokeAllSessions', () => {
      it('ends every session but the kept one and counts them; null ends all', async () => {
        const { uid, sessions, now } = await user(Date.now(), 4);
        const bystander = await user(now, 2);
        await stores.sessions.rotateRefreshToken(uid, sessions[1]!.id, rotateInput(now + 1, sessions[1]!.refreshHash));
        expect(await stores.sessions.revokeAllSessions(uid, sessions[0]!.id)).toBe(3);
        expect(await ids(uid, now)).toEqual([sessions[0]!.id]);
        expect(await stores.sessions.rotateRefreshToken(uid, sessions[1]!.id, rotateInput(now + 2, sessions[1]!.refreshHash))).toEqual({ kind: 'not_found' });
        expect(await stores.sessions.revokeAllSessions(uid, sessions[0]!.id)).toBe(0);
        expect(await stores.sessions.revokeAllSessions(uid, null)).toBe(1);
        expect(await ids(uid, now)).toEqual([]);
        expect(await stores.sessions.revokeAllSessions(uid, null)).toBe(0);
        expect(await stores.sessions.revokeAllSessions(id(), null)).toBe(0);
        expect(await ids(bystander.uid)).toHaveLength(2);
      });

      it('does not count a session whose record already expired', async () => {
        const now = Date.now();
        const { uid } = await user(now, 1, { refreshExpiresAt: now + 200 });
        await stores.accounts.signIn(uid, profile(`sub-${uid}`), newSession(now));
        await sleep(300);
        expect(await stores.sessions.revokeAllSessions(uid, null)).toBe(1);
      });
    });

    describe('sessions.touchSession', () => {
      it('moves lastSeenAt forward only, and a later refresh keeps the latest of the two', async () => {
        const { uid, sessions, now } = await user(Date.now(), 1);
        const sid = sessions[0]!.id;
        const seen = async () => (await stores.sessions.getSessionWithUser(uid, sid)).session?.lastSeenAt;
        await stores.sessions.touchSession(uid, sid, now + 60_000);
        expect(await seen()).toBe(now + 60_000);
        await stores.sessions.touchSession(uid, sid, now + 30_000);
        expect(await seen()).toBe(now + 60_000);
        await stores.sessions.rotateRefreshToken(uid, sid, rotateInput(now + 45_000, sessions[0]!.refreshHash));
        expect(await seen()).toBe(now + 60_000);
        await stores.sessions.touchSession(uid, sid, now + 120_000);
        expect(await seen()).toBe(now + 120_000);
        expect((await stores.sessions.listSessions(uid, now))[0]?.lastSeenAt).toBe(now + 120_000);
      });

      it('does not bring back a revoked or unknown session', async () => {
        const { uid, sessions, now } = await user(Date.now(), 1);
        await stores.sessions.revokeSession(uid, sessions[0]!.id);
        await stores.sessions.touchSession(uid, sessions[0]!.id, now + 60_000);
        await stores.sessions.touchSession(id(), id(), now + 60_000);
        expect((await stores.sessions.getSessionWithUser(uid, sessions[0]!.id)).session).toBeNull();
        await expect(stores.sessions.touchSession(uid, sessions[0]!.id, now + 0.5)).rejects.toThrow(TypeError);
      });
    });

    describe('signInGuards: nonces', () => {
      it('consumes a nonce once; an unknown one is refused', async () => {
        const now = Date.now();
        const n = hash();
        await stores.signInGuards.putNonce(n, now + 600_000, now);
        expect(await stores.signInGuards.consumeNonce(n, now + 1)).toBe(true);
        expect(await stores.signInGuards.consumeNonce(n, now + 2)).toBe(false);
        expect(await stores.signInGuards.consumeNonce(hash(), now)).toBe(false);
      });

      it('refuses (and spends) a nonce whose expiry `now` has reached', async () => {
        const now = Date.now();
        const n = hash();
        await stores.signInGuards.putNonce(n, now + 600_000, now);
        expect(await stores.signInGuards.consumeNonce(n, now + 600_000)).toBe(false);
        expect(await stores.signInGuards.consumeNonce(n, now)).toBe(false);
      });

      it('lets exactly one of 20 concurrent sign-ins consume a nonce', async () => {
        const now = Date.now();
        const n = hash();
        await stores.signInGuards.putNonce(n, now + 600_000, now);
        const got = await Promise.all(Array.from({ length: 20 }, () => stores.signInGuards.consumeNonce(n, now)));
        expect(got.filter(Boolean)).toHaveLength(1);
      });

      it('forgets a nonce when its lifetime passes, by the store’s own clock', async () => {
        const now = Date.now();
        const n = hash();
        await stores.signInGuards.putNonce(n, now + 150, now);
        await sleep(250);
        expect(await stores.signInGuards.consumeNonce(n, now)).toBe(false);
      });
    });

    describe('signInGuards: used ID tokens', () => {
      it('accepts a token once until it expires, then forgets it', async () => {
        const now = Date.now();
        const t = hash();
        expect(await stores.signInGuards.markIdTokenUsed(t, now + 150, now)).toBe(true);
        expect(await stores.signInGuards.markIdTokenUsed(t, now + 150, now)).toBe(false);
        expect(await stores.signInGuards.markIdTokenUsed(hash(), now + 150, now)).toBe(true);
        await sleep(250);
        expect(await stores.signInGuards.markIdTokenUsed(t, now + 600_000, now)).toBe(true);
      });

      it('lets exactly one of 20 concurrent sign-ins with one token through', async () => {
        const now = Date.now();
        const t = hash();
        const got = await Promise.all(Array.from({ length: 20 }, () => stores.signInGuards.markIdTokenUsed(t, now + 60_000, now)));
        expect(got.filter(Boolean)).toHaveLength(1);
      });
    });
  });
}
