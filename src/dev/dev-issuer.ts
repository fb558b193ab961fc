import { createHash, randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as jose from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { DEV_APPLE_CLIENT_ID, DEV_CLIENT_ID, type Config } from '../config/index.js';

/**
 * The development issuer: Google-shaped ID tokens (iss https://accounts.google.com) and
 * Apple-shaped identity tokens (iss https://appleid.apple.com) signed by a local RSA key, so
 * the whole sign-in flow works without a Google or Apple account or internet. The gateway
 * trusts its public key (`devIssuerPublicJwk()` → every provider's `ProviderKeys` `staticKeys`)
 * only when `config.devIssuer.enabled`, which the config forces off in production.
 *
 * The private key lives in `<DEV_DIR>/google-dev-issuer.json` (mode 0600), created on first use
 * (the file kept its name from when it signed for Google only).
 */

export const DEV_ISSUER_FILE = 'google-dev-issuer.json';
export const DEV_KID_PREFIX = 'dev-';
const GOOGLE_ISSUER = 'https://accounts.google.com';
const APPLE_ISSUER = 'https://appleid.apple.com';
const TOKEN_LIFETIME_S = 3600;
/** Apple's identity tokens live 10 minutes. */
const APPLE_TOKEN_LIFETIME_S = 600;

export type DevIssuerConfig = Pick<Config, 'production' | 'devIssuer' | 'google' | 'apple'>;

export class DevIssuerDisabledError extends Error {
  constructor() {
    super('The development issuer is disabled (it is never available with NODE_ENV=production; DEV_ISSUER=false also turns it off).');
    this.name = 'DevIssuerDisabledError';
  }
}

export interface DevTokenInput {
  /** Default `google`. */
  provider?: 'google' | 'apple';
  email: string;
  /** Google only: Apple's tokens never carry a name (the app sends it to `signInWithApple`). */
  name?: string;
  /** Default: a stable sub derived from the email (the same email always gets the same account). */
  sub?: string;
  /** Default: the provider's first configured client id (DEV_CLIENT_ID / DEV_APPLE_CLIENT_ID when unset). */
  audience?: string;
  nonce?: string;
  /** Google only. */
  hd?: string;
  /** Apple only: `is_private_email` (a private relay address). */
  privateEmail?: boolean;
}

export interface DevIssuer {
  readonly kid: string;
  /** Absolute path of the key file. */
  readonly keyFile: string;
  /** The public key to trust (`staticKeys`). */
  devIssuerPublicJwk(): JWK;
  mintDevIdToken(input: DevTokenInput): Promise<string>;
}

interface KeyFile {
  kid: string;
  privateJwk: JWK;
  createdAt: string;
}

/**
 * Loads the development issuer's key from `config.devIssuer.dir`, creating it on first use.
 * @throws DevIssuerDisabledError unless `config.devIssuer.enabled` (never in production).
 */
export async function loadDevIssuer(config: DevIssuerConfig, options: { now?: () => number } = {}): Promise<DevIssuer> {
  if (config.production || !config.devIssuer.enabled) throw new DevIssuerDisabledError();
  const now = options.now ?? Date.now;
  const dir = resolve(config.devIssuer.dir);
  const keyFile = join(dir, DEV_ISSUER_FILE);
  const stored = await loadOrCreate(dir, keyFile);
  const privateKey = (await jose.importJWK(stored.privateJwk, 'RS256')) as CryptoKey;
  const { kty, n, e } = stored.privateJwk;
  const publicJwk: JWK = Object.freeze({ kty, n, e, kid: stored.kid, alg: 'RS256', use: 'sig' });
  const defaultAudience = { google: config.google.clientIds[0] ?? DEV_CLIENT_ID, apple: config.apple.clientIds[0] ?? DEV_APPLE_CLIENT_ID };

  return {
    kid: stored.kid,
    keyFile,
    devIssuerPublicJwk: () => ({ ...publicJwk }),
    async mintDevIdToken(input: DevTokenInput): Promise<string> {
      const email = input.email?.trim();
      if (!email || !/^[^\s@]+@[^\s@]+$/.test(email)) throw new TypeError('mintDevIdToken: a valid email is required');
      const provider = input.provider ?? 'google';
      const iat = Math.floor(now() / 1000);
      if (provider === 'apple') {
        if (input.name !== undefined || input.hd !== undefined) throw new TypeError('mintDevIdToken: Apple tokens carry no name or hosted domain (send givenName/familyName to signInWithApple)');
        const claims: Record<string, unknown> = {
          iss: APPLE_ISSUER,
          aud: input.audience ?? defaultAudience.apple,
          sub: input.sub ?? stableAppleSubFor(email),
          email,
          // Apple sends these as strings as often as booleans; the development issuer uses strings.
          email_verified: 'true',
          is_private_email: input.privateEmail ? 'true' : 'false',
          real_user_status: 2,
          auth_time: iat,
          iat,
          exp: iat + APPLE_TOKEN_LIFETIME_S,
        };
        if (input.nonce !== undefined) Object.assign(claims, { nonce: input.nonce, nonce_supported: true });
        return new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: stored.kid }).sign(privateKey);
      }
      if (input.privateEmail) throw new TypeError('mintDevIdToken: --private-email is for Apple tokens');
      const audience = input.audience ?? defaultAudience.google;
      const name = input.name?.trim() || null;
      const [givenName, ...rest] = name ? name.split(/\s+/) : [];
      const claims: Record<string, unknown> = {
        iss: GOOGLE_ISSUER,
        azp: audience,
        aud: audience,
        sub: input.sub ?? stableSubFor(email),
        email,
        email_verified: true,
        iat,
        exp: iat + TOKEN_LIFETIME_S,
      };
      if (name) {
        claims.name = name;
        claims.given_name = givenName;
        if (rest.length > 0) claims.family_name = rest.join(' ');
      }
      if (input.hd) claims.hd = input.hd;
      if (input.nonce !== undefined) claims.nonce = input.nonce;
      return new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: stored.kid, typ: 'JWT' }).sign(privateKey);
    },
  };
}

/** 21 decimal digits like Google's subs, derived from the lower-cased email. */
export function stableSubFor(email: string): string {
  const digest = createHash('sha256').update(`google-dev-issuer:${email.trim().toLowerCase()}`).digest();
  const n = BigInt(`0x${digest.subarray(0, 16).toString('hex')}`) % 10n ** 20n;
  return `1${n.toString().padStart(20, '0')}`;
}

/** Shaped like Apple's subs (`001234.<32 hex>.1234`), derived from the lower-cased email. */
export function stableAppleSubFor(email: string): string {
  const hex = createHash('sha256').update(`apple-dev-issuer:${email.trim().toLowerCase()}`).digest('hex');
  const digits = (s: string) => String(parseInt(s, 16) % 10_000).padStart(4, '0');
  return `00${digits(hex.slice(32, 36))}.${hex.slice(0, 32)}.${digits(hex.slice(36, 40))}`;
}

async function loadOrCreate(dir: string, keyFile: string): Promise<KeyFile> {
  const existing = await readKeyFile(keyFile);
  if (existing) return existing;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const privateJwk = await jose.exportJWK(privateKey);
  const kid = `${DEV_KID_PREFIX}${(await jose.calculateJwkThumbprint(privateJwk)).slice(0, 16)}`;
  const record: KeyFile = { kid, privateJwk: { ...privateJwk, kid, alg: 'RS256', use: 'sig' }, createdAt: new Date().toISOString() };
  // Write a private temp file, then link it into place: creation is atomic and never replaces
  // a key another process created meanwhile (then that one is used).
  const tmp = `${keyFile}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(tmp, keyFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  const stored = await readKeyFile(keyFile);
  if (!stored) throw new Error(`Could not create the development issuer key at ${keyFile}`);
  return stored;
}

async function readKeyFile(keyFile: string): Promise<KeyFile | null> {
  let text: string;
  try {
    text = await readFile(keyFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const invalid = () => new Error(`${keyFile} is not a development issuer key; delete it and a new one is created`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid();
  }
  const rec = parsed as Partial<KeyFile> | null;
  const jwk = rec?.privateJwk;
  if (typeof rec?.kid !== 'string' || !rec.kid.startsWith(DEV_KID_PREFIX) || !jwk || jwk.kty !== 'RSA' || typeof jwk.d !== 'string' || typeof jwk.n !== 'string') {
    throw invalid();
  }
  // Keep the private key private even if the file was copied around with a loose mode.
  const { mode } = await stat(keyFile);
  if ((mode & 0o077) !== 0) await chmod(keyFile, 0o600);
  return { kid: rec.kid, privateJwk: jwk, createdAt: String(rec.createdAt ?? '') };
}
