import { KEY_SET_URL_ACCEPTS, keySetUrlProblem } from '../key-set-url.js';
import { defineSection } from '../section.js';
import { list, text } from '../variables.js';
import { DEV_CLIENT_ID, devIssuer } from './dev-issuer.js';
import { server } from './server.js';

export const GOOGLE_JWKS_URI_DEFAULT = 'https://www.googleapis.com/oauth2/v3/certs';

export interface GoogleConfig {
  readonly google: {
    /** Accepted `aud` values of Google ID tokens. */
    readonly clientIds: readonly string[];
    readonly jwksUri: string;
    /** Allowed `hd` claims, lower case; empty: any account. */
    readonly hostedDomains: readonly string[];
  };
}

export const google = defineSection({
  title: 'Google sign-in',
  variables: {
    GOOGLE_CLIENT_IDS: list('the OAuth client ids accepted as the ID token’s `aud` (web, iOS, Android…)', {
      shownDefault: `required in production; in development \`${DEV_CLIENT_ID}\` (the development issuer’s audience; none when \`DEV_ISSUER=false\`)`,
    }),
    GOOGLE_JWKS_URI: text('Google’s key set', { default: GOOGLE_JWKS_URI_DEFAULT, accepts: KEY_SET_URL_ACCEPTS }),
    GOOGLE_HOSTED_DOMAINS: list('allow-list for the `hd` claim (Workspace domains; compared case-insensitively)', { unsetMeans: 'any account' }),
  },
  read(v, ctx): GoogleConfig {
    if (ctx.of(server).production && v.GOOGLE_CLIENT_IDS.length === 0) ctx.problem('GOOGLE_CLIENT_IDS', 'is required when NODE_ENV=production (comma-separated OAuth client ids)');
    const problem = keySetUrlProblem(v.GOOGLE_JWKS_URI);
    if (problem) ctx.problem('GOOGLE_JWKS_URI', problem);
    const devAudience = ctx.of(devIssuer).devIssuer.enabled ? [DEV_CLIENT_ID] : [];
    return {
      google: {
        clientIds: v.GOOGLE_CLIENT_IDS.length > 0 ? v.GOOGLE_CLIENT_IDS : devAudience,
        jwksUri: v.GOOGLE_JWKS_URI,
        hostedDomains: v.GOOGLE_HOSTED_DOMAINS.map((d) => d.toLowerCase()),
      },
    };
  },
});
