import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { IdentityRecord, ProfileWrite, Stores } from '../../src/store/types.js';
import { eventsAfter, lastCursor } from '../events/helpers.js';
import { appleIdentity, id, newSession, profile, write, type ContractContext } from './contract-fixtures.js';

/**
 * Store contract, part five: an identity's own fields (setIdentityField: Apple's sealed refresh
 * token `rt`, e-mail forwarding off `nf`), the `identity.unlinked` event, and the hand-over of a
 * sealed token for revocation (TokenRevocationStore, Redis only) in the same step as the unlink
 * or the deletion that appends its event. On Cluster this runs across slots and nodes.
 */
const validate = new Ajv2020({ strict: true, allErrors: true }).compile(JSON.parse(readFileSync(new URL('../../docs/events.schema.json', import.meta.url), 'utf8')) as object);

export function providerTokenContract(ctx: ContractContext): void {
  const s = (): Stores => ctx.stores;
  const now = () => ctx.backend.now();
  const apple: ProfileWrite = { set: { email: 'x@privaterelay.appleid.com', emailVerified: true }, names: null };
  const identities = async (uid: string): Promise<IdentityRecord[]> => (await s().accounts.getIdentities([uid]))[0]!;

  /** An account with a Google identity and a linked Apple one (`a-<uid>`). */
  async function twoIdentities() {
    const uid = id();
    expect((await s().accounts.writeSession(write(uid, newSession(now()), { profile: profile(`g-${uid}`) }))).kind).toBe('written');
    expect((await s().accounts.addIdentity(uid, appleIdentity(`a-${uid}`), now())).kind).toBe('added');
    expect(await s().accounts.confirmIdentity(uid, 'apple', `a-${uid}`)).toBe(true);
    return uid;
  }

  describe('accounts: identity fields, identity.unlinked, tokens handed over for revocation', () => {
    it('e-mail forwarding off is set and cleared only on the account’s own identity, and survives sign-ins', async () => {
      const uid = id();
      const identity = appleIdentity(`a-${uid}`);
      await s().accounts.writeSession(write(uid, newSession(now()), { identity, profile: apple }));
      expect(await s().accounts.setIdentityField(uid, 'apple', 'someone-else', 'nf', '1')).toBe(false);
      expect(await s().accounts.setIdentityField(id(), 'apple', `a-${uid}`, 'nf', '1')).toBe(false);
      expect((await identities(uid))[0]!.emailForwardingDisabled).toBeUndefined();
      expect(await s().accounts.setIdentityField(uid, 'apple', `a-${uid}`, 'nf', '1')).toBe(true);
      expect((await identities(uid))[0]).toMatchObject({ emailForwardingDisabled: true });
      await s().accounts.writeSession(write(uid, newSession(now() + 1), { identity, profile: apple, mustExist: true }));
      expect((await identities(uid))[0]).toMatchObject({ emailForwardingDisabled: true });
      expect(await s().accounts.setIdentityField(uid, 'apple', `a-${uid}`, 'nf', null)).toBe(true);
      expect((await identities(uid))[0]!.emailForwardingDisabled).toBeUndefined();
      // A sealed token is never part of the identity as read back.
      expect(await s().accounts.setIdentityField(uid, 'apple', `a-${uid}`, 'rt', 'v1.sealed')).toBe(true);
      expect(JSON.stringify(await identities(uid))).not.toContain('v1.sealed');
    });

    it('unlinking a linked identity appends identity.unlinked and hands its token over under that event; a pending one says nothing', async () => {
      const uid = await twoIdentities();
      expect(await s().accounts.setIdentityField(uid, 'apple', `a-${uid}`, 'rt', 'v1.sealed-one')).toBe(true);
      const before = await lastCursor(s());
      const t = now() + 5;
      expect(await s().accounts.removeIdentity(uid, 'apple', { subject: null, keepLast: true, now: t })).toEqual({ kind: 'removed', subject: `a-${uid}` });
      const events = await eventsAfter(s(), before, uid);
      expect(events).toEqual([{ id: expect.any(String), type: 'identity.unlinked', time: t, userId: uid, data: { provider: 'apple' } }]);
      expect(validate(events[0])).toBe(true);
      // The provider's revocation ends sessions with its own reason, also in the schema.
      await s().accounts.writeSession(write(uid, newSession(now()), { profile: profile(`g-${uid}`), mustExist: true }));
      const mid0 = await lastCursor(s());
      expect(await s().accounts.endSessions(uid, { kind: 'all' }, { reason: 'identity_revoked', now: t })).toBeGreaterThan(0);
      for (const e of await eventsAfter(s(), mid0, uid)) expect([e.type, validate(e)]).toEqual(['session.revoked', true]);
      if (s().revocations) {
        expect(await s().revocations!.get(uid, events[0]!.id, 'apple')).toEqual({ provider: 'apple', subject: `a-${uid}`, sealed: 'v1.sealed-one' });
        expect(await s().revocations!.get(uid, events[0]!.id, 'google')).toBeNull();
        await s().revocations!.remove(uid, events[0]!.id, 'apple');
        expect(await s().revocations!.get(uid, events[0]!.id, 'apple')).toBeNull();
      }
      // A pending identity (a link not taken) goes without an event.
      expect((await s().accounts.addIdentity(uid, appleIdentity(`b-${uid}`), now())).kind).toBe('added');
      const mid = await lastCursor(s());
      expect((await s().accounts.removeIdentity(uid, 'apple', { subject: `b-${uid}`, keepLast: false, now: now() })).kind).toBe('removed');
      expect(await eventsAfter(s(), mid, uid)).toEqual([]);
    });

    it('deleting the account hands the Apple token over under user.deleted; without a token nothing is handed over', async () => {
      const uid = await twoIdentities();
      expect(await s().accounts.setIdentityField(uid, 'apple', `a-${uid}`, 'rt', 'v1.sealed-two')).toBe(true);
      const plain = await twoIdentities();
      const before = await lastCursor(s());
      expect((await s().accounts.setAccountState(uid, 'deleted', now())).found).toBe(true);
      expect((await s().accounts.setAccountState(plain, 'deleted', now())).found).toBe(true);
      const deleted = (await eventsAfter(s(), before, uid)).find((e) => e.type === 'user.deleted')!;
      const deletedPlain = (await eventsAfter(s(), before, plain)).find((e) => e.type === 'user.deleted')!;
      if (s().revocations) {
        expect(await s().revocations!.get(uid, deleted.id, 'apple')).toEqual({ provider: 'apple', subject: `a-${uid}`, sealed: 'v1.sealed-two' });
        expect(await s().revocations!.get(plain, deletedPlain.id, 'apple')).toBeNull();
      }
      expect(await identities(uid)).toEqual([]);
      expect(await s().accounts.setIdentityField(uid, 'apple', `a-${uid}`, 'rt', 'v1.late')).toBe(false);
    });
  });
}
