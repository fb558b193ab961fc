import * as jose from 'jose';
import type { CryptoKey } from 'jose';
import type { CachedKeySet } from '../../store/types.js';
import { rsaKeysOf, type RsaPublicJwk } from './jwks.js';

/** A key set ready to verify with: imported keys by `kid`, and the record's times. */
export interface KeySet {
  readonly keys: ReadonlyMap<string, CryptoKey>;
  readonly fetchedAt: number;
  readonly expiresAt: number;
  /** The issuer the discovery document named (a key set found through one), else null. */
  readonly issuer: string | null;
}

/** Imports an RS256 public key, refusing a real modulus under 2048 bits. */
export async function importRsaKey(jwk: RsaPublicJwk): Promise<CryptoKey> {
  const key = await jose.importJWK({ kty: 'RSA', n: jwk.n, e: jwk.e }, 'RS256');
  if (key instanceof Uint8Array) throw new TypeError('not an asymmetric key');
  // The length of `n` says little (leading zero bytes): check the real modulus.
  const bits = (key.algorithm as { modulusLength?: number }).modulusLength;
  if (typeof bits !== 'number' || bits < 2048) throw new TypeError('RSA modulus under 2048 bits');
  return key;
}

/**
 * The in-process key set of one provider, and the imported keys it reuses: a refresh that
 * returns mostly the same keys reuses their CryptoKeys (by `n.e`) instead of importing them
 * again, per refresh or per verification.
 */
export class LocalKeySet {
  #current: KeySet | null = null;
  /** Keys of the current set, by `n.e`. */
  #imported = new Map<string, CryptoKey>();

  get current(): KeySet | null {
    return this.#current;
  }

  /**
   * Makes `record` current when it is newer than the current set (or `always`, e.g. a set
   * fetched just now, which replaces whatever is there). Returns the resulting current set.
   */
  async adopt(record: CachedKeySet, always = false): Promise<KeySet | null> {
    if (!always && this.#current && record.fetchedAt <= this.#current.fetchedAt) return this.#current;
    const built = await this.#build(record);
    // Checked after the imports' awaits: another adoption may have installed a newer set meanwhile.
    if (built && (always || !this.#current || built.set.fetchedAt > this.#current.fetchedAt)) this.#install(built);
    return this.#current;
  }

  /** Makes a just-fetched `record` current, whatever is there; null (nothing changes) when none of its keys imports. */
  async replace(record: CachedKeySet): Promise<KeySet | null> {
    const built = await this.#build(record);
    if (built) this.#install(built);
    return built?.set ?? null;
  }

  #install(built: { set: KeySet; imported: Map<string, CryptoKey> }): void {
    this.#current = built.set;
    this.#imported = built.imported;
  }

  /** The record's usable keys (first of each kid), or null when none imports. */
  async #build(record: CachedKeySet): Promise<{ set: KeySet; imported: Map<string, CryptoKey> } | null> {
    const keys = new Map<string, CryptoKey>();
    const imported = new Map<string, CryptoKey>();
    for (const jwk of rsaKeysOf(record.jwks)) {
      if (keys.has(jwk.kid)) continue;
      const id = `${jwk.n}.${jwk.e}`;
      let key = imported.get(id) ?? this.#imported.get(id);
      if (!key) {
        try {
          key = await importRsaKey(jwk);
        } catch {
          continue;
        }
      }
      imported.set(id, key);
      keys.set(jwk.kid, key);
    }
    if (keys.size === 0) return null;
    return { set: { keys, fetchedAt: record.fetchedAt, expiresAt: record.expiresAt, issuer: record.issuer ?? null }, imported };
  }
}
