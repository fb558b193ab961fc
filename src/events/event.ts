import type { AccountProfile } from '../store/types.js';

/**
 * Account events: what other services learn about accounts and sessions (README, "Account
 * events and webhooks"; docs/events.schema.json is the same contract as a JSON Schema, and a
 * test validates real events against it).
 *
 * An event is appended by the very step that makes the change (a Lua script on Redis, one
 * store method in memory), so none is lost and none is invented: if the change happened, its
 * event is in the log; if the step failed, neither is. Events hold only what a consumer needs:
 * ids, the reason, and profile fields when they are new or changed (no tokens, no hashes, no
 * client addresses or user agents).
 */

/** EVENTS_RETENTION's default: how long the stream keeps an event (src/config/sections/events.ts). */
export const DEFAULT_EVENTS_RETENTION_MS = 7 * 24 * 3_600_000;

/** Every event type, closed: a new type is a change of the schema (docs/events.schema.json). */
export const EVENT_TYPES = ['user.created', 'user.updated', 'user.deleted', 'user.disabled', 'user.enabled', 'identity.unlinked', 'session.revoked', 'identity.locked', 'identity.unlocked'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * Why a session ended (`session.revoked`), closed. Sessions that simply run out (idle or
 * absolute lifetime) are not revoked and emit nothing: their end is already in their tokens.
 */
export const REVOCATION_REASONS = [
  /** signOut: the caller's own session. */
  'sign_out',
  /** revokeSession(id): one of the caller's other sessions. */
  'revoked',
  /** signOutOtherSessions. */
  'sign_out_others',
  /** signOutEverywhere. */
  'sign_out_everywhere',
  /** A spent refresh token came back after the grace period (src/sessions/policy.ts decideRotation). */
  'refresh_token_reused',
  /** A sign-in went over MAX_SESSIONS_PER_USER and this, the oldest, ended. */
  'session_cap',
  /** The account was disabled (`npm run user -- disable`). */
  'account_disabled',
  /** The account was deleted (deleteMyAccount). */
  'account_deleted',
  /** The identity provider said the person withdrew the app's access or deleted their account there (Apple's consent-revoked, account-delete notifications). */
  'identity_revoked',
  /**
   * The identity provider said the account's identity was compromised or its sessions revoked
   * (Google Cross-Account Protection: sessions-revoked, tokens-revoked, account-disabled for
   * hijacking; src/risc/).
   */
  'provider_security_event',
] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

/** The profile as events carry it: the user's fields, by their GraphQL names (the store's AccountProfile). */
export type ProfileData = AccountProfile;
export const PROFILE_DATA_FIELDS = ['email', 'emailVerified', 'name', 'givenName', 'familyName', 'picture', 'locale', 'hostedDomain'] as const satisfies readonly (keyof ProfileData)[];

/** What an event says, by type: `data` of the event. */
export interface EventData {
  /** The account's first sign-in: its profile. */
  'user.created': { profile: ProfileData };
  /** A sign-in brought a different profile: the fields that changed, with their new values (and only those). */
  'user.updated': { changes: Partial<ProfileData> };
  'user.deleted': Record<string, never>;
  'user.disabled': Record<string, never>;
  'user.enabled': Record<string, never>;
  /** One of the account's identities was removed (unlinkIdentity, or its provider's notification); `provider` is its short name (`google`, `apple`). */
  'identity.unlinked': { provider: string };
  'session.revoked': { sessionId: string; reason: RevocationReason };
  /**
   * The identity provider disabled the account's identity of `provider` (Google's
   * account-disabled): sign-in with it is refused until it is enabled again. `reason`:
   * `hijacking` or `disabled` (no reason given).
   */
  'identity.locked': { provider: string; reason: IdentityLockReason };
  /** The provider enabled that identity again (account-enabled). */
  'identity.unlocked': { provider: string };
}

/** Why an identity is locked (src/risc/policy.ts). */
export type IdentityLockReason = 'hijacking' | 'disabled';

/** An event before the store stamps it with its id, time and user. */
export type EventDraft = { [T in EventType]: { type: T; data: EventData[T] } }[EventType];

/**
 * An event as stored and delivered (the stream entry's `event` field, the webhook body).
 * `id` is unique: consumers de-duplicate by it (delivery is at least once). `time` is the
 * change's time, epoch milliseconds.
 */
export type AccountEvent = { [T in EventType]: { id: string; type: T; time: number; userId: string; data: EventData[T] } }[EventType];

/**
 * Event ids: one random base per atomic step, and the event's position within the step
 * (`<22 base64url characters>.<n>`), so a step's events are told apart and ordered, and
 * nothing outside the step can collide with them. The Lua side builds the same form
 * (`emit` in src/store/redis/scripts/lib-events.lua).
 */
export function eventId(base: string, n: number): string {
  return `${base}.${n}`;
}

/** Stamps a step's drafts, in order. */
export function stamp(drafts: readonly EventDraft[], base: string, time: number, userId: string): AccountEvent[] {
  return drafts.map((d, n) => ({ id: eventId(base, n), type: d.type, time, userId, data: d.data }) as AccountEvent);
}
