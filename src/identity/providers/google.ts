import { AuthError, AuthReason } from '../../errors.js';
import { defineProvider, text } from '../provider.js';

/**
 * Google Sign-In. Tokens name the issuer in two spellings; `email_verified` has been sent both
 * as a boolean and as the string "true"; `hd` is the Google Workspace domain of the account,
 * checked against GOOGLE_HOSTED_DOMAINS when that is set.
 *
 * A Google sign-in writes every profile field from the token, as it always has: a claim that
 * disappeared (a picture removed) clears the stored value.
 */
export const GOOGLE_ISSUERS: readonly string[] = Object.freeze(['accounts.google.com', 'https://accounts.google.com']);

export interface GoogleOptions {
  /** When non-empty, the token's `hd` must be one of these (compared case-insensitively). */
  readonly hostedDomains: readonly string[];
}

export const google = defineProvider<GoogleOptions>({
  name: 'google',
  displayName: 'Google',
  issuers: GOOGLE_ISSUERS,
  settings: (config) =>
    config.google.clientIds.length === 0 ? null : { audiences: config.google.clientIds, jwksUri: config.google.jwksUri, options: { hostedDomains: config.google.hostedDomains } },
  claims(payload, { hostedDomains }) {
    const hd = text(payload.hd);
    if (hostedDomains.length > 0 && (hd === null || !hostedDomains.some((d) => d.toLowerCase() === hd.toLowerCase()))) {
      throw new AuthError(AuthReason.HOSTED_DOMAIN_NOT_ALLOWED);
    }
    const email = text(payload.email);
    return {
      email,
      emailVerified: email !== null && (payload.email_verified === true || payload.email_verified === 'true'),
      isPrivateEmail: false,
      realUserStatus: null,
      name: text(payload.name),
      givenName: text(payload.given_name),
      familyName: text(payload.family_name),
      picture: text(payload.picture),
      locale: text(payload.locale),
      hostedDomain: hd,
    };
  },
  profileFields: () => ['email', 'emailVerified', 'name', 'givenName', 'familyName', 'picture', 'locale', 'hostedDomain'],
});
