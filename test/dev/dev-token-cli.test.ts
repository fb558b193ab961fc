import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as jose from 'jose';
import { DEV_APPLE_CLIENT_ID, DEV_CLIENT_ID, loadConfig } from '../../src/config/index.js';
import { DEV_ISSUER_FILE, loadDevIssuer, stableAppleSubFor } from '../../src/dev/dev-issuer.js';
import { apple, google } from '../../src/identity/providers/index.js';
import { providerKeys } from '../../src/identity/verification.js';
import { IdTokenVerifier } from '../../src/identity/verifier.js';
import { createMemoryStores } from '../../src/store/memory/index.js';
import { captureLogger, expectAuthError, googleVerifier } from '../identity/helpers.js';

/**
 * Runs the real CLI entry as `npm run dev:token` does (`node dist/dev/token-cli.js`), compiled
 * from the current sources. Only the CLI's own import graph is compiled, into a temp dir (with
 * a symlink to node_modules), so this test neither touches `dist/` nor depends on unrelated
 * files compiling.
 */
const repo = resolve('.');
let work: string;
let cli: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ag-token-cli-'));
  const out = join(work, 'dist');
  writeFileSync(
    join(work, 'tsconfig.json'),
    JSON.stringify({
      extends: join(repo, 'tsconfig.json'),
      compilerOptions: { rootDir: join(repo, 'src'), outDir: out, sourceMap: false, noEmit: false, incremental: false },
      files: [join(repo, 'src/dev/token-cli.ts')],
      include: [],
    }),
  );
  // Before compiling: @types/node is found through it too.
  writeFileSync(join(work, 'package.json'), JSON.stringify({ type: 'module' }));
  symlinkSync(join(repo, 'node_modules'), join(work, 'node_modules'), 'dir');
  const tsc = spawnSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', join(work, 'tsconfig.json')], { encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`tsc failed:\n${tsc.stdout}\n${tsc.stderr}`);
  cli = join(out, 'dev/token-cli.js');
  statSync(cli);
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function run(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
    cwd: work,
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The provider's keys as a gateway in development sees them: the issuer's public key, no network. */
function devKeys(provider: Parameters<typeof providerKeys>[0], jwksUri: string, issuer: Awaited<ReturnType<typeof loadDevIssuer>>) {
  const stores = createMemoryStores();
  return providerKeys(provider, {
    jwksUri,
    store: stores.keySets,
    locks: stores.locks,
    staticKeys: [issuer.devIssuerPublicJwk()],
    fetch: async () => {
      throw new Error('no network in tests');
    },
    logger: captureLogger(),
  });
}

function devDir(): string {
  const d = join(work, `dev-${Math.random().toString(36).slice(2)}`);
  mkdirSync(d);
  return d;
}

describe('dev:token CLI', () => {
  it('matches the npm script path', () => {
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
    expect(pkg.scripts['dev:token']).toBe('node dist/dev/token-cli.js');
  });

  it('prints only a token, which the verifier accepts with the dev key as a static key', async () => {
    const dir = devDir();
    const r = run(['--email', 'you@example.com', '--name', 'Ada Lovelace', '--nonce', 'n-123', '--hd', 'example.com'], { DEV_DIR: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/);
    const token = r.stdout.trim();
    expect(statSync(join(dir, DEV_ISSUER_FILE)).mode & 0o777).toBe(0o600);

    const issuer = await loadDevIssuer(loadConfig({ DEV_DIR: dir }));
    const keys = devKeys(google, 'https://www.googleapis.com/oauth2/v3/certs', issuer);
    const verifier = googleVerifier({ keys, clientIds: [DEV_CLIENT_ID], hostedDomains: ['example.com'] });
    const p = await verifier.verify(token, { nonce: 'n-123' });
    expect(p).toMatchObject({ email: 'you@example.com', name: 'Ada Lovelace', givenName: 'Ada', familyName: 'Lovelace', hostedDomain: 'example.com', emailVerified: true });
    await expectAuthError(verifier.verify(token, { nonce: 'other' }), 'nonce_mismatch');

    // Another run reuses the key: same kid, same sub for the same email.
    const again = run(['--email', 'you@example.com'], { DEV_DIR: dir });
    expect(again.code).toBe(0);
    expect(jose.decodeProtectedHeader(again.stdout.trim()).kid).toBe(issuer.kid);
    expect(jose.decodeJwt(again.stdout.trim()).sub).toBe(p.sub);
  });

  it('--provider apple --private-email prints an Apple-shaped token the Apple verifier accepts', async () => {
    const dir = devDir();
    const r = run(['--provider', 'apple', '--email', 'x@privaterelay.appleid.com', '--private-email', '--nonce', 'n-9'], { DEV_DIR: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const token = r.stdout.trim();
    const issuer = await loadDevIssuer(loadConfig({ DEV_DIR: dir }));
    const keys = devKeys(apple, 'https://appleid.apple.com/auth/keys', issuer);
    const verifier = new IdTokenVerifier({ provider: apple, keys, audiences: [DEV_APPLE_CLIENT_ID], options: null });
    await expect(verifier.verify(token, { nonce: 'n-9' })).resolves.toMatchObject({
      provider: 'apple',
      sub: stableAppleSubFor('x@privaterelay.appleid.com'),
      email: 'x@privaterelay.appleid.com',
      emailVerified: true,
      isPrivateEmail: true,
    });
    const aud = run(['--provider', 'apple', '--email', 'a@b.c'], { DEV_DIR: dir, APPLE_CLIENT_IDS: 'com.example.app' });
    expect(jose.decodeJwt(aud.stdout.trim())).toMatchObject({ aud: 'com.example.app', is_private_email: 'false' });
  });

  it('refuses an unknown provider, and Google-only options with Apple (exit 2)', () => {
    const unknown = run(['--provider', 'github', '--email', 'a@b.c'], { DEV_DIR: devDir() });
    expect([unknown.code, unknown.stdout]).toEqual([2, '']);
    expect(unknown.stderr).toMatch(/--provider must be google or apple/);
    const named = run(['--provider', 'apple', '--email', 'a@b.c', '--name', 'Ada'], { DEV_DIR: devDir() });
    expect([named.code, named.stdout]).toEqual([2, '']);
    expect(named.stderr).toMatch(/no name or hosted domain/);
    const relay = run(['--email', 'a@b.c', '--private-email'], { DEV_DIR: devDir() });
    expect([relay.code, relay.stdout]).toEqual([2, '']);
  });

  it('uses --aud, or GOOGLE_CLIENT_IDS, as the audience', () => {
    const dir = devDir();
    const a = run(['--email', 'a@b.c', '--aud', 'custom.apps.googleusercontent.com'], { DEV_DIR: dir });
    expect(jose.decodeJwt(a.stdout.trim()).aud).toBe('custom.apps.googleusercontent.com');
    const b = run(['--email', 'a@b.c'], { DEV_DIR: dir, GOOGLE_CLIENT_IDS: 'env.apps.googleusercontent.com,second' });
    expect(jose.decodeJwt(b.stdout.trim()).aud).toBe('env.apps.googleusercontent.com');
  });

  it('refuses in production with a clear message, exit 1, nothing on stdout, no key written', () => {
    const dir = devDir();
    for (const env of <Record<string, string>[]>[
      { NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:6379', GOOGLE_CLIENT_IDS: 'x' },
      // Not even a complete production config is needed to get the clear refusal.
      { NODE_ENV: 'production' },
    ]) {
      const r = run(['--email', 'a@b.c'], { DEV_DIR: dir, ...env });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/refusing to run with NODE_ENV=production/);
    }
    expect(() => statSync(join(dir, DEV_ISSUER_FILE))).toThrow();
  });

  it('refuses when DEV_ISSUER=false (exit 1)', () => {
    const r = run(['--email', 'a@b.c'], { DEV_DIR: devDir(), DEV_ISSUER: 'false' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/disabled/);
  });

  it('requires --email and rejects unknown options (usage on stderr)', () => {
    const missing = run([], { DEV_DIR: devDir() });
    expect(missing.code).toBe(2);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/--email is required/);
    const unknown = run(['--email', 'a@b.c', '--admin'], { DEV_DIR: devDir() });
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    const bad = run(['--email', 'nope'], { DEV_DIR: devDir() });
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
  });

  it('reports a configuration error (exit 1)', () => {
    const r = run(['--email', 'a@b.c'], { DEV_DIR: devDir(), PORT: 'not-a-port' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/PORT/);
  });
});
