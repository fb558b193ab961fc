import { describe, expect, it } from '@jest/globals';
import type { IdentityRecord, ProfileWrite, Stores } from '../../src/store/types.js';
import { drafts, eventsAfter, lastCursor } from '../events/helpers.js';
import { appleIdentity, googleIdentity, id, newSession, profile, write, type ContractContext } from './contract-fixtures.js';

/**
 * Store contract, part three: an account's identities (src/store/types.ts AccountStore
 * getIdentities … retire, and the identity side of writeSession and setAccountState) and the
 * identity links' compare-and-set. What they decide is src/users/identity-policy.ts's (its
 * table: test/users/identity-policy.test.ts); these tests check each store applies it.
 */
export function identityContract(ctx: ContractContext): void {
  const s = (): Stores => ctx.stores;
  const now = () => ctx.backend.now();
  const apple = (over: Partial<ProfileWrite> = {}): ProfileWrite => ({ set: { email: 'x@privaterelay.appleid.com', emailVerified: true }, names: null, ...over });
  const identities = async (uid: string): Promise<IdentityRecord[]> => (await s().accounts.getIdentities([uid]))[0]!;

  /** An account created by a Google sign-in, at `t`. */
  async function googleAccount(t = now()) {
    const uid = id();
    const p = profile(`sub-${uid}`, { picture: 'https://example.com/p.png', locale: 'fr', hostedDomain: 'example.com' });
    expect((await s().accounts.writeSession(write(uid, newSession(t), { profile: p }))).kind).toBe('written');
    return { uid, p, t };
  }

  describe('accounts: identities', () => {
    it('an Apple sign-in creates the account with its Apple identity, and the names the app sent', async () => {
      const uid = id();
      const t = now();
      const identity = appleIdentity(`a-${uid}`);
      const names = { name: 'Ada Lovelace', givenName: 'Ada', familyName: 'Lovelace' };
      const got = await s().accounts.writeSession(write(uid, newSession(t), { identity, profile: apple({ names }) }));
      expect(got).toMatchObject({ kind: 'written', isNewUser: true, user: { email: 'x@privaterelay.appleid.com', emailVerified: true, ...names, picture: null, locale: null, hostedDomain: null } });
      expect(await identities(uid)).toEqual([{ ...identity, linkedAt: t, pending: false }]);
    });

    it('keeps a name: names from the app fill an account with none, never replace or clear one', async () => {
      const uid = id();
      const identity = appleIdentity(`a-${uid}`);
      await s().accounts.writeSession(write(uid, newSession(now()), { identity, profile: apple() }));
      expect((await s().accounts.getUsers([uid]))[0]).toMatchObject({ name: null, givenName: null, familyName: null });
      await s().accounts.writeSession(write(uid, newSession(now() + 1), { identity, profile: apple({ names: { name: 'Ada', givenName: 'Ada', familyName: null } }), mustExist: true }));
      expect((await s().accounts.getUsers([uid]))[0]).toMatchObject({ name: 'Ada', givenName: 'Ada', familyName: null });
      await s().accounts.writeSession(write(uid, newSession(now() + 2), { identity, profile: apple({ names: { name: 'Eve Mallory', givenName: 'Eve', familyName: 'Mallory' } }), mustExist: true }));
      await s().accounts.writeSession(write(uid, newSession(now() + 3), { identity, profile: apple(), mustExist: true }));
      expect((await s().accounts.getUsers([uid]))[0]).toMatchObject({ name: 'Ada', givenName: 'Ada', familyName: null });
    });

    it('an Apple sign-in writes only the email: what Google reported (names, picture, locale, domain) stays', async () => {
      const { uid, p } = await googleAccount();
      expect((await s().accounts.addIdentity(uid, appleIdentity(`a-${uid}`), now())).kind).toBe('added');
      expect(await s().accounts.confirmIdentity(uid, 'apple', `a-${uid}`)).toBe(true);
      const t = now() + 10;
      const got = await s().accounts.writeSession(write(uid, newSession(t), { identity: appleIdentity(`a-${uid}`), profile: apple({ names: { name: 'X', givenName: 'X', familyName: null } }), mustExist: true }));
      const { sub: _sub, ...google } = p;
      expect(got).toMatchObject({ kind: 'written', isNewUser: false, user: { ...google, email: 'x@privaterelay.appleid.com', lastSignInAt: t } });
      // Without an email in the token, the account's stays too.
      await s().accounts.writeSession(write(uid, newSession(t + 1), { identity: appleIdentity(`a-${uid}`, { email: null, emailVerified: false }), profile: { set: {}, names: null }, mustExist: true }));
      expect((await s().accounts.getUsers([uid]))[0]).toMatchObject({ email: 'x@privaterelay.appleid.com', emailVerified: true, name: p.name });
      expect((await identities(uid)).find((i) => i.provider === 'apple')).toMatchObject({ email: null, emailVerified: false, isPrivateEmail: true });
    });

    it('a sign-in to an account that does not list the identity writes nothing (not_linked)', async () => {
      const { uid } = await googleAccount();
      const before = await s().accounts.getUsers([uid]);
      const session = newSession(now() + 1);
      expect(await s().accounts.writeSession(write(uid, session, { identity: appleIdentity('nobody'), profile: apple(), mustExist: true }))).toEqual({ kind: 'not_linked' });
      expect(await s().accounts.writeSession(write(uid, newSession(now() + 1), { profile: profile('another-google-sub'), mustExist: false }))).toEqual({ kind: 'not_linked' });
      expect(await s().accounts.readSession(uid, session.id)).toEqual({ session: null, user: before[0] });
      expect(await identities(uid)).toHaveLength(1);
    });

    it('linking: pending first (not the account’s yet), confirmed, then the same identity again keeps its link time', async () => {
      const { uid, t } = await googleAccount();
      const a = appleIdentity(`a-${uid}`);
      expect(await s().accounts.addIdentity(uid, a, t + 5)).toEqual({ kind: 'added' });
      expect(await identities(uid)).toEqual([expect.objectContaining({ provider: 'google', pending: false }), { ...a, linkedAt: t + 5, pending: true }]);
      expect(await s().accounts.confirmIdentity(uid, 'apple', 'another-sub')).toBe(false);
      expect(await s().accounts.confirmIdentity(uid, 'apple', a.subject)).toBe(true);
      expect(await s().accounts.confirmIdentity(uid, 'apple', a.subject)).toBe(true);
      expect(await s().accounts.addIdentity(uid, { ...a, email: 'new@privaterelay.appleid.com' }, t + 9)).toEqual({ kind: 'added' });
      expect((await identities(uid))[1]).toEqual({ ...a, email: 'new@privaterelay.appleid.com', linkedAt: t + 5, pending: false });
    });

    it('linking: an abandoned pending identity is replaced; a linked one of the provider is provider_taken', async () => {
      const { uid, t } = await googleAccount();
      await s().accounts.addIdentity(uid, appleIdentity('first'), t + 1);
      expect(await s().accounts.addIdentity(uid, appleIdentity('second'), t + 2)).toEqual({ kind: 'added' });
      expect((await identities(uid))[1]).toMatchObject({ subject: 'second', linkedAt: t + 2, pending: true });
      await s().accounts.confirmIdentity(uid, 'apple', 'second');
      expect(await s().accounts.addIdentity(uid, appleIdentity('third'), t + 3)).toEqual({ kind: 'provider_taken' });
      expect(await s().accounts.addIdentity(uid, googleIdentity(profile('other-google')), t + 3)).toEqual({ kind: 'provider_taken' });
      expect((await identities(uid)).map((i) => i.subject)).toEqual([`sub-${uid}`, 'second']);
    });

    it('linking: gone for an unknown or retired account, account_disabled for a disabled one; confirm false for an unknown account', async () => {
      expect(await s().accounts.addIdentity(id(), appleIdentity('x'), now())).toEqual({ kind: 'gone' });
      const retired = id();
      expect(await s().accounts.retire(retired)).toBe(true);
      expect(await s().accounts.addIdentity(retired, appleIdentity('x'), now())).toEqual({ kind: 'gone' });
      const { uid } = await googleAccount();
      await s().accounts.setAccountState(uid, 'disabled', now());
      expect(await s().accounts.addIdentity(uid, appleIdentity('x'), now())).toEqual({ kind: 'account_disabled' });
      expect(await identities(uid)).toHaveLength(1);
      expect(await s().accounts.confirmIdentity(id(), 'apple', 'x')).toBe(false);
    });

    it('a sign-in with a pending identity (its link already leads here) signs in and confirms it', async () => {
      const { uid } = await googleAccount();
      await s().accounts.addIdentity(uid, appleIdentity(`a-${uid}`), now());
      const got = await s().accounts.writeSession(write(uid, newSession(now() + 1), { identity: appleIdentity(`a-${uid}`), profile: apple(), mustExist: true }));
      expect(got).toMatchObject({ kind: 'written', isNewUser: false });
      expect((await identities(uid)).find((i) => i.provider === 'apple')).toMatchObject({ pending: false });
    });

    it('unlinking: never the last linked identity; a pending one never counts and always goes; a subject that changed is not_linked', async () => {
      const { uid } = await googleAccount();
      expect(await s().accounts.removeIdentity(uid, 'google', { subject: null, keepLast: true, now: 1 })).toEqual({ kind: 'last_identity' });
      await s().accounts.addIdentity(uid, appleIdentity('pending'), now());
      expect(await s().accounts.removeIdentity(uid, 'google', { subject: `sub-${uid}`, keepLast: true, now: 1 })).toEqual({ kind: 'last_identity' });
      expect(await s().accounts.removeIdentity(uid, 'apple', { subject: 'other', keepLast: true, now: 1 })).toEqual({ kind: 'not_linked' });
      expect(await s().accounts.removeIdentity(uid, 'apple', { subject: 'pending', keepLast: true, now: 1 })).toEqual({ kind: 'removed', subject: 'pending' });
      await s().accounts.addIdentity(uid, appleIdentity('linked'), now());
      await s().accounts.confirmIdentity(uid, 'apple', 'linked');
      expect(await s().accounts.removeIdentity(uid, 'google', { subject: null, keepLast: true, now: 1 })).toEqual({ kind: 'removed', subject: `sub-${uid}` });
      expect(await s().accounts.removeIdentity(uid, 'google', { subject: null, keepLast: true, now: 1 })).toEqual({ kind: 'not_linked' });
      expect(await s().accounts.removeIdentity(uid, 'apple', { subject: null, keepLast: true, now: 1 })).toEqual({ kind: 'last_identity' });
      expect(await s().accounts.removeIdentity(uid, 'apple', { subject: 'linked', keepLast: false, now: 1 })).toEqual({ kind: 'removed', subject: 'linked' });
      expect(await identities(uid)).toEqual([]);
      expect(await s().accounts.removeIdentity(id(), 'apple', { subject: null, keepLast: false, now: 1 })).toEqual({ kind: 'not_linked' });
    });

    it('an unlinked identity no longer signs in to the account (its stale link is not_linked)', async () => {
      const { uid } = await googleAccount();
      await s().accounts.addIdentity(uid, appleIdentity('a'), now());
      await s().accounts.confirmIdentity(uid, 'apple', 'a');
      await s().accounts.removeIdentity(uid, 'google', { subject: null, keepLast: true, now: 1 });
      expect(await s().accounts.writeSession(write(uid, newSession(now() + 1), { mustExist: true }))).toEqual({ kind: 'not_linked' });
    });

    it('retiring: refused for an existing account; a retired id is never created by a sign-in', async () => {
      const { uid } = await googleAccount();
      expect(await s().accounts.retire(uid)).toBe(false);
      expect((await s().accounts.writeSession(write(uid, newSession(now() + 1), { mustExist: true }))).kind).toBe('written');
      const dangling = id();
      expect(await s().accounts.retire(dangling)).toBe(true);
      expect(await s().accounts.writeSession(write(dangling, newSession(now())))).toEqual({ kind: 'gone' });
      expect(await s().accounts.getUsers([dangling])).toEqual([null]);
    });

    it('deleting answers the identities the account had, pending ones included, and keeps none', async () => {
      const { uid } = await googleAccount();
      await s().accounts.addIdentity(uid, appleIdentity('pending'), now());
      const { identities: had } = await s().accounts.setAccountState(uid, 'deleted', now());
      expect([...had].sort((a, b) => a.provider.localeCompare(b.provider))).toEqual([
        { provider: 'apple', subject: 'pending' },
        { provider: 'google', subject: `sub-${uid}` },
      ]);
      expect(await s().accounts.getIdentities([uid])).toEqual([[]]);
    });

    it('lists each account’s identities oldest first (then by provider), several accounts in one call, [] for an unknown one', async () => {
      const { uid, t } = await googleAccount();
      await s().accounts.addIdentity(uid, appleIdentity('a'), t - 1);
      const other = await googleAccount(t + 7);
      const [mine, theirs, none] = await s().accounts.getIdentities([uid, other.uid, id()]);
      expect(mine!.map((i) => [i.provider, i.linkedAt])).toEqual([
        ['apple', t - 1],
        ['google', t],
      ]);
      expect(theirs!.map((i) => [i.provider, i.linkedAt])).toEqual([['google', t + 7]]);
      expect(none).toEqual([]);
    });
  });

  describe('accounts: identities and account events', () => {
    it('an Apple sign-in: user.created with the names the app sent; on a Google account user.updated with the email only; not_linked appends nothing', async () => {
      const during = async (uid: string, step: () => Promise<unknown>) => {
        const cursor = await lastCursor(s());
        await step();
        return drafts(await eventsAfter(s(), cursor, uid));
      };
      const fresh = id();
      const names = { name: 'Ada Lovelace', givenName: 'Ada', familyName: 'Lovelace' };
      expect(await during(fresh, () => s().accounts.writeSession(write(fresh, newSession(now()), { identity: appleIdentity(`a-${fresh}`), profile: apple({ names }) })))).toEqual([
        { type: 'user.created', data: { profile: { email: 'x@privaterelay.appleid.com', emailVerified: true, ...names, picture: null, locale: null, hostedDomain: null } } },
      ]);
      const { uid } = await googleAccount();
      await s().accounts.addIdentity(uid, appleIdentity(`a-${uid}`), now());
      await s().accounts.confirmIdentity(uid, 'apple', `a-${uid}`);
      const viaApple = () => s().accounts.writeSession(write(uid, newSession(now() + 1), { identity: appleIdentity(`a-${uid}`), profile: apple({ names }), mustExist: true }));
      expect(await during(uid, viaApple)).toEqual([{ type: 'user.updated', data: { changes: { email: 'x@privaterelay.appleid.com' } } }]);
      expect(await during(uid, viaApple)).toEqual([]);
      expect(await during(uid, () => s().accounts.writeSession(write(uid, newSession(now() + 2), { identity: appleIdentity('someone-else'), profile: apple(), mustExist: true })))).toEqual([]);
    });
  });

  describe('identities.relink', () => {
    it('points a link at another account only while it names the expected one', async () => {
      const [a, b, c] = [id(), id(), id()];
      const sub = `r-${a}`;
      await s().identities.link('apple', sub, a);
      expect(await s().identities.relink('apple', sub, c, b)).toBe(false);
      expect(await s().identities.get('apple', sub)).toBe(a);
      expect(await s().identities.relink('apple', sub, a, b)).toBe(true);
      expect(await s().identities.get('apple', sub)).toBe(b);
      expect(await s().identities.relink('apple', `none-${a}`, a, b)).toBe(false);
      expect(await s().identities.get('apple', `none-${a}`)).toBeNull();
    });
  });
}
