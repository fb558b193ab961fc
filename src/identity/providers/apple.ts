import { AuthError, AuthReason } from '../../errors.js';
import { defineProvider, NO_PROFILE, text } from '../provider.js';

/**
 * Sign in with Apple (identity tokens from native apps, or from the web/Android flow of a
 * Services ID). What differs from Google:
 *
 * - `email_verified` and `is_private_email` are booleans or the strings "true"/"false" (Apple
 *   has sent both). Anything else is refused as `malformed`: these claims decide how the
 *   address may be used, so a value we cannot read is not guessed at.
 * - The token never carries the person's name. Apple gives it to the app once, on the first
 *   authorization; the app sends it to `signInWithApple` (src/sessions/sign-in.ts keeps it
 *   only for an account that has no name yet).
 * - `real_user_status` (0 unsupported, 1 unknown, 2 likely real) is kept with the identity;
 *   another value or type reads as absent.
 * - A sign-in with Apple writes only the account's email (when the token has one): Apple
 *   reports nothing about a picture, locale or Workspace domain, so those stay as they are.
 */
export const APPLE_ISSUER = 'https://appleid.apple.com';

export const apple = defineProvider<null>({
  name: 'apple',
  displayName: 'Apple',
  issuers: [APPLE_ISSUER],
  settings: (config) => (config.apple.clientIds.length === 0 ? null : { audiences: config.apple.clientIds, jwksUri: config.apple.jwksUri, options: null }),
  claims(payload) {
    const email = text(payload.email);
    const realUserStatus = payload.real_user_status;
    // Read even without an email: a claim of the wrong type is refused whatever else is there.
    const verified = appleBoolean(payload.email_verified);
    return {
      ...NO_PROFILE,
      email,
      emailVerified: email !== null && verified,
      isPrivateEmail: appleBoolean(payload.is_private_email),
      realUserStatus: realUserStatus === 0 || realUserStatus === 1 || realUserStatus === 2 ? realUserStatus : null,
    };
  },
  profileFields: (t) => (t.email === null ? [] : ['email', 'emailVerified']),
});

/** true / "true" → true; false / "false" / absent → false; anything else is refused. */
function appleBoolean(value: unknown): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false' || value === undefined) return false;
  throw new AuthError(AuthReason.MALFORMED);
}
