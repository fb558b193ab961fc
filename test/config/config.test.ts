import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { ConfigError, DEV_CLIENT_ID, loadConfig } from '../../src/config/index.js';
import { problems } from './problems.js';
import { parseDuration } from '../../src/config/duration.js';

describe('configuration', () => {
  it('has working defaults in development', () => {
    const c = loadConfig({});
    expect(c.production).toBe(false);
    expect(c.port).toBe(4000);
    expect(c.host).toBe('0.0.0.0');
    expect(c.redis).toEqual({ keyPrefix: 'ag:', topology: null });
    expect(c.google.clientIds).toEqual([DEV_CLIENT_ID]);
    expect(c.google.jwksUri).toBe('https://www.googleapis.com/oauth2/v3/certs');
    expect(c.tokens.accessTtlMs).toBe(15 * 60_000);
    expect(c.tokens.refreshTtlMs).toBe(30 * 86_400_000);
    expect(c.devIssuer.enabled).toBe(true);
  });

  it('parses lists and durations', () => {
    const c = loadConfig({ GOOGLE_CLIENT_IDS: ' a , b,,', ACCESS_TOKEN_TTL: '90s', GOOGLE_HOSTED_DOMAINS: 'Example.COM' });
    expect(c.google.clientIds).toEqual(['a', 'b']);
    expect(c.tokens.accessTtlMs).toBe(90_000);
    expect(c.google.hostedDomains).toEqual(['example.com']);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('30')).toBe(30_000);
    expect(() => parseDuration('soon')).toThrow();
  });

  it('names every bad variable at once', () => {
    let err: unknown;
    try {
      loadConfig({ PORT: 'eighty', ACCESS_TOKEN_TTL: 'soon', LOG_LEVEL: 'loud' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(Object.keys((err as ConfigError).problems).sort()).toEqual(['ACCESS_TOKEN_TTL', 'LOG_LEVEL', 'PORT']);
  });

  it('refuses the embedded store, a missing client id list and the dev issuer in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/REDIS_URL[\s\S]*GOOGLE_CLIENT_IDS|GOOGLE_CLIENT_IDS[\s\S]*REDIS_URL/);
    const c = loadConfig({ NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:1', GOOGLE_CLIENT_IDS: 'x', AUTH_ISSUER: 'https://auth.example.com', DEV_ISSUER: 'true' });
    expect(c.devIssuer.enabled).toBe(false);
    expect(c.google.clientIds).toEqual(['x']);
  });

  it('requires AUTH_ISSUER in production (a default naming the port would make instances refuse each other’s tokens); development keeps the default', () => {
    const prod = { NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:1', GOOGLE_CLIENT_IDS: 'x' };
    expect(problems(prod)).toEqual({ AUTH_ISSUER: expect.stringMatching(/^is required when NODE_ENV=production \(the public URL every instance puts in `iss`/) });
    expect(Object.keys(problems({ ...prod, AUTH_ISSUER: '' }))).toEqual(['AUTH_ISSUER']);
    const [a, b] = ['4000', '4001'].map((PORT) => loadConfig({ ...prod, PORT, AUTH_ISSUER: 'https://auth.example.com' }));
    expect([a!.tokens.issuer, b!.tokens.issuer]).toEqual(['https://auth.example.com', 'https://auth.example.com']);
    expect(loadConfig({ PORT: '4100' }).tokens.issuer).toBe('http://localhost:4100');
    expect(loadConfig({ PORT: '4100', AUTH_ISSUER: 'https://auth.example.com' }).tokens.issuer).toBe('https://auth.example.com');
  });

  it('accepts http: for the key set only on loopback', () => {
    expect(() => loadConfig({ GOOGLE_JWKS_URI: 'http://keys.example.com/certs' })).toThrow(/GOOGLE_JWKS_URI/);
    expect(loadConfig({ GOOGLE_JWKS_URI: 'http://127.0.0.1:9/certs' }).google.jwksUri).toBe('http://127.0.0.1:9/certs');
    expect(() => loadConfig({ GOOGLE_JWKS_URI: 'not a url' })).toThrow(/GOOGLE_JWKS_URI/);
    expect(() => loadConfig({ REDIS_URL: 'localhost:6379' })).toThrow(/REDIS_URL/);
    expect(() => loadConfig({ APPLE_JWKS_URI: 'http://appleid.apple.com/auth/keys' })).toThrow(/APPLE_JWKS_URI: must be an https: URL/);
    expect(loadConfig({ APPLE_JWKS_URI: 'http://[::1]:9/auth/keys' }).apple.jwksUri).toBe('http://[::1]:9/auth/keys');
    expect(() => loadConfig({ APPLE_JWKS_URI: 'not a url' })).toThrow(/APPLE_JWKS_URI: expected a URL/);
  });

  it('Sign in with Apple: off in production without APPLE_CLIENT_IDS (not an error), on in development for the dev issuer', () => {
    const prod = { NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:1', GOOGLE_CLIENT_IDS: 'x', AUTH_ISSUER: 'https://auth.example.com' };
    expect(loadConfig(prod).apple).toEqual({ clientIds: [], jwksUri: 'https://appleid.apple.com/auth/keys' });
    expect(loadConfig({ ...prod, APPLE_CLIENT_IDS: ' com.example.app , com.example.web,' }).apple.clientIds).toEqual(['com.example.app', 'com.example.web']);
    expect(loadConfig({}).apple.clientIds).toEqual(['com.example.dev-client']);
    expect(loadConfig({ DEV_ISSUER: 'false' }).apple.clientIds).toEqual([]);
    expect(loadConfig({ APPLE_CLIENT_IDS: 'com.example.app' }).apple.clientIds).toEqual(['com.example.app']);
  });

  it('has defaults for the session and sign-in policies and the key rotation schedule', () => {
    const c = loadConfig({});
    expect(c.sessions).toEqual({ maxPerUser: 100 });
    expect(c.signIn).toEqual({ requireNonce: false, rejectReplayedIdTokens: false });
    expect(c.signingKeys).toEqual({ rotationIntervalMs: 30 * 86_400_000, publishAheadMs: 3_600_000 });
    expect(c.tokens.sessionMaxLifetimeMs).toBe(90 * 86_400_000);
    const set = loadConfig({
      MAX_SESSIONS_PER_USER: '5',
      REQUIRE_SIGN_IN_NONCE: 'true',
      REJECT_REPLAYED_ID_TOKENS: 'true',
      SIGNING_KEY_ROTATION_INTERVAL: '7d',
      SIGNING_KEY_PUBLISH_AHEAD: '2h',
    });
    expect(set.sessions.maxPerUser).toBe(5);
    expect(set.signIn).toEqual({ requireNonce: true, rejectReplayedIdTokens: true });
    expect(set.signingKeys).toEqual({ rotationIntervalMs: 7 * 86_400_000, publishAheadMs: 7_200_000 });
  });

  it('refuses bad session and key-rotation settings, naming each', () => {
    for (const v of ['0', '-1', '1001', 'many', '2.5']) expect(Object.keys(problems({ MAX_SESSIONS_PER_USER: v }))).toEqual(['MAX_SESSIONS_PER_USER']);
    expect(Object.keys(problems({ REQUIRE_SIGN_IN_NONCE: 'maybe', REJECT_REPLAYED_ID_TOKENS: 'yes please' })).sort()).toEqual([
      'REJECT_REPLAYED_ID_TOKENS',
      'REQUIRE_SIGN_IN_NONCE',
    ]);
    expect(problems({ SIGNING_KEY_PUBLISH_AHEAD: '5m' })).toEqual({ SIGNING_KEY_PUBLISH_AHEAD: expect.stringContaining('at least 10m') });
    expect(problems({ SIGNING_KEY_ROTATION_INTERVAL: '30m' })).toEqual({ SIGNING_KEY_ROTATION_INTERVAL: expect.stringContaining('at least 1h') });
    expect(problems({ SIGNING_KEY_ROTATION_INTERVAL: '2h', SIGNING_KEY_PUBLISH_AHEAD: '2h' })).toEqual({
      SIGNING_KEY_ROTATION_INTERVAL: expect.stringContaining('longer than SIGNING_KEY_PUBLISH_AHEAD'),
    });
    expect(Object.keys(problems({ SIGNING_KEY_ROTATION_INTERVAL: 'weekly' }))).toEqual(['SIGNING_KEY_ROTATION_INTERVAL']);
    expect(loadConfig({ MAX_SESSIONS_PER_USER: '1000' }).sessions.maxPerUser).toBe(1000);
  });

  it('stops the real entry point with one clear message, exit code 1 and no stack trace', () => {
    const r = spawnSync(process.execPath, ['dist/main.js'], {
      env: { PATH: process.env.PATH, NODE_ENV: 'production', PORT: 'abc' },
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Invalid configuration');
    expect(r.stderr).toContain('PORT');
    expect(r.stderr).toContain('REDIS_URL');
    expect(r.stderr).toContain('GOOGLE_CLIENT_IDS');
    expect(r.stderr).toContain('AUTH_ISSUER');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
