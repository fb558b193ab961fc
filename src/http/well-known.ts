import type { FastifyPluginAsync } from 'fastify';
import type { SigningKeys } from '../sessions/signing-keys.js';

export interface WellKnownOptions {
  keys: SigningKeys;
}

/**
 * The public half of our signing keys, for other services and routers that verify our
 * access tokens themselves. A short max-age keeps rotations visible quickly; a new key is
 * published well before it signs (src/sessions/signing-keys.ts), so a cached copy is safe.
 */
export const wellKnownRoutes: FastifyPluginAsync<WellKnownOptions> = async (app, opts) => {
  app.get('/.well-known/jwks.json', async (_req, reply) => {
    await opts.keys.refreshIfStale();
    return reply.header('cache-control', 'public, max-age=300').send(opts.keys.jwks());
  });
};
