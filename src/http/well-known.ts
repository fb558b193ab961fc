import type { FastifyPluginAsync } from 'fastify';
import { SIGNING_ALG, type SigningKeys } from '../sessions/signing-keys.js';
import { INTROSPECTION_PATH } from './introspection.js';

export interface WellKnownOptions {
  keys: SigningKeys;
  /** AUTH_ISSUER: `iss` of our tokens; the discovery document is served when it is an http(s) URL. */
  issuer: string;
  /** Token introspection is served (INTROSPECTION_SECRETS): discovery announces its endpoint. */
  introspection?: boolean;
}

const JWKS_PATH = '/.well-known/jwks.json';

/**
 * `/.well-known/jwks.json`: the public half of our signing keys, for other services and
 * routers that verify our access tokens themselves. A short max-age keeps rotations visible
 * quickly; a new key is published well before it signs (src/sessions/signing-keys.ts), so a
 * cached copy is safe.
 *
 * `/.well-known/openid-configuration`: OpenID Connect Discovery, so middleware configured with
 * just an issuer URL finds the keys. Only the fields a token verifier needs: the gateway is
 * not an OpenID provider (there is no authorization endpoint; tokens come from GraphQL).
 * `jwks_uri` is built from AUTH_ISSUER, never from the request's Host header (which a client
 * chooses, and a shared cache would then serve to everyone). With token introspection on, it
 * also names `introspection_endpoint` (RFC 8414), so an OAuth client library finds it too.
 */
export const wellKnownRoutes: FastifyPluginAsync<WellKnownOptions> = async (app, opts) => {
  app.get(JWKS_PATH, async (_req, reply) => {
    await opts.keys.refreshIfStale();
    return reply.header('cache-control', 'public, max-age=300').send(opts.keys.jwks());
  });

  const discovery = discoveryDocument(opts.issuer, { introspection: opts.introspection ?? false });
  app.get('/.well-known/openid-configuration', async (_req, reply) => {
    if (!discovery) return reply.code(404).send({ error: 'not_found', message: 'AUTH_ISSUER is not an http(s) URL' });
    return reply.header('cache-control', 'public, max-age=3600').send(discovery);
  });
};

export function discoveryDocument(issuer: string, opts: { introspection?: boolean } = {}): Record<string, unknown> | null {
  const url = URL.canParse(issuer) ? new URL(issuer) : null;
  // Discovery requires an issuer without query or fragment.
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash) return null;
  // The issuer may carry a path (https://example.com/auth): the key set sits under it.
  const base = issuer.endsWith('/') ? issuer.slice(0, -1) : issuer;
  return {
    issuer,
    jwks_uri: `${base}${JWKS_PATH}`,
    id_token_signing_alg_values_supported: [SIGNING_ALG],
    subject_types_supported: ['public'],
    claims_supported: ['iss', 'aud', 'sub', 'sid', 'iat', 'exp'],
    ...(opts.introspection ? { introspection_endpoint: `${base}${INTROSPECTION_PATH}` } : {}),
  };
}
