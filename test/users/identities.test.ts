import { describe, expect, it } from '@jest/globals';
import { keyLayout } from '../../src/store/keys.js';
import type { Stores } from '../../src/store/types.js';
import { usePrivateRedis } from '../support/env.js';
import { RoundTripProxy } from '../store/round-trip-proxy.js';
import { idToken, meta, newProfile, overriding, type Harness, useHarnesses, type Profile } from '../sessions/harness.js';
import { signal } from '../support/signal.js';

/**
 * Accounts with several identities through the use cases (src/users/identity-service.ts,
 * src/sessions/sign-in.ts, src/users/account-service.ts) on a real Redis, races included:
 * each race is forced by holding one side's store call until the other has run.
 */
const redis = usePrivateRedis();

describe('identities: link, unlink, sign in, delete', () => {
  const hs = useHarnesses(redis);
  const make = hs.make;

  const signIn = (h: Harness, provider: string, p: Profile, names: { givenName: string | null; familyName: string | null } | null = null) =>
    h.signIn.signIn({ provider, idToken: idToken(p, h.clock), nonce: null, names, meta });
  const link = (h: Harness, userId: string, provider: string, p: Profile) => h.identities.link(userId, { provider, idToken: idToken(p, h.clock), nonce: null, meta });
  const applePerson = (): Profile => ({ ...newProfile(), email: 'relay@privaterelay.appleid.com', isPrivateEmail: true, realUserStatus: 2, name: null });

  describe('signing in with Apple', () => {
    it('creates an account with the names the app sent, keeps them from the first sign-in only, and writes only the email', async () => {
      const h = await make();
      const p = applePerson();
      const first = await signIn(h, 'apple', p, { givenName: ' Ada ', familyName: 'Lovelace' });
      expect(first).toMatchObject({ isNewUser: true, user: { name: 'Ada Lovelace', givenName: 'Ada', familyName: 'Lovelace', email: 'relay@privaterelay.appleid.com' } });
      const later = await signIn(h, 'apple', p, { givenName: 'Eve', familyName: null });
      const blank = await signIn(h, 'apple', p, { givenName: '  ', familyName: '' });
      for (const s of [later, blank]) expect(s.user).toMatchObject({ id: first.user.id, name: 'Ada Lovelace', givenName: 'Ada', familyName: 'Lovelace' });
      expect(await h.identities.list(first.user.id)).toEqual([
        { provider: 'apple', subject: p.sub, email: p.email, emailVerified: true, isPrivateEmail: true, realUserStatus: 2, linkedAt: first.user.createdAt, pending: false },
      ]);
    });

    it('blank names are no names: the account stays nameless until names come', async () => {
      const h = await make();
      const p = applePerson();
      const first = await signIn(h, 'apple', p, { givenName: ' ', familyName: null });
      expect(first.user).toMatchObject({ name: null, givenName: null, familyName: null });
      expect((await signIn(h, 'apple', p, { givenName: null, familyName: 'Lovelace' })).user).toMatchObject({ name: 'Lovelace', givenName: null, familyName: 'Lovelace' });
    });

    it('three round trips, as for Google', async () => {
      const proxy = new RoundTripProxy(redis.server.port);
      await proxy.start();
      try {
        const h = await make({ url: proxy.url });
        await signIn(h, 'apple', applePerson()); // loads the scripts
        const p = applePerson();
        expect(await proxy.count(() => signIn(h, 'apple', p, { givenName: 'Ada', familyName: null }))).toBe(3);
        expect(await proxy.count(() => signIn(h, 'apple', p))).toBe(3);
      } finally {
        await proxy.stop();
      }
    });
  });

  describe('linking and unlinking', () => {
    it('a linked identity signs in to the same account from then on; unlinking it sends it to a new account', async () => {
      const h = await make();
      const g = newProfile();
      const a = applePerson();
      const account = await signIn(h, 'google', g);
      h.clock.advance(1000);
      const linked = await link(h, account.user.id, 'apple', a);
      expect(linked.id).toBe(account.user.id);
      expect((await h.identities.list(account.user.id)).map((i) => [i.provider, i.subject])).toEqual([
        ['google', g.sub],
        ['apple', a.sub],
      ]);
      const viaApple = await signIn(h, 'apple', a);
      expect(viaApple).toMatchObject({ isNewUser: false, user: { id: account.user.id, email: a.email, name: g.name } });
      // Linking it again changes nothing (and stays linked).
      await link(h, account.user.id, 'apple', a);
      expect(await h.identities.list(account.user.id)).toHaveLength(2);

      await h.identities.unlink(account.user.id, 'google');
      expect((await h.identities.list(account.user.id)).map((i) => i.provider)).toEqual(['apple']);
      expect(await h.stores.identities.get('google', g.sub)).toBeNull();
      const fresh = await signIn(h, 'google', g);
      expect(fresh.isNewUser).toBe(true);
      expect(fresh.user.id).not.toBe(account.user.id);
      // Unlinking what the account does not have changes nothing.
      expect((await h.identities.unlink(account.user.id, 'google')).id).toBe(account.user.id);
    });

    it('IDENTITY_ALREADY_LINKED: the identity is another account’s; nothing changes on either', async () => {
      const h = await make();
      const [mine, theirs] = [await signIn(h, 'google', newProfile()), await signIn(h, 'google', newProfile())];
      const a = applePerson();
      await link(h, theirs.user.id, 'apple', a);
      await expect(link(h, mine.user.id, 'apple', a)).rejects.toMatchObject({ extensions: { code: 'IDENTITY_ALREADY_LINKED' } });
      expect((await h.identities.list(mine.user.id)).map((i) => i.provider)).toEqual(['google']);
      expect(await h.stores.accounts.getIdentities([mine.user.id])).toEqual([[expect.objectContaining({ provider: 'google' })]]); // no pending left
      expect(await h.stores.identities.get('apple', a.sub)).toBe(theirs.user.id);
      expect((await signIn(h, 'apple', a)).user.id).toBe(theirs.user.id);
    });

    it('PROVIDER_ALREADY_LINKED: the account has another identity of that provider; LAST_IDENTITY: its only one', async () => {
      const h = await make();
      const g = newProfile();
      const account = await signIn(h, 'google', g);
      const other = newProfile();
      await expect(link(h, account.user.id, 'google', other)).rejects.toMatchObject({ extensions: { code: 'PROVIDER_ALREADY_LINKED' } });
      expect(await h.stores.identities.get('google', other.sub)).toBeNull();
      await expect(h.identities.unlink(account.user.id, 'google')).rejects.toMatchObject({ extensions: { code: 'LAST_IDENTITY' } });
      expect(await h.stores.identities.get('google', g.sub)).toBe(account.user.id);
    });

    it('linking spends a server nonce and honours REJECT_REPLAYED_ID_TOKENS, like a sign-in; a rejected token spends the failure budget', async () => {
      const h = await make({ rejectReplayedIdTokens: true, requireNonce: true, rateLimits: { authFailuresPerAddress: { limit: 3, windowMs: 60_000 } } });
      const { nonce } = await h.nonces.create();
      const account = await h.signIn.signIn({ provider: 'google', names: null, idToken: idToken(newProfile(), h.clock), nonce, meta });
      const a = applePerson();
      await expect(h.identities.link(account.user.id, { provider: 'apple', idToken: idToken(a, h.clock), nonce: null, meta })).rejects.toMatchObject({ reason: 'nonce_required' });
      await expect(h.identities.link(account.user.id, { provider: 'apple', idToken: idToken(a, h.clock), nonce, meta })).rejects.toMatchObject({ reason: 'invalid_nonce' });
      const token = idToken(a, h.clock);
      const fresh = (await h.nonces.create()).nonce;
      expect((await h.identities.link(account.user.id, { provider: 'apple', idToken: token, nonce: fresh, meta })).id).toBe(account.user.id);
      await expect(h.identities.link(account.user.id, { provider: 'apple', idToken: token, nonce: (await h.nonces.create()).nonce, meta })).rejects.toMatchObject({ reason: 'replayed' });
      // Three rejected tokens from this address: the next attempt is refused before verification.
      await expect(h.identities.link(account.user.id, { provider: 'apple', idToken: idToken(a, h.clock), nonce: (await h.nonces.create()).nonce, meta })).rejects.toMatchObject({
        extensions: { code: 'RATE_LIMITED' },
      });
    });

    it('an identity whose first sign-in failed after linking (a spent nonce) is taken over by linkIdentity', async () => {
      const h = await make();
      const a = applePerson();
      await expect(h.signIn.signIn({ provider: 'apple', names: null, idToken: idToken(a, h.clock), nonce: `sn_${'B'.repeat(43)}`, meta })).rejects.toMatchObject({ reason: 'invalid_nonce' });
      const dangling = await h.stores.identities.get('apple', a.sub);
      expect(dangling).not.toBeNull();
      const account = await signIn(h, 'google', newProfile());
      await link(h, account.user.id, 'apple', a);
      expect(await h.stores.identities.get('apple', a.sub)).toBe(account.user.id);
      expect(await hs.raw.exists(keyLayout(h.prefix).retired(dangling!))).toBe(1);
      expect((await signIn(h, 'apple', a)).user.id).toBe(account.user.id);
    });
  });

  describe('races', () => {
    it('two accounts link one identity at once: exactly one gets it, the other is refused and keeps nothing', async () => {
      const h = await make();
      const [x, y] = [await signIn(h, 'google', newProfile()), await signIn(h, 'google', newProfile())];
      const a = applePerson();
      const results = await Promise.allSettled([link(h, x.user.id, 'apple', a), link(h, y.user.id, 'apple', a)]);
      const won = results.findIndex((r) => r.status === 'fulfilled');
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect((results[1 - won] as PromiseRejectedResult).reason).toMatchObject({ extensions: { code: 'IDENTITY_ALREADY_LINKED' } });
      const [winner, loser] = won === 0 ? [x, y] : [y, x];
      expect(await h.stores.identities.get('apple', a.sub)).toBe(winner.user.id);
      expect((await h.stores.accounts.getIdentities([loser.user.id]))[0]!.map((i) => i.provider)).toEqual(['google']);
      expect((await signIn(h, 'apple', a)).user.id).toBe(winner.user.id);
    });

    it('a sign-in racing the unlink of its identity: it never lands in the account that let the identity go', async () => {
      // Hold the sign-in's session write until the unlink has removed the account's entry.
      const held = signal();
      let holdNext = false;
      const atWrite = signal();
      const h = await make({
        wrap: (s) =>
          overriding(s, {
            accounts: {
              writeSession: async (w) => {
                if (holdNext) {
                  holdNext = false;
                  atWrite.fire();
                  await held.reached;
                }
                return s.accounts.writeSession(w);
              },
            },
          }),
      });
      const g = newProfile();
      const a = applePerson();
      const account = await signIn(h, 'google', g);
      await link(h, account.user.id, 'apple', a);
      holdNext = true;
      const racing = signIn(h, 'apple', a); // reads the link (→ the account), then waits to write
      await atWrite.reached;
      await h.identities.unlink(account.user.id, 'apple');
      held.fire();
      const landed = await racing;
      expect(landed.user.id).not.toBe(account.user.id);
      expect(landed.isNewUser).toBe(true);
      expect(await h.stores.identities.get('apple', a.sub)).toBe(landed.user.id);
      expect((await h.identities.list(account.user.id)).map((i) => i.provider)).toEqual(['google']);
      expect(await hs.raw.zcard(keyLayout(h.prefix).sessionIndex(account.user.id))).toBe(1);
    });

    it('a sign-in whose link leads to an account mid-link (pending) signs in to it and completes the link', async () => {
      const held = signal();
      let holdConfirm = false;
      let confirming!: () => void;
      const atConfirm = new Promise<void>((r) => (confirming = r));
      const h = await make({
        wrap: (s) =>
          overriding(s, {
            accounts: {
              confirmIdentity: async (...args) => {
                if (holdConfirm) {
                  confirming();
                  await held.reached;
                }
                return s.accounts.confirmIdentity(...args);
              },
            },
          }),
      });
      const account = await signIn(h, 'google', newProfile());
      const a = applePerson();
      h.clock.advance(1000);
      holdConfirm = true;
      const linking = link(h, account.user.id, 'apple', a);
      await atConfirm; // pending entry and link taken, not yet confirmed
      const viaApple = await signIn(h, 'apple', a);
      expect(viaApple.user.id).toBe(account.user.id);
      expect((await h.identities.list(account.user.id)).map((i) => i.provider)).toEqual(['google', 'apple']); // the sign-in confirmed it
      held.fire();
      expect((await linking).id).toBe(account.user.id);
    });

    it('an in-flight first sign-in whose dangling link is taken over signs in to the account that took it', async () => {
      const held = signal();
      let hold = true;
      const atWrite = signal();
      const h = await make({
        wrap: (s) =>
          overriding(s, {
            accounts: {
              writeSession: async (w) => {
                if (hold && w.identity.provider === 'apple') {
                  hold = false;
                  atWrite.fire();
                  await held.reached;
                }
                return s.accounts.writeSession(w);
              },
            },
          }),
      });
      const account = await signIn(h, 'google', newProfile());
      const a = applePerson();
      const first = signIn(h, 'apple', a); // links a fresh id, then waits before creating it
      await atWrite.reached;
      await link(h, account.user.id, 'apple', a); // finds that id without an account: retires it, takes the link
      held.fire();
      expect((await first).user.id).toBe(account.user.id);
      expect((await first).isNewUser).toBe(false);
    });

    it('deletion racing a link: the link taken meanwhile goes with the account', async () => {
      const held = signal();
      let hold = false;
      let deleting!: () => void;
      const atDelete = new Promise<void>((r) => (deleting = r));
      const h = await make({
        wrap: (s: Stores) =>
          overriding(s, {
            accounts: {
              setAccountState: async (uid, state, now) => {
                if (hold && state === 'deleted') {
                  deleting();
                  await held.reached;
                }
                return s.accounts.setAccountState(uid, state, now);
              },
            },
          }),
      });
      const account = await signIn(h, 'google', newProfile());
      const a = applePerson();
      hold = true;
      const deletion = h.accounts.deleteAccount(account.user.id); // reads the identities, unlinks Google, then waits
      await atDelete;
      await link(h, account.user.id, 'apple', a); // lands before the account's keys go
      held.fire();
      expect(await deletion).toBe(true);
      expect(await h.stores.identities.get('apple', a.sub)).toBeNull();
      const fresh = await signIn(h, 'apple', a);
      expect(fresh.isNewUser).toBe(true);
      expect(fresh.user.id).not.toBe(account.user.id);
    });
  });

  it('one sign-in budget per account, whichever identity signs in (RATE_LIMIT_SIGN_IN_PER_ACCOUNT); linking does not spend it', async () => {
    const h = await make({ rateLimits: { signInPerAccount: { limit: 2, windowMs: 60_000 } } });
    const g = newProfile();
    const a = applePerson();
    const account = await signIn(h, 'google', g);
    await link(h, account.user.id, 'apple', a);
    expect((await signIn(h, 'apple', a)).user.id).toBe(account.user.id);
    await expect(signIn(h, 'google', g)).rejects.toMatchObject({ extensions: { code: 'RATE_LIMITED' } });
    await expect(signIn(h, 'apple', a)).rejects.toMatchObject({ extensions: { code: 'RATE_LIMITED' } });
  });

  it('deleting an account removes every identity link, whichever identity is used to sign in next gets a new account', async () => {
    const h = await make();
    const g = newProfile();
    const a = applePerson();
    const account = await signIn(h, 'google', g);
    await link(h, account.user.id, 'apple', a);
    expect(await h.accounts.deleteAccount(account.user.id)).toBe(true);
    expect([await h.stores.identities.get('google', g.sub), await h.stores.identities.get('apple', a.sub)]).toEqual([null, null]);
    for (const [provider, p] of [['google', g], ['apple', a]] as const) {
      const s = await signIn(h, provider, p);
      expect(s.isNewUser).toBe(true);
      expect(s.user.id).not.toBe(account.user.id);
    }
    expect(await h.accounts.deleteAccount(account.user.id)).toBe(false);
  });
});
