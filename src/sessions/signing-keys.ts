import { createPrivateKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type JWK, type JSONWebKeySet } from 'jose';
import type { LockStore, SigningKeyStore, StoredSigningKey } from '../store/types.js';
import { randomId } from './ids.js';

/**
 * The gateway's own ES256 signing keys, shared by every instance through the store.
 *
 * Rotation without a flag day: a successor key is written `publishAheadMs` before it starts
 * signing, so every verifier (other instances, a router caching our JWKS) already has it when
 * the first token signed with it arrives. The predecessor stays published until every token
 * it could have signed has expired (successor activation + access-token lifetime + slack).
 * Which key signs is derived from the shared list alone (latest activation time not in the
 * future; ties broken by kid), so instances agree without talking to each other.
 */

export const SIGNING_ALG = 'ES256';

/** A key as jose imports it (a WebCrypto CryptoKey on Node). */
export type VerificationKey = Awaited<ReturnType<typeof importJWK>>;

export interface SigningKeyOptions {
  store: SigningKeyStore;
  locks: LockStore;
  now?: () => number;
  /** How often a new key takes over. Default 30 days. */
  rotationIntervalMs?: number;
  /** How long before it signs a new key is published. Default 1 hour. */
  publishAheadMs?: number;
  /** Access-token lifetime: how long a replaced key must stay published. */
  accessTokenTtlMs: number;
  /** How often the shared list is re-read. Default 60 s. */
  reloadIntervalMs?: number;
}

/** Defaults of SIGNING_KEY_ROTATION_INTERVAL and SIGNING_KEY_PUBLISH_AHEAD (src/config). */
export const DEFAULT_ROTATION_INTERVAL_MS = 30 * 86_400_000;
export const DEFAULT_PUBLISH_AHEAD_MS = 3_600_000;
const DEFAULT_RELOAD_INTERVAL_MS = 60_000;
/** Covers clock skew and an instance that reloads late (reloads happen every minute). */
const RETIRE_SLACK_MS = 5 * 60_000;
/** An unknown kid triggers at most one reload per this interval (made-up kids cost nothing). */
const UNKNOWN_KID_RELOAD_MS = 5_000;
const CREATE_LOCK = 'signing-key-maintenance';

interface LoadedKey {
  stored: StoredSigningKey;
  /** The private half as node:crypto signs with it (src/sessions/access-token.ts). */
  privateKey: KeyObject;
  publicKey: VerificationKey;
}

export class SigningKeys {
  private keys = new Map<string, LoadedKey>();
  private loadedAt = 0;
  private lastUnknownKidReload = 0;
  private reloading: Promise<void> | null = null;
  private readonly now: () => number;
  private readonly rotationIntervalMs: number;
  private readonly publishAheadMs: number;
  private readonly reloadIntervalMs: number;

  constructor(private readonly opts: SigningKeyOptions) {
    this.now = opts.now ?? Date.now;
    this.rotationIntervalMs = opts.rotationIntervalMs ?? DEFAULT_ROTATION_INTERVAL_MS;
    this.publishAheadMs = opts.publishAheadMs ?? DEFAULT_PUBLISH_AHEAD_MS;
    this.reloadIntervalMs = opts.reloadIntervalMs ?? DEFAULT_RELOAD_INTERVAL_MS;
  }

  get ready(): boolean {
    return this.keys.size > 0;
  }

  /** Loads the shared keys, creating or rotating them when due. Safe to call from every instance. */
  async maintain(): Promise<void> {
    let stored = await this.opts.store.list();
    if (this.needsWork(stored) && (await this.opts.locks.acquire(CREATE_LOCK, 10_000))) {
      try {
        stored = await this.opts.store.list(); // re-read under the lock: another instance may have acted
        await this.createOrRotate(stored);
        stored = await this.opts.store.list();
      } finally {
        await this.opts.locks.release(CREATE_LOCK);
      }
    } else if (stored.length === 0) {
      // Another instance holds the lock and is creating the first key: wait for it.
      const deadline = Date.now() + 10_000; // real time: this is a wait, not a policy decision
      while (stored.length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        stored = await this.opts.store.list();
      }
      if (stored.length === 0) throw new Error('no signing key appeared in the store');
    }
    await this.adopt(stored);
  }

  /** Re-reads the shared list when the last read is older than the reload interval. */
  async refreshIfStale(): Promise<void> {
    if (this.now() - this.loadedAt >= this.reloadIntervalMs) await this.reload();
  }

  private reload(): Promise<void> {
    this.reloading ??= this.maintain().finally(() => {
      this.reloading = null;
    });
    return this.reloading;
  }

  /** The key that signs now. */
  active(): LoadedKey {
    const now = this.now();
    let best: LoadedKey | undefined;
    for (const k of this.keys.values()) {
      if (k.stored.activatesAt > now) continue;
      if (
        !best ||
        k.stored.activatesAt > best.stored.activatesAt ||
        (k.stored.activatesAt === best.stored.activatesAt && k.stored.kid < best.stored.kid)
      ) {
        best = k;
      }
    }
    if (!best) throw new Error('signing keys are not loaded');
    return best;
  }

  /** Public key for a kid; reloads once (throttled) when the kid is unknown, e.g. just rotated elsewhere. */
  async publicKey(kid: string): Promise<VerificationKey | null> {
    const hit = this.keys.get(kid);
    if (hit) return hit.publicKey;
    const now = this.now();
    if (now - this.lastUnknownKidReload < UNKNOWN_KID_RELOAD_MS) return null;
    this.lastUnknownKidReload = now;
    await this.reload();
    return this.keys.get(kid)?.publicKey ?? null;
  }

  /** The published set: every key that is not retired (including ones that will sign soon). */
  jwks(): JSONWebKeySet {
    return {
      keys: [...this.keys.values()]
        .sort((a, b) => a.stored.activatesAt - b.stored.activatesAt)
        .map((k) => ({ ...k.stored.publicJwk, kid: k.stored.kid, alg: SIGNING_ALG, use: 'sig' })),
    };
  }

  private needsWork(stored: StoredSigningKey[]): boolean {
    if (stored.length === 0) return true;
    const now = this.now();
    const newest = stored.reduce((a, b) => (b.activatesAt > a.activatesAt ? b : a));
    if (newest.activatesAt + this.rotationIntervalMs - this.publishAheadMs <= now) return true;
    return stored.some((k) => k.retiresAt !== null && k.retiresAt <= now);
  }

  private async createOrRotate(stored: StoredSigningKey[]): Promise<void> {
    const now = this.now();
    for (const k of stored) if (k.retiresAt !== null && k.retiresAt <= now) await this.opts.store.remove(k.kid);
    const live = stored.filter((k) => k.retiresAt === null || k.retiresAt > now);
    if (live.length === 0) {
      await this.opts.store.add(await newKey(now, now));
      return;
    }
    const newest = live.reduce((a, b) => (b.activatesAt > a.activatesAt ? b : a));
    if (newest.activatesAt + this.rotationIntervalMs - this.publishAheadMs > now) return;
    // Publish first, sign later: the successor activates no sooner than publishAheadMs from now.
    const activatesAt = Math.max(newest.activatesAt + this.rotationIntervalMs, now + this.publishAheadMs);
    await this.opts.store.add(await newKey(now, activatesAt));
    // Every older key may still have signed tokens until activatesAt (+ an instance reloading late).
    const retiresAt = activatesAt + this.opts.accessTokenTtlMs + RETIRE_SLACK_MS;
    for (const k of live) {
      if (k.retiresAt === null) {
        await this.opts.store.replace({ ...k, retiresAt });
      }
    }
  }

  private async adopt(stored: StoredSigningKey[]): Promise<void> {
    const now = this.now();
    const next = new Map<string, LoadedKey>();
    for (const s of stored) {
      if (s.retiresAt !== null && s.retiresAt <= now) continue;
      const existing = this.keys.get(s.kid);
      if (existing) {
        next.set(s.kid, { ...existing, stored: s });
        continue;
      }
      next.set(s.kid, {
        stored: s,
        privateKey: createPrivateKey({ key: s.privateJwk as JsonWebKey, format: 'jwk' }),
        publicKey: (await importJWK(s.publicJwk, SIGNING_ALG)),
      });
    }
    this.keys = next;
    this.loadedAt = now;
  }
}

async function newKey(now: number, activatesAt: number): Promise<StoredSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const privateJwk: JWK = await exportJWK(privateKey);
  const publicJwk: JWK = await exportJWK(publicKey);
  return { kid: randomId(), privateJwk, publicJwk, createdAt: now, activatesAt, retiresAt: null };
}
