import type { CryptoKey, JWK } from 'jose';
import { rsaKeysOf } from './jwks.js';
import { importRsaKey } from './key-set.js';
import { KeySetCache } from './key-set-cache.js';
import type { KeySetCacheOptions, KeySetStats } from './options.js';

/**
 * What a token verifier needs from a provider's keys: the verification key for a `kid`.
 * @throws AuthError `unknown_key` when no trusted key has this kid.
 * @throws ServiceUnavailableError `keys_unavailable` when the provider's keys cannot be obtained.
 */
export interface KeyResolver {
  getKey(kid: string): Promise<CryptoKey>;
}

export interface ProviderKeysOptions extends KeySetCacheOptions {
  /**
   * Extra trusted RS256 public keys (the development issuer's), checked before the provider's.
   * Each needs a `kid`. Never pass these in production.
   */
  staticKeys?: readonly JWK[];
}

/**
 * One provider's keys as a verifier sees them: static keys first, then the provider's published
 * set through the shared cache (src/identity/keys/key-set-cache.ts). One per provider.
 */
export class ProviderKeys implements KeyResolver {
  readonly remote: KeySetCache;
  readonly #staticJwks: readonly JWK[];
  #static: Promise<Map<string, CryptoKey>> | null = null;

  constructor(options: ProviderKeysOptions) {
    const { staticKeys, ...cache } = options;
    this.remote = new KeySetCache(cache);
    this.#staticJwks = staticKeys ?? [];
  }

  get provider(): string {
    return this.remote.provider;
  }

  get stats(): Readonly<KeySetStats> {
    return this.remote.stats;
  }

  /** @throws TypeError when a static key is not a usable RS256 public key (a configuration error). */
  async getKey(kid: string): Promise<CryptoKey> {
    return (await this.#staticKeys()).get(kid) ?? this.remote.getKey(kid);
  }

  /**
   * Checks the static keys, then loads the provider's keys ahead of the first token. Resolves
   * true when usable keys are available; provider or store trouble is logged, not thrown.
   * @throws TypeError when a static key is invalid (a configuration error).
   */
  async warm(): Promise<boolean> {
    await this.#staticKeys();
    return this.remote.warm();
  }

  /** Resolves when no background refresh is in flight (the gateway's flush hook for tests). */
  settled(): Promise<void> {
    return this.remote.settled();
  }

  /** Shutdown: a fetch in flight is aborted and awaited, so nothing writes to a closing store. */
  close(): Promise<void> {
    return this.remote.close();
  }

  #staticKeys(): Promise<Map<string, CryptoKey>> {
    this.#static ??= (async () => {
      const map = new Map<string, CryptoKey>();
      for (const jwk of this.#staticJwks) {
        const [rsa] = rsaKeysOf({ keys: [jwk] });
        if (!rsa) throw new TypeError('every static key must be a public RS256 RSA JWK (2048 bits or more) with a kid');
        map.set(rsa.kid, await importRsaKey(rsa));
      }
      return map;
    })();
    return this.#static;
  }
}
