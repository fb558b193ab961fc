/**
 * The account side of src/store/types.ts: an account's profile, what a sign-in writes to it,
 * and its identities (AccountIdentitySteps, part of AccountStore). Kept apart so each file
 * stays readable; src/store/types.ts re-exports everything here.
 */
import type { IdentityClaims } from '../identity/provider.js';

/** An account's profile: what `User` shows besides its id, times and identities. */
export interface AccountProfile {
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  givenName: string | null;
  familyName: string | null;
  picture: string | null;
  locale: string | null;
  hostedDomain: string | null;
}

/**
 * What a sign-in writes to the account's profile: `set` replaces those fields (null clears;
 * the provider says which, src/identity/provider.ts `profileFields`); `names`, the names the
 * app sent (Apple), are written only while the account has no name at all (none of name,
 * givenName, familyName), so a stored name is never replaced by them.
 */
export interface ProfileWrite {
  set: Partial<AccountProfile>;
  names: { name: string; givenName: string | null; familyName: string | null } | null;
}

/** An identity `(provider, subject)` and what it says about itself (src/identity/provider.ts IdentityClaims). */
export interface IdentityWrite extends IdentityClaims {
  /** A provider's short name (`[a-z0-9-]`), chosen by code, never by a client. */
  provider: string;
  subject: string;
}

/** Which identity: a provider's short name and the subject it gave. */
export type IdentityRef = Pick<IdentityWrite, 'provider' | 'subject'>;

/**
 * One of an account's identities as stored with the account (the Redis hash `ids:{uid}`). An
 * account has at most one identity per provider. `pending`: linkIdentity recorded it and has
 * not yet taken the identity's link (src/users/identity-policy.ts); it does not count as the
 * account's identity until then, but a sign-in the link already leads here confirms it.
 */
export interface IdentityRecord extends IdentityWrite {
  linkedAt: number;
  pending: boolean;
  /**
   * Present (true) only once the provider said mail to the identity's relay address no longer
   * reaches the person (Apple's `email-disabled`); an `email-enabled` removes it.
   */
  emailForwardingDisabled?: true;
}

/**
 * Fields an identity carries besides its claims, set by setIdentityField: `rt` the provider's
 * refresh token, sealed (src/identity/apple/token-box.ts; never read back by the account's
 * methods, handed over for revocation when the identity goes), `nf` e-mail forwarding off.
 */
export type IdentityFieldName = 'rt' | 'nf';

/** linkIdentity's first step (`decideAddIdentity`). */
export type AddIdentityResult =
  /** Recorded as pending (or already the account's): take the link next. */
  | { kind: 'added' }
  /** The account already has another identity of this provider. */
  | { kind: 'provider_taken' }
  | { kind: 'gone' }
  | { kind: 'account_disabled' };

/** `decideRemoveIdentity`. */
export type RemoveIdentityResult = { kind: 'removed'; subject: string } | { kind: 'last_identity' } | { kind: 'not_linked' };

/**
 * An account's identities, each step one atomic operation in the account's slot deciding with
 * src/users/identity-policy.ts (the identity links themselves are the IdentityStore's).
 */
export interface AccountIdentitySteps {
  /**
   * The accounts' identities, in order ([] for an unknown user), pending ones included. One
   * round trip. A record written before accounts had several identities reads as one Google
   * identity.
   */
  getIdentities(userIds: readonly string[]): Promise<IdentityRecord[][]>;
  /** linkIdentity's first step (`decideAddIdentity`): records the identity as pending, at `now` when new. */
  addIdentity(userId: string, identity: IdentityWrite, now: number): Promise<AddIdentityResult>;
  /** linkIdentity's last step (`decideConfirm`): the identity, pending or linked with this subject, is linked. False otherwise. */
  confirmIdentity(userId: string, provider: string, subject: string): Promise<boolean>;
  /**
   * Removes the account's identity of `provider` (`decideRemoveIdentity`): only while its
   * subject is `subject` (when given), and with `keepLast` never the last linked one. A linked
   * one goes with its `identity.unlinked` event (stamped `now`, `identityEvents`), and its
   * sealed provider token (if any) moves to the account's revocation records under that event.
   */
  removeIdentity(userId: string, provider: string, opts: { subject: string | null; keepLast: boolean; now: number }): Promise<RemoveIdentityResult>;
  /**
   * Sets (a string) or clears (null) one of the identity's fields, only while the account's entry
   * of `provider` names `subject` (`decideConfirm`). False (nothing changes) otherwise.
   */
  setIdentityField(userId: string, provider: string, subject: string, field: IdentityFieldName, value: string | null): Promise<boolean>;
  /**
   * Retires an account id that has no account (a dangling link's, taken over by linkIdentity):
   * no sign-in creates an account under it for RETIRED_ID_TTL_MS. False (nothing changes) when
   * the account exists.
   */
  retire(userId: string): Promise<boolean>;
}
