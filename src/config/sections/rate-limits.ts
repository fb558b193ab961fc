import { defineSection } from '../section.js';
import { parseRateLimitRule, type RateLimitRule } from '../rate-limit-rule.js';
import { parsed } from '../variables.js';

/** Limits kept in the store, shared by every instance (src/rate-limit). */
export interface RateLimitsConfig {
  readonly rateLimits: {
    /** Sign-in attempts per client address (IPv6: per /64). */
    readonly signInPerAddress: RateLimitRule;
    /** Rejected ID tokens and refresh tokens per client address; once exhausted, sign-in and refresh are refused before any verification. */
    readonly authFailuresPerAddress: RateLimitRule;
    /** Verified sign-ins per account, whichever identity signs in. */
    readonly signInPerAccount: RateLimitRule;
    /** Refreshes per session. */
    readonly refreshPerSession: RateLimitRule;
  };
}

/** `<limit>/<window>`; the bounds are parseRateLimitRule's. */
const rule = (doc: string, fallback: string) =>
  parsed(doc, parseRateLimitRule, fallback, { accepts: '`<limit>/<window>`: a window (duration) from 1s to 1d, a limit from 1 to the window’s milliseconds' });

export const rateLimits = defineSection({
  title: 'Rate limits',
  variables: {
    RATE_LIMIT_SIGN_IN_PER_ADDRESS: rule(
      'sign-in attempts per client address (IPv6: per /64); `createSignInNonce` calls are counted against the same rule, separately',
      '30/1m',
    ),
    RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS: rule(
      'rejected ID tokens and refresh tokens per client address; once spent, sign-in and refresh from that address are refused before any verification. Missing or wrong secrets at `/oauth/introspect` are counted against the same rule, separately (then 429)',
      '10/1m',
    ),
    RATE_LIMIT_SIGN_IN_PER_ACCOUNT: rule('sign-ins per account (with any of its identities), counted after verification', '10/10m'),
    RATE_LIMIT_REFRESH_PER_SESSION: rule('successful refreshes per session', '10/1m'),
  },
  read: (v): RateLimitsConfig => ({
    rateLimits: {
      signInPerAddress: v.RATE_LIMIT_SIGN_IN_PER_ADDRESS,
      authFailuresPerAddress: v.RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS,
      signInPerAccount: v.RATE_LIMIT_SIGN_IN_PER_ACCOUNT,
      refreshPerSession: v.RATE_LIMIT_REFRESH_PER_SESSION,
    },
  }),
});
