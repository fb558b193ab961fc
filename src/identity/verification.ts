import type { JWTPayload } from 'jose';
import type { Config } from '../config/index.js';
import { loadDevIssuer } from '../dev/dev-issuer.js';
import { AccountError } from '../errors.js';
import type { Stores } from '../store/types.js';
import { clockWithNow, ProviderKeys, type KeySetEvent, type KeySetLogger, type ProviderKeysOptions } from './keys/index.js';
import type { OidcProvider, VerifiedIdToken } from './provider.js';
import { PROVIDERS } from './providers/index.js';
import { IdTokenVerifier } from './verifier.js';

/**
 * A provider's keys in the provider-neutral key cache. The provider's name is part of what is
 * shared: the Redis record `jwks:<name>` and the locks `<name>-jwks-fetch` /
 * `<name>-jwks-cooldown` (for Google the same as before the cache was provider-neutral, so
 * instances of both versions share them).
 */
export function providerKeys(provider: Pick<OidcProvider, 'name' | 'displayName'>, options: Omit<ProviderKeysOptions, 'provider' | 'displayName'>): ProviderKeys {
  return new ProviderKeys({ ...options, provider: provider.name, displayName: provider.displayName });
}

export interface VerificationDeps {
  stores: Pick<Stores, 'keySets' | 'locks'>;
  log: KeySetLogger;
  now?: () => number;
  /** `fetch` for the providers' key sets (tests). */
  fetch?: typeof fetch;
  /** Counts key cache events (metrics). */
  onKeySourceEvent?: (provider: string, event: KeySetEvent) => void;
  /** Wraps each provider's verification (metrics time it). */
  instrument?: (provider: string, verify: VerifyIdToken) => VerifyIdToken;
}

export type VerifyIdToken = (idToken: string, nonce: string | null) => Promise<VerifiedIdToken>;
type VerifyEvent = (token: string) => Promise<JWTPayload>;

/** Every configured provider's verifier, by provider name. */
export class IdTokenVerification {
  constructor(private readonly byName: ReadonlyMap<string, { verify: VerifyIdToken; verifyEvent: VerifyEvent; keys: ProviderKeys }>) {}

  /** Whether the provider is configured (its client ids are set). */
  enabled(provider: string): boolean {
    return this.byName.has(provider);
  }

  /**
   * @throws AccountError PROVIDER_NOT_CONFIGURED when the provider is off.
   * @throws AuthError / ServiceUnavailableError as IdTokenVerifier.verify.
   */
  verify(provider: string, idToken: string, nonce: string | null): Promise<VerifiedIdToken> {
    const p = this.byName.get(provider);
    if (!p) return Promise.reject(new AccountError('PROVIDER_NOT_CONFIGURED'));
    return p.verify(idToken, nonce);
  }

  /**
   * A signed event of the provider (Apple's notifications; IdTokenVerifier.verifyEvent).
   * @throws AccountError PROVIDER_NOT_CONFIGURED when the provider is off.
   */
  verifyEvent(provider: string, token: string): Promise<JWTPayload> {
    const p = this.byName.get(provider);
    if (!p) return Promise.reject(new AccountError('PROVIDER_NOT_CONFIGURED'));
    return p.verifyEvent(token);
  }

  /** The configured providers' keys (a refresh to await in tests, a fetch to abort at shutdown). */
  get keySources(): ProviderKeys[] {
    return [...this.byName.values()].map((p) => p.keys);
  }

  async settled(): Promise<void> {
    await Promise.all(this.keySources.map((k) => k.settled()));
  }

  async close(): Promise<void> {
    await Promise.all(this.keySources.map((k) => k.close()));
  }
}

/**
 * Wires each configured provider's keys (shared cache + locks from the stores) and verifier.
 * Outside production with the development issuer on, its public key is trusted for every
 * provider: it signs Google- and Apple-shaped tokens (their issuers keep them apart).
 */
export async function createIdTokenVerification(config: Config, deps: VerificationDeps): Promise<IdTokenVerification> {
  const staticKeys = [];
  if (config.devIssuer.enabled && !config.production) {
    const dev = await loadDevIssuer(config, { now: deps.now });
    staticKeys.push(dev.devIssuerPublicJwk());
    deps.log.info({ kid: dev.kid, keyFile: dev.keyFile }, 'Development issuer enabled: tokens from `npm run dev:token` are accepted');
  }
  const byName = new Map<string, { verify: VerifyIdToken; verifyEvent: VerifyEvent; keys: ProviderKeys }>();
  for (const provider of PROVIDERS) {
    const settings = provider.settings(config);
    if (!settings) continue;
    const keys = providerKeys(provider, {
      jwksUri: settings.jwksUri,
      store: deps.stores.keySets,
      locks: deps.stores.locks,
      logger: deps.log,
      clock: deps.now ? clockWithNow(deps.now) : undefined,
      fetch: deps.fetch,
      staticKeys,
      onEvent: deps.onKeySourceEvent && ((event) => deps.onKeySourceEvent!(provider.name, event)),
    });
    // In production, load the keys before the first sign-in (in the background: start-up must
    // not depend on the provider). Elsewhere they load on the first token.
    if (config.production) void keys.warm();
    const verifier = new IdTokenVerifier({
      provider,
      keys,
      audiences: settings.audiences,
      options: settings.options,
      now: deps.now,
      // A bug, but its message may quote the token (JSON.parse does): log where, not what.
      onUnexpectedError: (err) =>
        deps.log.warn(
          { provider: provider.name, type: err instanceof Error ? err.name : typeof err, at: err instanceof Error ? err.stack?.split('\n').slice(1, 6).join('\n') : undefined },
          'unexpected error while verifying an ID token (answered as malformed)',
        ),
    });
    const verify: VerifyIdToken = (idToken, nonce) => verifier.verify(idToken, { nonce });
    byName.set(provider.name, { verify: deps.instrument ? deps.instrument(provider.name, verify) : verify, verifyEvent: (token) => verifier.verifyEvent(token), keys });
  }
  return new IdTokenVerification(byName);
}
