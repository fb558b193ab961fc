import { GOOGLE_ISSUERS } from '../identity/providers/google.js';
import type { SecurityChange } from './policy.js';
import { sameIssuer } from './set-verifier.js';

/**
 * What each Google security event does (README, "Google Cross-Account Protection"), as data:
 * the event types Google sends, their subject, and the plan the receiver carries out. Pure:
 * src/risc/receiver.ts does the I/O.
 *
 * | event                                      | plan                                              |
 * |--------------------------------------------|---------------------------------------------------|
 * | risc sessions-revoked                      | end every session; refuse tokens issued before it |
 * | oauth tokens-revoked                       | the same                                          |
 * | oauth token-revoked                        | record (we keep no Google tokens)                 |
 * | risc account-disabled, reason hijacking    | lock (refuse sign-in), end every session          |
 * | risc account-disabled, no (other) reason   | lock (refuse sign-in); sessions stay              |
 * | risc account-disabled, reason bulk-account | record, count                                     |
 * | risc account-enabled                       | unlock                                            |
 * | risc account-credential-change-required    | record                                            |
 * | risc verification                          | log its `state`                                   |
 * | anything else                              | nothing (answered 202 and counted)                |
 */

const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';
const OAUTH = 'https://schemas.openid.net/secevent/oauth/event-type/';

/** The event types we know, by URI → their short name (metrics' `type` label, recorded events). */
export const KNOWN_EVENTS: ReadonlyMap<string, string> = new Map([
  [`${RISC}sessions-revoked`, 'sessions-revoked'],
  [`${OAUTH}tokens-revoked`, 'tokens-revoked'],
  [`${OAUTH}token-revoked`, 'token-revoked'],
  [`${RISC}account-disabled`, 'account-disabled'],
  [`${RISC}account-enabled`, 'account-enabled'],
  [`${RISC}account-credential-change-required`, 'account-credential-change-required'],
  [`${RISC}verification`, 'verification'],
]);

/** What the receiver does with one event. */
export type EventPlan =
  /** verification: log its state (bounded, printable), nothing else. */
  | { kind: 'verification'; type: 'verification'; state: string | null }
  /** An event type we do not know, or a subject we cannot resolve: nothing. */
  | { kind: 'ignored'; type: string; why: 'unknown_type' | 'unsupported_subject' }
  | {
      kind: 'identity';
      type: string;
      reason: string | null;
      /** Google's `sub` of the identity. */
      sub: string;
      /** The identity's state change, if any. */
      change: SecurityChange | null;
      endSessions: boolean;
      /** Recorded in the account's list (`user show`), with this action. */
      action: 'sessions_ended' | 'locked' | 'unlocked' | 'recorded';
    };

/** A subject we cannot resolve is not a malformed event: Google may send subject types we do not use. */
class MalformedEvent extends Error {}

const MAX_SUB_LENGTH = 255;
const MAX_STATE_LENGTH = 256;

/**
 * The Google `sub` an event is about: subject types `iss-sub` (RFC 8417 / RISC) and
 * `id_token_claims`, whose `iss`, when given, must be Google's accounts issuer (a `sub` of
 * another issuer is not a Google identity of ours). Null for other subject types.
 * @throws MalformedEvent when the subject is missing or of the wrong shape.
 */
function subjectOf(payload: Record<string, unknown>): string | null {
  const subject = payload.subject;
  if (typeof subject !== 'object' || subject === null || Array.isArray(subject)) throw new MalformedEvent('the event has no subject');
  const { subject_type: kind, iss, sub } = subject as Record<string, unknown>;
  if (kind !== 'iss-sub' && kind !== 'id_token_claims') return null;
  if (iss !== undefined && (typeof iss !== 'string' || !GOOGLE_ISSUERS.some((g) => sameIssuer(g, iss)))) return null;
  if (kind === 'iss-sub' && iss === undefined) throw new MalformedEvent('an iss-sub subject needs iss');
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUB_LENGTH) throw new MalformedEvent('the subject needs a sub');
  return sub;
}

/**
 * The plan of each event of a verified SET, in the SET's order; `at` is the SET's `iat`.
 * @returns null with a description when an event we act on is malformed (answered `invalid_request`).
 */
export function planEvents(events: Record<string, Record<string, unknown>>, at: number): { plans: EventPlan[] } | { malformed: string } {
  const plans: EventPlan[] = [];
  try {
    for (const [uri, payload] of Object.entries(events)) plans.push(planOne(uri, payload, at));
  } catch (err) {
    if (err instanceof MalformedEvent) return { malformed: err.message };
    throw err;
  }
  return { plans };
}

function planOne(uri: string, payload: Record<string, unknown>, at: number): EventPlan {
  const type = KNOWN_EVENTS.get(uri);
  if (type === undefined) return { kind: 'ignored', type: 'unknown', why: 'unknown_type' };
  if (type === 'verification') {
    const state = typeof payload.state === 'string' ? payload.state.slice(0, MAX_STATE_LENGTH).replace(/[^\x20-\x7e]/g, '?') : null;
    return { kind: 'verification', type, state };
  }
  const sub = subjectOf(payload);
  if (sub === null) return { kind: 'ignored', type, why: 'unsupported_subject' };
  const reason = typeof payload.reason === 'string' && payload.reason.length > 0 ? payload.reason.slice(0, 64) : null;
  const base = { kind: 'identity' as const, type, reason, sub };
  switch (type) {
    case 'sessions-revoked':
    case 'tokens-revoked':
      return { ...base, change: { kind: 'revoke', at }, endSessions: true, action: 'sessions_ended' };
    case 'account-disabled':
      if (reason === 'hijacking') return { ...base, change: { kind: 'lock', reason: 'hijacking', at }, endSessions: true, action: 'locked' };
      // Google's guidance: bulk-account (the account was disabled for sending spam, say) says
      // nothing about this app's sessions; it is recorded and counted, no lock-out.
      if (reason === 'bulk-account') return { ...base, change: null, endSessions: false, action: 'recorded' };
      // No reason (or one Google adds later): the account is disabled; refusing its sign-in
      // until account-enabled is the safe reading.
      return { ...base, change: { kind: 'lock', reason: 'disabled', at }, endSessions: false, action: 'locked' };
    case 'account-enabled':
      return { ...base, change: { kind: 'unlock', at }, endSessions: false, action: 'unlocked' };
    default:
      // token-revoked (we keep no Google tokens), account-credential-change-required.
      return { ...base, change: null, endSessions: false, action: 'recorded' };
  }
}
