import { PROVIDER_NAME, type OidcProvider } from '../provider.js';
import { apple } from './apple.js';
import { google } from './google.js';

export { apple, APPLE_ISSUER } from './apple.js';
export { google, GOOGLE_ISSUERS, type GoogleOptions } from './google.js';

/**
 * Every identity provider the gateway knows, in the order the schema's `IdentityProvider`
 * enum lists them. Whether one is on is its config's say (`settings` returns null when off).
 */
export const PROVIDERS: readonly OidcProvider<unknown>[] = Object.freeze([google, apple] as OidcProvider<unknown>[]);

for (const p of PROVIDERS) if (!PROVIDER_NAME.test(p.name)) throw new TypeError(`invalid identity provider name "${p.name}"`);

/** The provider called `name`, or null (a name chosen by code, or the GraphQL enum's value lower-cased). */
export function providerNamed(name: string): OidcProvider<unknown> | null {
  return PROVIDERS.find((p) => p.name === name) ?? null;
}
