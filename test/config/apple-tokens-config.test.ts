import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { problemsOf } from './problems.js';

/** The developer account's key for Apple's token endpoints (src/config/sections/apple.ts). */
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const PEM = ec.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const RSA_PEM = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const AES = randomBytes(32).toString('base64');
const base = { REDIS_URL: 'redis://127.0.0.1:1', APPLE_CLIENT_IDS: 'com.example.app' };
const full = { ...base, APPLE_TEAM_ID: 'TEAM123456', APPLE_KEY_ID: 'KEY1234567', APPLE_PRIVATE_KEY: PEM, APPLE_TOKEN_ENCRYPTION_KEY: AES };

describe('Apple token endpoints configuration', () => {
  it('is off without the three credentials; on with them, the key parsed and the defaults set', () => {
    expect(loadConfig(base).appleTokens).toBeNull();
    const c = loadConfig(full).appleTokens!;
    expect(c).toMatchObject({ teamId: 'TEAM123456', keyId: 'KEY1234567', tokenUrl: 'https://appleid.apple.com/auth/token', revokeUrl: 'https://appleid.apple.com/auth/revoke' });
    expect(c.privateKey.asymmetricKeyType).toBe('ec');
    expect(c.encryptionKey).toEqual(Buffer.from(AES, 'base64'));
  });

  it('reads the key from a file, or from one line with \\n escapes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'p8-'));
    writeFileSync(join(dir, 'AuthKey.p8'), PEM);
    const { APPLE_PRIVATE_KEY: _k, ...noKey } = full;
    expect(loadConfig({ ...noKey, APPLE_PRIVATE_KEY_FILE: join(dir, 'AuthKey.p8') }).appleTokens?.privateKey.asymmetricKeyType).toBe('ec');
    expect(loadConfig({ ...full, APPLE_PRIVATE_KEY: PEM.replaceAll('\n', '\\n') }).appleTokens).not.toBeNull();
    expect(problemsOf(() => loadConfig({ ...noKey, APPLE_PRIVATE_KEY_FILE: join(dir, 'missing.p8') }))).toEqual({ APPLE_PRIVATE_KEY_FILE: 'cannot be read (ENOENT)' });
    expect(problemsOf(() => loadConfig({ ...full, APPLE_PRIVATE_KEY_FILE: join(dir, 'AuthKey.p8') }))).toEqual({ APPLE_PRIVATE_KEY_FILE: 'set APPLE_PRIVATE_KEY or APPLE_PRIVATE_KEY_FILE, not both' });
  });

  it('wants all three credentials or none', () => {
    expect(problemsOf(() => loadConfig({ ...base, APPLE_TEAM_ID: 'TEAM123456' }))).toEqual({
      APPLE_KEY_ID: expect.stringContaining('set all three or none'),
      APPLE_PRIVATE_KEY: expect.stringContaining('set all three or none'),
    });
    expect(Object.keys(problemsOf(() => loadConfig({ ...base, APPLE_PRIVATE_KEY: PEM })))).toEqual(['APPLE_TEAM_ID', 'APPLE_KEY_ID']);
    expect(problemsOf(() => loadConfig({ ...base, APPLE_TOKEN_ENCRYPTION_KEY: AES }))).toEqual({ APPLE_TOKEN_ENCRYPTION_KEY: expect.stringContaining('only with') });
  });

  it('refuses a bad key without ever quoting it', () => {
    // The first body line holds the key's fixed ASN.1 header: reversed, it is a PEM of nothing.
    const lines = PEM.split('\n');
    const secretish = [lines[0], [...lines[1]!].reverse().join(''), ...lines.slice(2)].join('\n');
    for (const bad of [secretish, RSA_PEM, 'hello']) {
      let message = '';
      try {
        loadConfig({ ...full, APPLE_PRIVATE_KEY: bad });
      } catch (e) {
        message = (e as ConfigError).message;
      }
      expect(message).toContain('APPLE_PRIVATE_KEY: is not an EC P-256 private key in PEM');
      for (const line of bad.split('\n').filter((l) => l.length > 8 && !l.startsWith('-----'))) expect(message).not.toContain(line);
    }
  });

  it('checks the ids, the encryption key, the URLs (https, loopback http) and that Redis is there', () => {
    expect(problemsOf(() => loadConfig({ ...full, APPLE_TEAM_ID: 'team', APPLE_KEY_ID: 'ABC' }))).toEqual({
      APPLE_TEAM_ID: expect.stringContaining('10-character Team ID'),
      APPLE_KEY_ID: expect.stringContaining('10-character Key ID'),
    });
    expect(problemsOf(() => loadConfig({ ...full, APPLE_TOKEN_ENCRYPTION_KEY: undefined }))).toEqual({ APPLE_TOKEN_ENCRYPTION_KEY: expect.stringContaining('is required') });
    const short = randomBytes(16).toString('base64');
    const p = problemsOf(() => loadConfig({ ...full, APPLE_TOKEN_ENCRYPTION_KEY: short }));
    expect(p).toEqual({ APPLE_TOKEN_ENCRYPTION_KEY: 'must be the base64 of 32 random bytes (`openssl rand -base64 32`)' });
    expect(problemsOf(() => loadConfig({ ...full, APPLE_TOKEN_URL: 'http://appleid.apple.com/auth/token', APPLE_REVOKE_URL: 'nope' }))).toEqual({
      APPLE_TOKEN_URL: expect.stringContaining('must be an https: URL'),
      APPLE_REVOKE_URL: 'expected a URL',
    });
    expect(loadConfig({ ...full, APPLE_TOKEN_URL: 'http://127.0.0.1:9/auth/token' }).appleTokens?.tokenUrl).toBe('http://127.0.0.1:9/auth/token');
    expect(problemsOf(() => loadConfig({ ...full, APPLE_CLIENT_IDS: '', DEV_ISSUER: 'false' }))).toEqual({ APPLE_TEAM_ID: expect.stringContaining('Sign in with Apple is off') });
    const { REDIS_URL: _r, ...embedded } = full;
    expect(problemsOf(() => loadConfig(embedded))).toEqual({ APPLE_TEAM_ID: expect.stringContaining('needs Redis') });
  });
});
