import { defineSection } from '../section.js';
import { flag, text } from '../variables.js';
import { server } from './server.js';

/** Audience the development issuer mints for when GOOGLE_CLIENT_IDS is unset (never in production). */
export const DEV_CLIENT_ID = 'dev-client.apps.googleusercontent.com';
/** Audience of the development issuer's Apple-shaped tokens when APPLE_CLIENT_IDS is unset (never in production). */
export const DEV_APPLE_CLIENT_ID = 'com.example.dev-client';

export interface DevIssuerConfig {
  /** Development issuer (Google- and Apple-shaped tokens signed by a local key); never on in production. */
  readonly devIssuer: { readonly enabled: boolean; readonly dir: string };
}

export const devIssuer = defineSection({
  title: 'Development issuer',
  variables: {
    DEV_ISSUER: flag('trust the local development issuer (`npm run dev:token`); ignored in production', true),
    DEV_DIR: text('where the development issuer keeps its key', { default: '.dev' }),
  },
  // The issuer's key is on the developer's disk: a production gateway must never trust it.
  read: (v, ctx): DevIssuerConfig => ({ devIssuer: { enabled: !ctx.of(server).production && v.DEV_ISSUER, dir: v.DEV_DIR } }),
});
