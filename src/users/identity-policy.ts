/**
 * The rules of an account's identities, as pure functions (no I/O, no clock), mirrored by the
 * Lua scripts that apply them next to the data (src/store/redis/scripts/: write-session,
 * add-identity, confirm-identity, remove-identity, set-identity-field) and called by the embedded store;
 * test/users/identity-policy.test.ts holds both to one table of cases.
 *
 * Two records say who an identity belongs to, in different Cluster slots, so never changed in
 * one step: the identity's link `idn:<provider>:<sub>` → account (which account a sign-in goes
 * to; one per identity, so an identity belongs to exactly one account), and the account's own
 * list `ids:{uid}` (what it shows, what unlinking counts). The steps are ordered so that the
 * list never claims an identity whose link leads elsewhere for longer than an operation runs:
 *
 * - linking records the identity as pending in the list first, then takes the link (one
 *   atomic SET NX: of two accounts linking one identity at once, one wins), then confirms it;
 *   a refused link removes the pending entry. A sign-in that the new link already leads here
 *   finds the pending entry and confirms it.
 * - unlinking removes the entry from the list first (refusing the last linked one, counted
 *   atomically in the account's slot), then the link, only while it still names the account.
 *   A sign-in that read the link in between finds the entry gone (`not_linked`): it removes the
 *   stale link itself and signs in to a new account, never back into this one.
 * - deleting removes every link first (only while it names the account), then the account's
 *   keys, retiring its id, then any link taken meanwhile.
 *
 * Nothing links or merges accounts by e-mail: an identity joins an account only through a
 * verified token presented by that account's signed-in owner (linkIdentity), or by creating
 * the account.
 */

/** How long a retired or deleted account id stays refused to a sign-in that would create it (longer than any sign-in's steps). */
export const RETIRED_ID_TTL_MS = 24 * 3_600_000;

/** An account's identity of one provider, as the decisions see it. */
export interface StoredIdentity {
  subject: string;
  pending: boolean;
  /**
   * The provider has the identity locked (Google Cross-Account Protection, src/risc/policy.ts):
   * the account's marker of it. Absent: not locked.
   */
  locked?: boolean;
}

/**
 * Sign-in to an existing account (its link led there): the account must list this identity as
 * its own, linked or pending. Otherwise the link is stale (being unlinked, or left behind).
 */
export function identityAdmits(stored: StoredIdentity | null, subject: string): boolean {
  return stored !== null && stored.subject === subject;
}

export type AddIdentityDecision = 'add' | 'provider_taken' | 'gone' | 'account_disabled';

/**
 * linkIdentity's first step. An account has at most one identity per provider: another
 * linked one must be unlinked first. A pending entry of another identity is an abandoned
 * attempt and is replaced; the same identity, pending or linked, keeps its time and state
 * (its claims are refreshed).
 */
export function decideAddIdentity(input: { user: { disabled: boolean } | null; retired: boolean; stored: StoredIdentity | null; subject: string }): AddIdentityDecision {
  if (!input.user || input.retired) return 'gone';
  if (input.user.disabled) return 'account_disabled';
  const { stored, subject } = input;
  if (stored && !stored.pending && stored.subject !== subject) return 'provider_taken';
  return 'add';
}

/**
 * linkIdentity's last step: the entry still names this identity (pending, or already linked by a
 * sign-in). Also what setIdentityField asks before it writes an identity's field (Apple's sealed
 * token, e-mail forwarding): never onto an identity that was unlinked or replaced meanwhile.
 */
export function decideConfirm(stored: StoredIdentity | null, subject: string): boolean {
  return stored !== null && stored.subject === subject;
}

export type RemoveIdentityDecision = 'remove' | 'last_identity' | 'not_linked';

/**
 * unlinkIdentity (keepLast) and undoing a refused link (not keepLast). `subject` null: the
 * account's identity of the provider, whichever it is. A pending entry never counts as the
 * account's identity, so removing one is never refused, and it never keeps another alive.
 */
export function decideRemoveIdentity(
  identities: ReadonlyMap<string, StoredIdentity>,
  provider: string,
  subject: string | null,
  keepLast: boolean,
): RemoveIdentityDecision {
  const stored = identities.get(provider);
  if (!stored || (subject !== null && stored.subject !== subject)) return 'not_linked';
  if (keepLast && !stored.pending && ![...identities].some(([p, s]) => p !== provider && !s.pending)) return 'last_identity';
  return 'remove';
}
