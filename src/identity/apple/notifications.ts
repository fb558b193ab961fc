import type { JWTPayload } from 'jose';
import { AccountError, AuthError, storeCall } from '../../errors.js';
import type { AccountStore } from '../../store/types.js';
import type { AccountService } from '../../users/account-service.js';
import type { IdentityService } from '../../users/identity-service.js';
import type { IdTokenVerification } from '../verification.js';

/**
 * Apple's server-to-server notifications (`POST /notifications/apple`, src/http/apple-notifications.ts):
 * what they say, and what the gateway does about it.
 *
 * Apple posts `{"payload": "<JWT>"}`, signed with the keys of its identity tokens (RS256, `iss`
 * https://appleid.apple.com, `aud` the client id), with `iat`, `jti` and `events`: a JSON
 * *string* holding `{"type", "sub", "email", "is_private_email", "event_time"}`.
 *
 *   consent-revoked  the person stopped using Sign in with Apple with the app
 *   account-delete   the person deleted their Apple account
 *     → every session of the account ends at once (`session.revoked`, reason identity_revoked),
 *       and the Apple identity is unlinked (`identity.unlinked`; its stored token is queued for
 *       revocation, which Apple then answers invalid_grant: dropped). An account left with no
 *       identity is deleted exactly as deleteMyAccount deletes it.
 *   email-disabled   mail to the private relay address no longer reaches the person
 *   email-enabled    it does again
 *     → the identity's `emailForwarding` (GraphQL) follows.
 *
 * Trust: only the signature is trusted, never the sender's address. Every step is idempotent,
 * so a notification delivered twice changes nothing the second time; one whose `event_time` is
 * older than the identity's link (a replay of an old notification after the person linked Apple
 * again) is ignored. An unknown `sub` or type is accepted and ignored (Apple must not retry it).
 */
export const NOTIFICATION_TYPES = ['consent-revoked', 'account-delete', 'email-disabled', 'email-enabled'] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

export interface AppleNotificationEvent {
  /** One of NOTIFICATION_TYPES, or `other` for a type this version does not act on. */
  type: NotificationType | 'other';
  sub: string;
  /** Epoch ms, or null when absent or unreadable. */
  eventTime: number | null;
}

/** Longest `events` string read (Apple's are ~200 bytes). */
const MAX_EVENTS_LENGTH = 4096;

/**
 * The verified token's `events` claim, parsed defensively: a JSON string holding an object with
 * a string `type` and a non-empty string `sub`. Null for anything else (answered 400).
 */
export function parseNotificationEvents(payload: JWTPayload): AppleNotificationEvent | null {
  const raw = payload.events;
  // Apple sends a string; an object in its place is read the same way.
  let events: unknown = raw;
  if (typeof raw === 'string') {
    if (raw.length > MAX_EVENTS_LENGTH) return null;
    try {
      events = JSON.parse(raw);
    } catch {
      return null;
    }
  }
  if (typeof events !== 'object' || events === null || Array.isArray(events)) return null;
  const { type, sub, event_time: time } = events as Record<string, unknown>;
  if (typeof type !== 'string' || typeof sub !== 'string' || sub.length === 0 || sub.length > 255) return null;
  const known = (NOTIFICATION_TYPES as readonly string[]).includes(type) ? (type as NotificationType) : 'other';
  // Documented as milliseconds; seconds (as `iat`) are recognised by their size.
  const eventTime = typeof time === 'number' && Number.isFinite(time) && time > 0 ? (time < 1e12 ? time * 1000 : time) : null;
  return { type: known, sub, eventTime };
}

export type NotificationResult = { type: AppleNotificationEvent['type']; outcome: 'applied' | 'ignored' };

export interface AppleNotificationsDeps {
  verification: Pick<IdTokenVerification, 'verifyEvent'>;
  identities: Pick<IdentityService, 'accountOf' | 'list' | 'unlink'>;
  accounts: Pick<AccountService, 'deleteAccount'>;
  store: Pick<AccountStore, 'endSessions' | 'setIdentityField'>;
  log: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
  now: () => number;
}

export class AppleNotifications {
  constructor(private readonly d: AppleNotificationsDeps) {}

  /**
   * @throws AuthError for a token that fails verification or an `events` claim that cannot be read (400).
   * @throws ServiceUnavailableError when Apple's keys or the store cannot be reached (503: Apple retries).
   */
  async receive(token: string): Promise<NotificationResult> {
    const payload = await this.d.verification.verifyEvent('apple', token);
    const event = parseNotificationEvents(payload);
    if (!event) throw new AuthError('malformed');
    if (event.type === 'other') return { type: 'other', outcome: 'ignored' };
    const userId = await this.d.identities.accountOf('apple', event.sub);
    if (!userId) return { type: event.type, outcome: 'ignored' };
    const identity = (await this.d.identities.list(userId)).find((i) => i.provider === 'apple' && i.subject === event.sub);
    if (!identity || (event.eventTime !== null && event.eventTime < identity.linkedAt)) return { type: event.type, outcome: 'ignored' };

    switch (event.type) {
      case 'email-disabled':
      case 'email-enabled': {
        const set = await storeCall(this.d.store.setIdentityField(userId, 'apple', event.sub, 'nf', event.type === 'email-disabled' ? '1' : null), this.d.log);
        return { type: event.type, outcome: set ? 'applied' : 'ignored' };
      }
      case 'consent-revoked':
      case 'account-delete':
        await this.endAccess(userId);
        return { type: event.type, outcome: 'applied' };
    }
  }

  /** Every session ends first (at once, on every instance: sessions live in Redis), then the identity goes, or the whole account when it was the last. */
  private async endAccess(userId: string): Promise<void> {
    await storeCall(this.d.store.endSessions(userId, { kind: 'all' }, { reason: 'identity_revoked', now: this.d.now() }), this.d.log);
    try {
      await this.d.identities.unlink(userId, 'apple');
    } catch (err) {
      if (!(err instanceof AccountError && err.code === 'LAST_IDENTITY')) throw err;
      await this.d.accounts.deleteAccount(userId);
      this.d.log.info({ userId }, 'Apple said its identity is gone; it was the account’s last, so the account was deleted');
    }
  }
}
