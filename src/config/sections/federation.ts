import { defineSection } from '../section.js';
import { text } from '../variables.js';

export const MIN_ROUTER_SECRET_LENGTH = 32;

export interface FederationConfig {
  /**
   * Apollo Federation: the secret the supergraph's router sends in `router-authorization`.
   * A request carrying it may read private user fields through `_entities` and receives inline
   * traces (src/federation/router-trust.ts). Null: no router is trusted.
   */
  readonly federation: { readonly routerSecret: string | null };
}

export const federation = defineSection({
  title: 'Federation',
  variables: {
    ROUTER_SHARED_SECRET: text(
      'the secret the supergraph’s router sends in `router-authorization`; a request carrying it may read private user fields through `_entities` and gets inline traces (see [Federation](#federation))',
      { unsetMeans: 'no router is trusted', accepts: `at least ${MIN_ROUTER_SECRET_LENGTH} characters` },
    ),
  },
  read(v, ctx): FederationConfig {
    // A guessable router secret would hand every user's private fields to whoever guesses it.
    if (v.ROUTER_SHARED_SECRET && v.ROUTER_SHARED_SECRET.length < MIN_ROUTER_SECRET_LENGTH) {
      ctx.problem('ROUTER_SHARED_SECRET', `must be at least ${MIN_ROUTER_SECRET_LENGTH} characters (e.g. \`openssl rand -base64 48\`)`);
    }
    return { federation: { routerSecret: v.ROUTER_SHARED_SECRET || null } };
  },
});
