import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { AccountEvent } from '../../src/events/event.js';
import type { NewSession, Stores } from '../../src/store/types.js';
import { drafts, eventsAfter, lastCursor } from '../events/helpers.js';
import { hash, id, newSession, profile, rotation, write, type ContractContext } from './contract-fixtures.js';

const schema = JSON.parse(readFileSync(new URL('../../docs/events.schema.json', import.meta.url), 'utf8')) as object;
const validate = new Ajv2020({ strict: true, allErrors: true }).compile(schema);

/** Every event read here is valid against docs/events.schema.json. */
export function expectValid(events: readonly AccountEvent[]): void {
  for (const e of events) {
    validate(e);
    expect({ event: e, errors: validate.errors ?? null }).toEqual({ event: e, errors: null });
  }
}

/**
 * Store contract, part three: the account events each step appends (src/events/policy.ts
 * decides which; test/events/ holds the decisions to their table). Each store, memory, Redis and
 * Redis Cluster (through the outbox and its relay), appends the same events for the same
 * steps, in order, each valid against the published JSON Schema.
 */
export function eventContract(ctx: ContractContext): void {
  const s = (): Stores => ctx.stores;
  const now = () => ctx.backend.now();

  /** Runs `step` and returns the events it appended for `uid`. */
  async function during(uid: string, step: () => Promise<unknown>): Promise<AccountEvent[]> {
    const cursor = await lastCursor(s());
    await step();
    const events = await eventsAfter(s(), cursor, uid);
    expectValid(events);
    return events;
  }

  async function signedIn(uid: string, n = 1): Promise<NewSession[]> {
    const out: NewSession[] = [];
    for (let i = 0; i < n; i++) {
      const session = newSession(now() + i);
      await s().accounts.writeSession(write(uid, session));
      out.push(session);
    }
    return out;
  }

  describe('events', () => {
    it('a first sign-in appends user.created with the profile; the same profile again appends nothing; a change appends only it', async () => {
      const uid = id();
      const t = now();
      const p = profile(`sub-${uid}`);
      const created = await during(uid, () => s().accounts.writeSession(write(uid, newSession(t), { profile: p })));
      const { sub: _sub, ...claims } = p;
      expect(created).toEqual([{ id: expect.stringMatching(/^[A-Za-z0-9_-]{22}\.0$/), type: 'user.created', time: t, userId: uid, data: { profile: claims } }]);
      expect(await during(uid, () => s().accounts.writeSession(write(uid, newSession(t + 1), { profile: p, mustExist: true })))).toEqual([]);
      const updated = await during(uid, () => s().accounts.writeSession(write(uid, newSession(t + 2), { profile: { ...p, name: 'Ada King', picture: null }, mustExist: true })));
      expect(drafts(updated)).toEqual([{ type: 'user.updated', data: { changes: { name: 'Ada King', picture: null } } }]);
      expect(updated[0]!.time).toBe(t + 2);
    });

    it('a refused sign-in (gone, disabled) appends nothing', async () => {
      const uid = id();
      expect(await during(uid, () => s().accounts.writeSession(write(uid, newSession(now()), { mustExist: true })))).toEqual([]);
      await signedIn(uid);
      await s().accounts.setAccountState(uid, 'disabled', now());
      expect(await during(uid, () => s().accounts.writeSession(write(uid, newSession(now()), { mustExist: true })))).toEqual([]);
    });

    it('the session cap revokes the oldest sessions with reason session_cap, after the account’s own event', async () => {
      const uid = id();
      const sessions = await signedIn(uid, 3);
      const events = await during(uid, () =>
        s().accounts.writeSession(write(uid, newSession(now() + 10), { profile: profile(`sub-${uid}`, { locale: 'de' }), maxSessions: 2, mustExist: true })),
      );
      expect(drafts(events)).toEqual([
        { type: 'user.updated', data: { changes: { locale: 'de' } } },
        { type: 'session.revoked', data: { sessionId: sessions[0]!.id, reason: 'session_cap' } },
        { type: 'session.revoked', data: { sessionId: sessions[1]!.id, reason: 'session_cap' } },
      ]);
      const base = events[0]!.id.split('.')[0];
      expect(events.map((e) => e.id)).toEqual([0, 1, 2].map((n) => `${base}.${n}`));
    });

    it('ending sessions appends one session.revoked per session still stored, with the caller’s reason and time', async () => {
      const uid = id();
      const sessions = await signedIn(uid, 3);
      const t = now() + 50;
      const one = await during(uid, () => s().accounts.endSessions(uid, { kind: 'session', sessionId: sessions[2]!.id }, { reason: 'sign_out', now: t }));
      expect(one).toEqual([{ id: expect.any(String), type: 'session.revoked', time: t, userId: uid, data: { sessionId: sessions[2]!.id, reason: 'sign_out' } }]);
      expect(await during(uid, () => s().accounts.endSessions(uid, { kind: 'session', sessionId: sessions[2]!.id }, { reason: 'revoked', now: t }))).toEqual([]);
      const others = await during(uid, () => s().accounts.endSessions(uid, { kind: 'others', keep: sessions[0]!.id }, { reason: 'sign_out_others', now: t }));
      expect(drafts(others)).toEqual([{ type: 'session.revoked', data: { sessionId: sessions[1]!.id, reason: 'sign_out_others' } }]);
      const all = await during(uid, () => s().accounts.endSessions(uid, { kind: 'all' }, { reason: 'sign_out_everywhere', now: t }));
      expect(drafts(all)).toEqual([{ type: 'session.revoked', data: { sessionId: sessions[0]!.id, reason: 'sign_out_everywhere' } }]);
      expect(await during(uid, () => s().accounts.endSessions(uid, { kind: 'all' }, { reason: 'sign_out_everywhere', now: t }))).toEqual([]);
    });

    it('a reused refresh token revokes its session (refresh_token_reused); rotation, grace and a wrong token append nothing', async () => {
      const uid = id();
      const [session] = await signedIn(uid);
      const t = now();
      const next = hash();
      expect(await during(uid, () => s().accounts.rotateSession(uid, session!.id, rotation(t, session!.refreshHash, { nextHash: next })))).toEqual([]);
      expect(await during(uid, () => s().accounts.rotateSession(uid, session!.id, rotation(t + 1, session!.refreshHash)))).toEqual([]); // grace
      expect(await during(uid, () => s().accounts.rotateSession(uid, session!.id, rotation(t + 2, 'a-guess')))).toEqual([]);
      const reused = await during(uid, () => s().accounts.rotateSession(uid, session!.id, rotation(t + 60_000, session!.refreshHash)));
      expect(reused).toEqual([{ id: expect.any(String), type: 'session.revoked', time: t + 60_000, userId: uid, data: { sessionId: session!.id, reason: 'refresh_token_reused' } }]);
    });

    it('disabling, enabling and deleting say so, once per change, with the sessions they end', async () => {
      const uid = id();
      const sessions = await signedIn(uid, 2);
      const byId = sessions.map((x) => x.id).sort();
      const t = now();
      expect(drafts(await during(uid, () => s().accounts.setAccountState(uid, 'disabled', t)))).toEqual([
        { type: 'user.disabled', data: {} },
        ...byId.map((sessionId) => ({ type: 'session.revoked', data: { sessionId, reason: 'account_disabled' } })),
      ]);
      expect(await during(uid, () => s().accounts.setAccountState(uid, 'disabled', t))).toEqual([]);
      expect(drafts(await during(uid, () => s().accounts.setAccountState(uid, 'enabled', t)))).toEqual([{ type: 'user.enabled', data: {} }]);
      expect(await during(uid, () => s().accounts.setAccountState(uid, 'enabled', t))).toEqual([]);
      const [fresh] = await signedIn(uid);
      const deleted = await during(uid, () => s().accounts.setAccountState(uid, 'deleted', t + 7));
      expect(drafts(deleted)).toEqual([
        { type: 'user.deleted', data: {} },
        { type: 'session.revoked', data: { sessionId: fresh!.id, reason: 'account_deleted' } },
      ]);
      expect(deleted.every((e) => e.time === t + 7)).toBe(true);
      expect(await during(uid, () => s().accounts.setAccountState(uid, 'deleted', t))).toEqual([]);
    });

    it('keeps each user’s events in order across steps and instances, with unique ids', async () => {
      const uid = id();
      const peer = await ctx.backend.peer();
      const cursor = await lastCursor(s());
      const [first] = await signedIn(uid);
      await peer.accounts.writeSession(write(uid, newSession(now() + 1), { profile: profile(`sub-${uid}`, { name: 'Second' }), mustExist: true }));
      await s().accounts.endSessions(uid, { kind: 'session', sessionId: first!.id }, { reason: 'sign_out', now: now() + 2 });
      await peer.accounts.setAccountState(uid, 'deleted', now() + 3);
      await peer.events.settled();
      const events = await eventsAfter(s(), cursor, uid);
      expectValid(events);
      expect(events.map((e) => e.type)).toEqual(['user.created', 'user.updated', 'session.revoked', 'user.deleted', 'session.revoked']);
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    });

    it('never carries a token, a hash, a client address or a user agent', async () => {
      const uid = id();
      const [session] = await signedIn(uid);
      const t = now();
      const events = await during(uid, async () => {
        await s().accounts.rotateSession(uid, session!.id, rotation(t, session!.refreshHash));
        await s().accounts.rotateSession(uid, session!.id, rotation(t + 60_000, session!.refreshHash));
        await s().accounts.setAccountState(uid, 'deleted', t);
      });
      const text = JSON.stringify(events);
      for (const secret of [session!.refreshHash, session!.userAgent!, session!.clientAddress!, `sub-${uid}`]) expect(text).not.toContain(secret);
    });
  });
}
