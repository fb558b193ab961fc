import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import * as jose from 'jose';
import { DEV_APPLE_CLIENT_ID, DEV_CLIENT_ID, loadConfig, type Config } from '../../src/config/index.js';
import { DEV_ISSUER_FILE, DevIssuerDisabledError, loadDevIssuer, stableAppleSubFor, stableSubFor } from '../../src/dev/dev-issuer.js';
import { apple, google } from '../../src/identity/providers/index.js';
import { createIdTokenVerification, providerKeys } from '../../src/identity/verification.js';
import { IdTokenVerifier } from '../../src/identity/verifier.js';
import { createMemoryStores } from '../../src/store/memory/index.js';
import { FakeGoogle } from '../support/fake-google.js';
import { ALICE, captureLogger, expectAuthError, googleVerifier } from '../identity/helpers.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ag-dev-issuer-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function devConfig(dir: string, env: Record<string, string> = {}): Config {
  return loadConfig({ NODE_ENV: 'development', DEV_DIR: dir, ...env });
}

/** A fetch that fails the test if anything tries to reach a JWKS endpoint. */
const noNetwork: typeof fetch = async () => {
  throw new Error('no network in this test');
};

function verifierTrusting(jwk: jose.JWK, clientIds = [DEV_CLIENT_ID]) {
  const stores = createMemoryStores();
  const keys = providerKeys(google, { jwksUri: 'https://www.googleapis.com/oauth2/v3/certs', store: stores.keySets, locks: stores.locks, fetch: noNetwork, staticKeys: [jwk], logger: captureLogger() });
  return { keys, verifier: googleVerifier({ keys, clientIds }) };
}

function appleVerifierTrusting(jwk: jose.JWK, audiences = [DEV_APPLE_CLIENT_ID]) {
  const stores = createMemoryStores();
  const keys = providerKeys(apple, { jwksUri: 'https://appleid.apple.com/auth/keys', store: stores.keySets, locks: stores.locks, fetch: noNetwork, staticKeys: [jwk], logger: captureLogger() });
  return { keys, verifier: new IdTokenVerifier({ provider: apple, keys, audiences, options: null }) };
}

describe('development issuer', () => {
  it('is unavailable unless enabled, and never in production', async () => {
    const dir = tempDir();
    await expect(loadDevIssuer(devConfig(dir, { DEV_ISSUER: 'false' }))).rejects.toBeInstanceOf(DevIssuerDisabledError);
    const prod = loadConfig({ NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:1', GOOGLE_CLIENT_IDS: 'x', AUTH_ISSUER: 'https://auth.example.com', DEV_DIR: dir, DEV_ISSUER: 'true' });
    await expect(loadDevIssuer(prod)).rejects.toBeInstanceOf(DevIssuerDisabledError);
    // Even a hand-made config claiming enabled is refused when production is set.
    await expect(loadDevIssuer({ ...prod, devIssuer: { enabled: true, dir } })).rejects.toBeInstanceOf(DevIssuerDisabledError);
    expect(() => statSync(join(dir, DEV_ISSUER_FILE))).toThrow();
  });

  it('creates its key once (mode 0600, kid prefixed dev-) and reuses it', async () => {
    const dir = join(tempDir(), 'nested', '.dev');
    const a = await loadDevIssuer(devConfig(dir));
    expect(a.kid).toMatch(/^dev-[A-Za-z0-9_-]{16}$/);
    expect(a.keyFile).toBe(join(dir, DEV_ISSUER_FILE));
    expect(statSync(a.keyFile).mode & 0o777).toBe(0o600);
    const b = await loadDevIssuer(devConfig(dir));
    expect(b.kid).toBe(a.kid);
    expect(b.devIssuerPublicJwk()).toEqual(a.devIssuerPublicJwk());
  });

  it('concurrent first loads agree on one key', async () => {
    const dir = tempDir();
    const all = await Promise.all(Array.from({ length: 5 }, () => loadDevIssuer(devConfig(dir))));
    expect(new Set(all.map((i) => i.kid)).size).toBe(1);
  });

  it('the public JWK has no private members', async () => {
    const jwk = (await loadDevIssuer(devConfig(tempDir()))).devIssuerPublicJwk();
    expect(Object.keys(jwk).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
  });

  it('tightens a loose key file mode and rejects a corrupt file with a clear message', async () => {
    const dir = tempDir();
    const first = await loadDevIssuer(devConfig(dir));
    chmodSync(first.keyFile, 0o644);
    await loadDevIssuer(devConfig(dir));
    expect(statSync(first.keyFile).mode & 0o777).toBe(0o600);
    writeFileSync(first.keyFile, '{"kid":"not-dev","privateJwk":{}}');
    await expect(loadDevIssuer(devConfig(dir))).rejects.toThrow(/delete it/);
  });

  it('mints Google-shaped tokens the verifier accepts with the dev key as a static key, offline', async () => {
    const issuer = await loadDevIssuer(devConfig(tempDir()));
    const { verifier, keys } = verifierTrusting(issuer.devIssuerPublicJwk());
    const token = await issuer.mintDevIdToken({ email: 'you@example.com', name: 'Ada King Lovelace', nonce: 'n1', hd: 'example.com' });
    const header = jose.decodeProtectedHeader(token);
    expect(header).toMatchObject({ alg: 'RS256', kid: issuer.kid });
    const claims = jose.decodeJwt(token);
    expect(claims).toMatchObject({ iss: 'https://accounts.google.com', aud: DEV_CLIENT_ID, azp: DEV_CLIENT_ID, email_verified: true });
    expect(claims.exp! - claims.iat!).toBe(3600);
    const p = await verifier.verify(token, { nonce: 'n1' });
    expect(p).toMatchObject({
      sub: stableSubFor('you@example.com'),
      email: 'you@example.com',
      emailVerified: true,
      name: 'Ada King Lovelace',
      givenName: 'Ada',
      familyName: 'King Lovelace',
      hostedDomain: 'example.com',
    });
    expect(keys.stats.fetches).toBe(0);
  });

  it('mints Apple-shaped tokens (string booleans, private relay flag, no name) the Apple verifier accepts, offline', async () => {
    const issuer = await loadDevIssuer(devConfig(tempDir()));
    const { verifier, keys } = appleVerifierTrusting(issuer.devIssuerPublicJwk());
    const token = await issuer.mintDevIdToken({ provider: 'apple', email: 'x@privaterelay.appleid.com', privateEmail: true, nonce: 'n1' });
    const claims = jose.decodeJwt(token);
    expect(claims).toMatchObject({ iss: 'https://appleid.apple.com', aud: DEV_APPLE_CLIENT_ID, email_verified: 'true', is_private_email: 'true', real_user_status: 2, nonce_supported: true });
    expect(claims.exp! - claims.iat!).toBe(600);
    expect(claims.name).toBeUndefined();
    await expect(verifier.verify(token, { nonce: 'n1' })).resolves.toMatchObject({
      provider: 'apple',
      sub: stableAppleSubFor('x@privaterelay.appleid.com'),
      email: 'x@privaterelay.appleid.com',
      emailVerified: true,
      isPrivateEmail: true,
      realUserStatus: 2,
      name: null,
    });
    const plain = jose.decodeJwt(await issuer.mintDevIdToken({ provider: 'apple', email: 'ada@example.com' }));
    expect(plain).toMatchObject({ is_private_email: 'false' });
    expect(keys.stats.fetches).toBe(0);
    // Google's verifier refuses it (Apple's issuer), and Apple's refuses a Google-shaped one.
    const { verifier: g } = verifierTrusting(issuer.devIssuerPublicJwk());
    await expectAuthError(g.verify(token), 'wrong_issuer');
    await expectAuthError(verifier.verify(await issuer.mintDevIdToken({ email: 'a@b.c', audience: DEV_APPLE_CLIENT_ID })), 'wrong_issuer');
  });

  it('an Apple token carries no name or hosted domain, and --private-email is Apple-only', async () => {
    const issuer = await loadDevIssuer(devConfig(tempDir()));
    await expect(issuer.mintDevIdToken({ provider: 'apple', email: 'a@b.c', name: 'Ada' })).rejects.toThrow(/no name or hosted domain/);
    await expect(issuer.mintDevIdToken({ provider: 'apple', email: 'a@b.c', hd: 'example.com' })).rejects.toThrow(/no name or hosted domain/);
    await expect(issuer.mintDevIdToken({ email: 'a@b.c', privateEmail: true })).rejects.toThrow(/for Apple tokens/);
  });

  it('derives a stable Apple-like sub from the email (case-insensitive)', () => {
    expect(stableAppleSubFor('X@Example.com')).toBe(stableAppleSubFor('x@example.com'));
    expect(stableAppleSubFor('x@example.com')).toMatch(/^\d{6}\.[0-9a-f]{32}\.\d{4}$/);
    expect(stableAppleSubFor('x@example.com')).not.toBe(stableAppleSubFor('y@example.com'));
  });

  it('derives a stable Google-like sub from the email (case-insensitive), overridable', async () => {
    expect(stableSubFor('You@Example.com')).toBe(stableSubFor('you@example.com'));
    expect(stableSubFor('a@example.com')).not.toBe(stableSubFor('b@example.com'));
    expect(stableSubFor('a@example.com')).toMatch(/^\d{21}$/);
    const issuer = await loadDevIssuer(devConfig(tempDir()));
    expect(jose.decodeJwt(await issuer.mintDevIdToken({ email: 'a@b.c', sub: 'custom-sub' })).sub).toBe('custom-sub');
  });

  it('mints for the configured client id by default, or the given audience', async () => {
    const issuer = await loadDevIssuer(devConfig(tempDir(), { GOOGLE_CLIENT_IDS: 'mine.apps.googleusercontent.com', APPLE_CLIENT_IDS: 'com.example.mine,com.example.other' }));
    expect(jose.decodeJwt(await issuer.mintDevIdToken({ email: 'a@b.c' })).aud).toBe('mine.apps.googleusercontent.com');
    expect(jose.decodeJwt(await issuer.mintDevIdToken({ provider: 'apple', email: 'a@b.c' })).aud).toBe('com.example.mine');
    expect(jose.decodeJwt(await issuer.mintDevIdToken({ email: 'a@b.c', audience: 'x' })).aud).toBe('x');
  });

  it('refuses an invalid email', async () => {
    const issuer = await loadDevIssuer(devConfig(tempDir()));
    await expect(issuer.mintDevIdToken({ email: 'not-an-email' })).rejects.toThrow(TypeError);
  });

  it('its tokens are not trusted by a key source without the static key', async () => {
    const fake = await FakeGoogle.start();
    try {
      const issuer = await loadDevIssuer(devConfig(tempDir()));
      const stores = createMemoryStores();
      const keys = providerKeys(google, { jwksUri: fake.jwksUri, store: stores.keySets, locks: stores.locks, logger: captureLogger() });
      const v = googleVerifier({ keys, clientIds: [DEV_CLIENT_ID] });
      await expectAuthError(v.verify(await issuer.mintDevIdToken({ email: 'a@b.c' })), 'unknown_key');
    } finally {
      await fake.close();
    }
  });
});

describe('createIdTokenVerification (wiring)', () => {
  let fake: FakeGoogle;
  beforeAll(async () => {
    fake = await FakeGoogle.start({ clientId: DEV_CLIENT_ID });
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(() => {
    fake.fetchCount = 0;
  });

  it('development: trusts the dev issuer (for Google and Apple, both on by default) and Google; returns exactly the verified claims', async () => {
    const dir = tempDir();
    const config = devConfig(dir, { GOOGLE_JWKS_URI: fake.jwksUri });
    const log = captureLogger();
    const g = await createIdTokenVerification(config, { stores: createMemoryStores(), log });
    expect([g.enabled('google'), g.enabled('apple')]).toEqual([true, true]);
    const issuer = await loadDevIssuer(config);
    const profile = await g.verify('google', await issuer.mintDevIdToken({ email: 'dev@example.com' }), null);
    expect(Object.keys(profile).sort()).toEqual(['email', 'emailVerified', 'exp', 'familyName', 'givenName', 'hostedDomain', 'iat', 'isPrivateEmail', 'locale', 'name', 'picture', 'provider', 'realUserStatus', 'sub']);
    expect(fake.fetchCount).toBe(0);
    expect((await g.verify('google', await fake.mint(), null)).email).toBe('alice@example.com');
    expect(fake.fetchCount).toBe(1);
    await expect(g.verify('apple', await issuer.mintDevIdToken({ provider: 'apple', email: 'dev@example.com' }), null)).resolves.toMatchObject({ provider: 'apple', email: 'dev@example.com' });
    expect(log.lines.some((l) => /Development issuer enabled/.test(l.message))).toBe(true);
  });

  it('development with DEV_ISSUER=false and no APPLE_CLIENT_IDS: Apple is off (PROVIDER_NOT_CONFIGURED)', async () => {
    const config = devConfig(tempDir(), { DEV_ISSUER: 'false', GOOGLE_CLIENT_IDS: DEV_CLIENT_ID, GOOGLE_JWKS_URI: fake.jwksUri });
    const g = await createIdTokenVerification(config, { stores: createMemoryStores(), log: captureLogger() });
    expect([g.enabled('google'), g.enabled('apple')]).toEqual([true, false]);
    await expect(g.verify('apple', await fake.mint(), null)).rejects.toMatchObject({ extensions: { code: 'PROVIDER_NOT_CONFIGURED' } });
  });

  it('production: the dev key is not trusted, Apple is off without APPLE_CLIENT_IDS, and no key file is created', async () => {
    const dir = tempDir();
    const config = loadConfig({ NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:1', GOOGLE_CLIENT_IDS: DEV_CLIENT_ID, AUTH_ISSUER: 'https://auth.example.com', DEV_DIR: dir, GOOGLE_JWKS_URI: fake.jwksUri });
    const g = await createIdTokenVerification(config, { stores: createMemoryStores(), log: captureLogger() });
    expect(() => statSync(join(dir, DEV_ISSUER_FILE))).toThrow();
    expect(g.enabled('apple')).toBe(false);
    const devIssuer = await loadDevIssuer(devConfig(tempDir()));
    await expectAuthError(g.verify('google', await devIssuer.mintDevIdToken({ email: 'a@b.c' }), null), 'unknown_key');
    await expect(g.verify('google', await fake.mint(), null)).resolves.toEqual({ ...ALICE, exp: expect.any(Number), iat: expect.any(Number) });
    await g.close();
  });

  it('passes the nonce through', async () => {
    const config = devConfig(tempDir(), { GOOGLE_JWKS_URI: fake.jwksUri });
    const g = await createIdTokenVerification(config, { stores: createMemoryStores(), log: captureLogger() });
    const issuer = await loadDevIssuer(config);
    const token = await issuer.mintDevIdToken({ email: 'a@b.c', nonce: 'abc' });
    await expect(g.verify('google', token, 'abc')).resolves.toEqual({
      provider: 'google',
      sub: stableSubFor('a@b.c'),
      email: 'a@b.c',
      emailVerified: true,
      isPrivateEmail: false,
      realUserStatus: null,
      name: null,
      givenName: null,
      familyName: null,
      picture: null,
      locale: null,
      hostedDomain: null,
      exp: expect.any(Number),
      iat: expect.any(Number),
    });
    await expectAuthError(g.verify('google', token, 'abd'), 'nonce_mismatch');
  });

  it('key file content is a private RSA JWK', async () => {
    const dir = tempDir();
    const issuer = await loadDevIssuer(devConfig(dir));
    const stored = JSON.parse(readFileSync(issuer.keyFile, 'utf8'));
    expect(stored.kid).toBe(issuer.kid);
    expect(stored.privateJwk).toMatchObject({ kty: 'RSA', kid: issuer.kid });
    expect(typeof stored.privateJwk.d).toBe('string');
  });
});
