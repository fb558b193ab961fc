import { describe, expect, it } from '@jest/globals';
import { EVENT_DONE_KEEP_MS } from '../../src/risc/policy.js';
import { RECORDED_SECURITY_EVENTS, type AccountSecurityWrite, type RecordedSecurityEvent, type Stores } from '../../src/store/types.js';
import { drafts, eventsAfter, lastCursor } from '../events/helpers.js';
import { expectValid } from './contract-events.js';
import { appleIdentity, id, newSession, profile, write, type ContractContext } from './contract-fixtures.js';

/**
 * Store contract, part five: Google Cross-Account Protection's records (src/store/types.ts
 * SecurityEventStore, IdentityStore.signInLink). What they decide is src/risc/policy.ts's (its
 * tables: test/risc/policy-cases.ts); these tests check each store applies it, in its slots
 * (on Cluster: the identity's state in its link's slot, the account's action in `{uid}`).
 */
export function securityContract(ctx: ContractContext): void {
  const s = (): Stores => ctx.stores;
  const now = () => ctx.backend.now();
  const entry = (over: Partial<RecordedSecurityEvent> = {}): RecordedSecurityEvent => ({ type: 'sessions-revoked', reason: null, action: 'sessions_ended', issuedAt: 1_700_000_000, receivedAt: now(), ...over });
  const act = (sub: string, over: Partial<AccountSecurityWrite> = {}): AccountSecurityWrite => ({ provider: 'google', subject: sub, endSessions: false, lock: null, entry: entry(), now: now(), ...over });

  async function googleAccount(sessions = 1) {
    const uid = id();
    const sub = `sub-${uid}`;
    const sids: string[] = [];
    for (let i = 0; i < sessions; i++) {
      const session = newSession(now());
      sids.push(session.id);
      expect((await s().accounts.writeSession(write(uid, session, { profile: profile(sub) }))).kind).toBe('written');
    }
    return { uid, sub, sids };
  }

  describe('security events (Cross-Account Protection)', () => {
    it('signInLink links as link does, and refuses a locked identity or a token from before a revocation without linking', async () => {
      const sub = `g-${id()}`;
      const uid = id();
      expect(await s().identities.signInLink('google', sub, uid, 1_700_000_000)).toEqual({ kind: 'linked', userId: uid, created: true });
      expect(await s().identities.signInLink('google', sub, id(), 1_700_000_000)).toEqual({ kind: 'linked', userId: uid, created: false });
      const other = `g-${id()}`;
      await s().securityEvents.apply('google', other, { kind: 'revoke', at: 1_700_000_100 });
      expect(await s().identities.signInLink('google', other, id(), 1_700_000_099)).toEqual({ kind: 'revoked' });
      await s().securityEvents.apply('google', other, { kind: 'lock', reason: 'disabled', at: 1_700_000_200 });
      expect(await s().identities.signInLink('google', other, id(), 1_700_000_300)).toEqual({ kind: 'locked' });
      expect(await s().identities.get('google', other)).toBeNull();
      // Another provider's identity with the same subject is another identity.
      expect((await s().identities.signInLink('apple', other, uid, 1_700_000_300)).kind).toBe('linked');
      await s().securityEvents.apply('google', other, { kind: 'unlock', at: 1_700_000_201 });
      expect((await s().identities.signInLink('google', other, uid, 1_700_000_300)).kind).toBe('linked');
    });

    it('a peer instance sees the state at once', async () => {
      const sub = `g-${id()}`;
      const peer = await ctx.backend.peer();
      expect(await s().securityEvents.apply('google', sub, { kind: 'lock', reason: 'hijacking', at: 5 })).toEqual({ state: { locked: 'hijacking', changedAt: 5, notBefore: 5 }, changed: 'locked' });
      expect(await peer.securityEvents.state('google', sub)).toEqual({ locked: 'hijacking', changedAt: 5, notBefore: 5 });
      expect(await peer.securityEvents.state('google', `g-${id()}`)).toBeNull();
    });

    it('recordOnAccount ends every session with provider_security_event revocations and records the entry, newest first', async () => {
      const { uid, sub, sids } = await googleAccount(3);
      const cursor = await lastCursor(s());
      expect(await s().securityEvents.recordOnAccount(uid, act(sub, { endSessions: true }))).toEqual({ found: true, sessionsEnded: 3 });
      for (const sid of sids) expect((await s().accounts.readSession(uid, sid)).session).toBeNull();
      const ended = await eventsAfter(s(), cursor, uid);
      expectValid(ended);
      expect(drafts(ended)).toEqual([...sids].sort().map((sessionId) => ({ type: 'session.revoked', data: { sessionId, reason: 'provider_security_event' } })));
      await s().securityEvents.recordOnAccount(uid, act(sub, { entry: entry({ type: 'token-revoked', action: 'recorded' }) }));
      expect((await s().securityEvents.recorded(uid)).map((e) => e.type)).toEqual(['token-revoked', 'sessions-revoked']);
    });

    it('the lock marker: identity.locked once, then identity.unlocked; sessions stay unless asked', async () => {
      const { uid, sub, sids } = await googleAccount(1);
      const cursor = await lastCursor(s());
      await s().securityEvents.recordOnAccount(uid, act(sub, { lock: 'disabled' }));
      await s().securityEvents.recordOnAccount(uid, act(sub, { lock: 'disabled' }));
      await s().securityEvents.recordOnAccount(uid, act(sub, { lock: 'none' }));
      expect((await s().accounts.readSession(uid, sids[0]!)).session).not.toBeNull();
      const events = await eventsAfter(s(), cursor, uid);
      expectValid(events);
      expect(drafts(events)).toEqual([
        { type: 'identity.locked', data: { provider: 'google', reason: 'disabled' } },
        { type: 'identity.unlocked', data: { provider: 'google' } },
      ]);
      // The marker is not part of the identity as listed.
      expect((await s().accounts.getIdentities([uid]))[0]!.map((i) => i.provider)).toEqual(['google']);
    });

    it('a sign-in that took its link before the lock writes no session after it; after the unlock it does', async () => {
      const { uid, sub } = await googleAccount(1);
      await s().securityEvents.recordOnAccount(uid, act(sub, { lock: 'hijacking', endSessions: true }));
      const late = newSession(now());
      expect(await s().accounts.writeSession(write(uid, late, { profile: profile(sub), mustExist: true }))).toEqual({ kind: 'identity_locked' });
      expect((await s().accounts.readSession(uid, late.id)).session).toBeNull();
      // Another identity of the account is not locked by it.
      const apple = appleIdentity(`a-${uid}`);
      expect((await s().accounts.addIdentity(uid, apple, now())).kind).toBe('added');
      expect((await s().accounts.writeSession(write(uid, newSession(now()), { identity: apple, profile: { set: { email: apple.email, emailVerified: true }, names: null }, mustExist: true }))).kind).toBe('written');
      await s().securityEvents.recordOnAccount(uid, act(sub, { lock: 'none' }));
      expect((await s().accounts.writeSession(write(uid, newSession(now()), { profile: profile(sub), mustExist: true }))).kind).toBe('written');
    });

    it('writes nothing for an unknown account, or one that does not list the identity', async () => {
      const { uid, sids } = await googleAccount(1);
      const cursor = await lastCursor(s());
      expect(await s().securityEvents.recordOnAccount(uid, act('someone-else', { endSessions: true, lock: 'hijacking' }))).toEqual({ found: false, sessionsEnded: 0 });
      expect(await s().securityEvents.recordOnAccount(id(), act('x', { endSessions: true }))).toEqual({ found: false, sessionsEnded: 0 });
      expect((await s().accounts.readSession(uid, sids[0]!)).session).not.toBeNull();
      expect(await s().securityEvents.recorded(uid)).toEqual([]);
      expect(await eventsAfter(s(), cursor, uid)).toEqual([]);
    });

    it('an account whose Google identity was unlinked is not acted on; its Apple identity is another identity', async () => {
      const { uid, sub } = await googleAccount(1);
      const apple = appleIdentity(`a-${uid}`);
      expect((await s().accounts.addIdentity(uid, apple, now())).kind).toBe('added');
      expect(await s().accounts.confirmIdentity(uid, 'apple', apple.subject)).toBe(true);
      expect((await s().accounts.removeIdentity(uid, 'google', { subject: sub, keepLast: true, now: now() })).kind).toBe('removed');
      expect((await s().securityEvents.recordOnAccount(uid, act(sub, { endSessions: true }))).found).toBe(false);
    });

    it(`keeps the last ${RECORDED_SECURITY_EVENTS} recorded events`, async () => {
      const { uid, sub } = await googleAccount(1);
      for (let i = 0; i < RECORDED_SECURITY_EVENTS + 3; i++) await s().securityEvents.recordOnAccount(uid, act(sub, { entry: entry({ issuedAt: i }) }));
      const got = await s().securityEvents.recorded(uid);
      expect(got).toHaveLength(RECORDED_SECURITY_EVENTS);
      expect(got[0]!.issuedAt).toBe(RECORDED_SECURITY_EVENTS + 2);
    });

    it('claim then settle: one claim wins, done is final, a released claim is claimed again, a lease runs out', async () => {
      const ev = id();
      const peer = await ctx.backend.peer();
      const [x, y] = await Promise.all([s().securityEvents.claim(ev, 'a', 30_000), peer.securityEvents.claim(ev, 'b', 30_000)]);
      expect([x, y].sort()).toEqual(['busy', 'claimed']);
      const winner = x === 'claimed' ? 'a' : 'b';
      expect(await s().securityEvents.settle(ev, winner === 'a' ? 'b' : 'a', 'done', EVENT_DONE_KEEP_MS)).toBe(false);
      expect(await s().securityEvents.settle(ev, winner, 'done', EVENT_DONE_KEEP_MS)).toBe(true);
      expect(await peer.securityEvents.claim(ev, 'c', 30_000)).toBe('done');

      const crashed = id();
      expect(await s().securityEvents.claim(crashed, 'dead', 30_000)).toBe('claimed');
      await ctx.backend.elapse(31_000);
      expect(await peer.securityEvents.claim(crashed, 'retry', 30_000)).toBe('claimed');
      expect(await s().securityEvents.settle(crashed, 'dead', 'done', EVENT_DONE_KEEP_MS)).toBe(false);
    });
  });
}
