import { describe, expect, it } from '@jest/globals';
import { accountStateEvents, identityEvents, profileChanges, revocationEvents, rotationEvents, signInEvents } from '../../src/events/policy.js';
import { eventId, stamp } from '../../src/events/event.js';
import { ACCOUNT_STATE_CASES, ADA, IDENTITY_CASES, SIGN_IN_CASES } from './event-cases.js';

/** src/events/policy.ts from the tables (the Lua mirror runs the same ones: test/events/lua-mirror.test.ts). */
describe('account event policy', () => {
  it.each(SIGN_IN_CASES)('sign-in: $name', (c) => {
    expect(signInEvents(c.before, c.after, [])).toEqual(c.expected);
  });

  it('sign-in over the cap: the account event first, then the ended sessions in the order they ended', () => {
    expect(signInEvents(ADA, { ...ADA, locale: 'de' }, ['z-oldest', 'a-next'])).toEqual([
      { type: 'user.updated', data: { changes: { locale: 'de' } } },
      { type: 'session.revoked', data: { sessionId: 'z-oldest', reason: 'session_cap' } },
      { type: 'session.revoked', data: { sessionId: 'a-next', reason: 'session_cap' } },
    ]);
    expect(signInEvents(ADA, ADA, ['s9'])).toEqual([{ type: 'session.revoked', data: { sessionId: 's9', reason: 'session_cap' } }]);
  });

  it.each(IDENTITY_CASES)('identities: $name', (c) => {
    expect(identityEvents(c.provider, { pending: c.pending })).toEqual(c.expected);
  });

  it.each(ACCOUNT_STATE_CASES)('account state: $name', (c) => {
    const ended = Array.from({ length: c.sessions }, (_, i) => `s${i + 1}`);
    expect(accountStateEvents(c.state, c.before, ended)).toEqual(c.expected);
  });

  it('revocations: one event per ended session, by id in byte order (B < a < b), none when nothing ended', () => {
    expect(revocationEvents('sign_out_everywhere', ['b', 'B', 'a']).map((e) => e.data)).toEqual([
      { sessionId: 'B', reason: 'sign_out_everywhere' },
      { sessionId: 'a', reason: 'sign_out_everywhere' },
      { sessionId: 'b', reason: 'sign_out_everywhere' },
    ]);
    expect(revocationEvents('sign_out', [])).toEqual([]);
  });

  it('refresh: only a detected reuse ends the session', () => {
    expect(rotationEvents('reused', 's1')).toEqual([{ type: 'session.revoked', data: { sessionId: 's1', reason: 'refresh_token_reused' } }]);
    for (const kind of ['rotated', 'grace', 'mismatch', 'not_found', 'limited', 'account_disabled', 'account_not_found']) expect(rotationEvents(kind, 's1')).toEqual([]);
  });

  it('reports changed fields only, never the unchanged e-mail address', () => {
    const changes = profileChanges(ADA, { ...ADA, name: 'Ada King' });
    expect(changes).toEqual({ name: 'Ada King' });
    expect('email' in changes).toBe(false);
  });

  it('stamps a step’s events with one id base and their positions, one time and the user', () => {
    const drafts = signInEvents(null, ADA, ['s1']);
    expect(stamp(drafts, 'BASEBASEBASEBASEBASE12', 42, 'u1')).toEqual([
      { id: 'BASEBASEBASEBASEBASE12.0', type: 'user.created', time: 42, userId: 'u1', data: { profile: ADA } },
      { id: 'BASEBASEBASEBASEBASE12.1', type: 'session.revoked', time: 42, userId: 'u1', data: { sessionId: 's1', reason: 'session_cap' } },
    ]);
    expect(eventId('x', 3)).toBe('x.3');
  });
});
