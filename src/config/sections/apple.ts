import { KEY_SET_URL_ACCEPTS, keySetUrlProblem } from '../key-set-url.js';
import { defineSection } from '../section.js';
import { list, text } from '../variables.js';
import { DEV_APPLE_CLIENT_ID, devIssuer } from './dev-issuer.js';

export const APPLE_JWKS_URI_DEFAULT = 'https://appleid.apple.com/auth/keys';

export interface AppleConfig {
  readonly apple: {
    /** Accepted `aud` values of Apple identity tokens; empty: Sign in with Apple is off. */
    readonly clientIds: readonly string[];
    readonly jwksUri: string;
  };
}

/**
 * Sign in with Apple. Off unless APPLE_CLIENT_IDS is set (then `signInWithApple` answers
 * PROVIDER_NOT_CONFIGURED and nothing else changes); in development with the development
 * issuer on, it is on for the issuer's Apple audience, like Google.
 */
export const apple = defineSection({
  title: 'Sign in with Apple',
  variables: {
    APPLE_CLIENT_IDS: list(
      'the ids accepted as the identity token’s `aud`: the app’s bundle id for sign-in in a native iOS app, the Services ID for web and Android flows',
      {
        shownDefault: `unset: Sign in with Apple is off; in development \`${DEV_APPLE_CLIENT_ID}\` (the development issuer’s audience; none when \`DEV_ISSUER=false\`)`,
      },
    ),
    APPLE_JWKS_URI: text('Apple’s key set', { default: APPLE_JWKS_URI_DEFAULT, accepts: KEY_SET_URL_ACCEPTS }),
  },
  read(v, ctx): AppleConfig {
    const problem = keySetUrlProblem(v.APPLE_JWKS_URI);
    if (problem) ctx.problem('APPLE_JWKS_URI', problem);
    const devAudience = ctx.of(devIssuer).devIssuer.enabled ? [DEV_APPLE_CLIENT_ID] : [];
    return { apple: { clientIds: v.APPLE_CLIENT_IDS.length > 0 ? v.APPLE_CLIENT_IDS : devAudience, jwksUri: v.APPLE_JWKS_URI } };
  },
});
