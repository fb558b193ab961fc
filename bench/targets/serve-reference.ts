/**
 * Process entry for the "reference" target (see reference.ts). Environment: PORT, HOST,
 * REDIS_URL, REDIS_KEY_PREFIX, GOOGLE_CLIENT_ID, GOOGLE_PEM_CERTS_URL (the fake issuer's
 * `/oauth2/v1/certs`; unset = Google's). Apollo's own SIGTERM handler stops it.
 */
import { startStandaloneServer } from '@apollo/server/standalone';
import { Redis } from 'ioredis';
import { createReferenceServer } from './reference.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const { server, context } = createReferenceServer({
  redis,
  prefix: process.env.REDIS_KEY_PREFIX ?? 'ref:',
  clientId: process.env.GOOGLE_CLIENT_ID ?? '',
  pemCertsUrl: process.env.GOOGLE_PEM_CERTS_URL,
});
const { url } = await startStandaloneServer(server, {
  context,
  listen: { port: Number(process.env.PORT ?? 4001), host: process.env.HOST ?? '127.0.0.1' },
});
process.stdout.write(`reference listening at ${url}\n`);
