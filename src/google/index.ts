import type { Config } from '../config/index.js';
import { loadDevIssuer } from '../dev/dev-issuer.js';
import { clockWithNow, ProviderKeys, type KeySetEvent, type KeySetLogger, type ProviderKeysOptions } from '../identity/keys/index.js';
import type { GoogleProfile, Stores } from '../store/types.js';
import { GoogleIdTokenVerifier } from './verify-id-token.js';

export { GoogleIdTokenVerifier, MAX_ID_TOKEN_LENGTH, CLOCK_TOLERANCE_S, MAX_LIFETIME_S, GOOGLE_ISSUERS } from './verify-id-token.js';
export type { GoogleIdTokenVerifierOptions, VerifiedGoogleIdToken, VerifyIdTokenOptions, VerificationKeyResolver } from './verify-id-token.js';

/**
 * Google's keys in the provider-neutral key cache. The name is part of what is shared: the
 * Redis record `jwks:google` and the locks `google-jwks-fetch` / `google-jwks-cooldown`, the
 * same as before the cache was provider-neutral, so instances of both versions share them.
 */
export const GOOGLE_KEYS = Object.freeze({ provider: 'google', displayName: 'Google' });

/** Google's keys, from the stores' shared cache and locks (the key cache's options otherwise). */
export function googleKeys(options: Omit<ProviderKeysOptions, 'provider' | 'displayName'>): ProviderKeys {
  return new ProviderKeys({ ...options, ...GOOGLE_KEYS });
}

export interface GoogleVerifierDeps {
  stores: Pick<Stores, 'keySets' | 'locks'>;
  log: KeySetLogger;
  now?: () => number;
  /** `fetch` for Google's key set (tests). */
  fetch?: typeof fetch;
  /** Counts key cache events (metrics). */
  onKeySourceEvent?: (event: KeySetEvent) => void;
}

export interface GoogleVerification {
  /** The resolver-facing function: the profile of a verified token, or AuthError / ServiceUnavailableError. */
  verifyIdToken(idToken: string, nonce: string | null): Promise<GoogleProfile>;
  /** Google's keys (and the development issuer's outside production); `close()` at shutdown. */
  readonly keySource: ProviderKeys;
  readonly verifier: GoogleIdTokenVerifier;
}

/**
 * Wires Google's keys (shared cache + locks from the stores) and the verifier from the config.
 * Outside production with the development issuer on, its public key is trusted as well.
 */
export async function createGoogleVerification(config: Config, deps: GoogleVerifierDeps): Promise<GoogleVerification> {
  const staticKeys = [];
  if (config.devIssuer.enabled && !config.production) {
    const dev = await loadDevIssuer(config, { now: deps.now });
    staticKeys.push(dev.devIssuerPublicJwk());
    deps.log.info({ kid: dev.kid, keyFile: dev.keyFile }, 'Development issuer enabled: tokens from `npm run dev:token` are accepted');
  }
  const keySource = googleKeys({
    jwksUri: config.google.jwksUri,
    store: deps.stores.keySets,
    locks: deps.stores.locks,
    logger: deps.log,
    clock: deps.now ? clockWithNow(deps.now) : undefined,
    fetch: deps.fetch,
    staticKeys,
    onEvent: deps.onKeySourceEvent,
  });
  // In production, load Google's keys before the first sign-in (in the background: start-up
  // must not depend on Google). Elsewhere they load on the first Google-signed token.
  if (config.production) void keySource.warm();
  const verifier = new GoogleIdTokenVerifier({
    keys: keySource,
    clientIds: config.google.clientIds,
    hostedDomains: config.google.hostedDomains,
    now: deps.now,
    // A bug, but its message may quote the token (JSON.parse does): log where, not what.
    onUnexpectedError: (err) =>
      deps.log.warn(
        { type: err instanceof Error ? err.name : typeof err, at: err instanceof Error ? err.stack?.split('\n').slice(1, 6).join('\n') : undefined },
        'unexpected error while verifying an ID token (answered as malformed)',
      ),
  });
  return {
    keySource,
    verifier,
    async verifyIdToken(idToken, nonce) {
      const t = await verifier.verify(idToken, { nonce });
      // Exactly the profile: exp/iat are not profile data.
      return {
        sub: t.sub,
        email: t.email,
        emailVerified: t.emailVerified,
        name: t.name,
        givenName: t.givenName,
        familyName: t.familyName,
        picture: t.picture,
        locale: t.locale,
        hostedDomain: t.hostedDomain,
      };
    },
  };
}
