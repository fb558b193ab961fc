import type { EventDraft, ProfileData } from '../../src/events/event.js';
import type { AccountState } from '../../src/sessions/policy.js';

/**
 * What each change emits, as data: test/events/policy.test.ts runs the cases through
 * src/events/policy.ts, test/events/lua-mirror.test.ts through the Lua scripts on a real Redis.
 * One table, two implementations, the same events.
 */
export const ADA: ProfileData = {
  email: 'ada@example.com',
  emailVerified: true,
  name: 'Ada Lovelace',
  givenName: 'Ada',
  familyName: 'Lovelace',
  picture: 'https://lh3.googleusercontent.com/a/photo',
  locale: 'en-GB',
  hostedDomain: null,
};
/** Over 64 bytes, so stored in pieces (src/store/redis/codec.ts): a change in a later piece only must still be seen. */
const LONG = 'Augusta Ada King, Countess of Lovelace — analyst of the Analytical Engine';

export const SIGN_IN_CASES: { name: string; before: ProfileData | null; after: ProfileData; expected: EventDraft[] }[] = [
  { name: 'a new account: user.created with its whole profile', before: null, after: ADA, expected: [{ type: 'user.created', data: { profile: ADA } }] },
  {
    name: 'a new account without optional claims: nulls, and emailVerified false',
    before: null,
    after: { ...ADA, email: null, emailVerified: false, picture: null, locale: null },
    expected: [{ type: 'user.created', data: { profile: { ...ADA, email: null, emailVerified: false, picture: null, locale: null } } }],
  },
  { name: 'a returning sign-in with the same profile: nothing', before: ADA, after: ADA, expected: [] },
  { name: 'a new name: only the name', before: ADA, after: { ...ADA, name: 'Ada King' }, expected: [{ type: 'user.updated', data: { changes: { name: 'Ada King' } } }] },
  { name: 'a picture removed: null', before: ADA, after: { ...ADA, picture: null }, expected: [{ type: 'user.updated', data: { changes: { picture: null } } }] },
  { name: 'a claim that appears', before: ADA, after: { ...ADA, hostedDomain: 'example.com' }, expected: [{ type: 'user.updated', data: { changes: { hostedDomain: 'example.com' } } }] },
  {
    name: 'a new e-mail address, not yet verified: both (the only events with an e-mail besides user.created)',
    before: ADA,
    after: { ...ADA, email: 'ada@new.example', emailVerified: false },
    expected: [{ type: 'user.updated', data: { changes: { email: 'ada@new.example', emailVerified: false } } }],
  },
  { name: 'a long name, same value: nothing', before: { ...ADA, name: LONG }, after: { ...ADA, name: LONG }, expected: [] },
  {
    name: 'a long name changed in its last piece only',
    before: { ...ADA, name: LONG },
    after: { ...ADA, name: `${LONG}!` },
    expected: [{ type: 'user.updated', data: { changes: { name: `${LONG}!` } } }],
  },
  { name: 'a long name shortened', before: { ...ADA, name: LONG }, after: { ...ADA, name: 'Ada' }, expected: [{ type: 'user.updated', data: { changes: { name: 'Ada' } } }] },
  { name: 'an empty name is not a missing one', before: ADA, after: { ...ADA, name: '' }, expected: [{ type: 'user.updated', data: { changes: { name: '' } } }] },
  {
    name: 'non-ASCII values',
    before: ADA,
    after: { ...ADA, givenName: 'Ádá 👩‍💻', locale: 'fr' },
    expected: [{ type: 'user.updated', data: { changes: { givenName: 'Ádá 👩‍💻', locale: 'fr' } } }],
  },
];

/** An account change on a user with `sessions` live sessions (ids s1, s2, … as the mirror seeds them). */
export const ACCOUNT_STATE_CASES: { name: string; state: AccountState; before: { disabled: boolean } | null; sessions: number; expected: EventDraft[] }[] = [
  {
    name: 'disabling an enabled account: user.disabled, then each session',
    state: 'disabled',
    before: { disabled: false },
    sessions: 2,
    expected: [
      { type: 'user.disabled', data: {} },
      { type: 'session.revoked', data: { sessionId: 's1', reason: 'account_disabled' } },
      { type: 'session.revoked', data: { sessionId: 's2', reason: 'account_disabled' } },
    ],
  },
  { name: 'disabling a disabled account: nothing', state: 'disabled', before: { disabled: true }, sessions: 0, expected: [] },
  { name: 'enabling a disabled account', state: 'enabled', before: { disabled: true }, sessions: 0, expected: [{ type: 'user.enabled', data: {} }] },
  { name: 'enabling an enabled account: nothing', state: 'enabled', before: { disabled: false }, sessions: 1, expected: [] },
  {
    name: 'deleting: user.deleted, then each session',
    state: 'deleted',
    before: { disabled: false },
    sessions: 2,
    expected: [
      { type: 'user.deleted', data: {} },
      { type: 'session.revoked', data: { sessionId: 's1', reason: 'account_deleted' } },
      { type: 'session.revoked', data: { sessionId: 's2', reason: 'account_deleted' } },
    ],
  },
  { name: 'deleting a disabled account without sessions', state: 'deleted', before: { disabled: true }, sessions: 0, expected: [{ type: 'user.deleted', data: {} }] },
  { name: 'deleting an unknown account: nothing', state: 'deleted', before: null, sessions: 0, expected: [] },
  { name: 'disabling an unknown account: nothing', state: 'disabled', before: null, sessions: 0, expected: [] },
  { name: 'enabling an unknown account: nothing', state: 'enabled', before: null, sessions: 0, expected: [] },
];

/** Removing the account's identity of `provider` (remove-identity.lua); `pending`: a link never confirmed. */
export const IDENTITY_CASES: { name: string; provider: string; pending: boolean; expected: EventDraft[] }[] = [
  { name: 'unlinking a linked Apple identity: identity.unlinked', provider: 'apple', pending: false, expected: [{ type: 'identity.unlinked', data: { provider: 'apple' } }] },
  { name: 'unlinking a linked Google identity: identity.unlinked', provider: 'google', pending: false, expected: [{ type: 'identity.unlinked', data: { provider: 'google' } }] },
  { name: 'removing a pending identity (a refused link): nothing', provider: 'apple', pending: true, expected: [] },
];
