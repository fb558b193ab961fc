import { defineSection } from '../section.js';
import { list } from '../variables.js';
import { MIN_ROUTER_SECRET_LENGTH } from './federation.js';

export const MIN_INTROSPECTION_SECRET_LENGTH = MIN_ROUTER_SECRET_LENGTH;

/**
 * What a secret may be made of: RFC 6750's `b64token`, the syntax of a Bearer credential, so
 * the caller can send it as `Authorization: Bearer <secret>` as it is (`openssl rand -base64 48`
 * gives one).
 */
const BEARER_CREDENTIAL = /^[A-Za-z0-9\-._~+/]+=*$/;

export interface IntrospectionConfig {
  /**
   * Token introspection (RFC 7662, `POST /oauth/introspect`, src/http/introspection.ts): the
   * secrets its callers authenticate with. Empty: the endpoint is not served.
   */
  readonly introspection: { readonly secrets: readonly string[] };
}

export const introspection = defineSection({
  title: 'Token introspection',
  variables: {
    INTROSPECTION_SECRETS: list(
      'the secrets that callers of `POST /oauth/introspect` (token introspection: a router or a subgraph asking whether an access token’s session is still live; see [Federation](#federation)) send as `Authorization: Bearer <secret>`. Several, so one can be rotated: add the new one, move the callers, remove the old. `ROUTER_SHARED_SECRET` may be one of them',
      {
        unsetMeans: 'the endpoint is not served (404)',
        also: [`each at least ${MIN_INTROSPECTION_SECRET_LENGTH} characters of \`A-Z a-z 0-9 - . _ ~ + /\` (then \`=\` padding)`],
      },
    ),
  },
  read(v, ctx): IntrospectionConfig {
    for (const secret of v.INTROSPECTION_SECRETS) {
      // Whoever holds a secret learns, for any access token they have, whether it is live and
      // whose it is: a guessable one would make the endpoint a token oracle for anyone.
      if (secret.length < MIN_INTROSPECTION_SECRET_LENGTH) {
        ctx.problem('INTROSPECTION_SECRETS', `each secret must be at least ${MIN_INTROSPECTION_SECRET_LENGTH} characters (e.g. \`openssl rand -base64 48\`)`);
      } else if (!BEARER_CREDENTIAL.test(secret)) {
        ctx.problem('INTROSPECTION_SECRETS', 'a secret holds a character a Bearer credential cannot carry (allowed: `A-Z a-z 0-9 - . _ ~ + /`, then `=` padding)');
      }
    }
    return { introspection: { secrets: [...new Set(v.INTROSPECTION_SECRETS)] } };
  },
});
