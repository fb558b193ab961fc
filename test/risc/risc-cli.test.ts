import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as jose from 'jose';
import { EVENTS_REQUESTED } from '../../src/risc/management.js';
import { FakeRiscApi } from '../support/fake-risc-api.js';

/**
 * `npm run risc` as a process (`node dist/risc/risc-cli.js`, what npm and the Docker image
 * run), against a fake management API on loopback.
 */
const EMAIL = 'risc-admin@my-project.iam.gserviceaccount.com';
const KEY_ID = 'a1b2c3d4e5f6';
const RECEIVER = 'https://auth.example.com/notifications/google-risc';
let api: FakeRiscApi;
let dir: string;
let keyFile: string;
let pem: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function risc(args: string[], env: Record<string, string> = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['dist/risc/risc-cli.js', ...args], {
      env: { PATH: process.env.PATH ?? '', RISC_API_URL: api.url, ...env },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

beforeAll(async () => {
  const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
  pem = await jose.exportPKCS8(privateKey);
  api = await FakeRiscApi.start({ email: EMAIL, keyId: KEY_ID, publicKey });
  dir = mkdtempSync(join(tmpdir(), 'risc-cli-'));
  keyFile = file('key.json', JSON.stringify({ type: 'service_account', project_id: 'my-project', private_key_id: KEY_ID, private_key: pem, client_email: EMAIL, client_id: '1' }));
});
afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('npm run risc', () => {
  it('configure registers the receiver for every event type the receiver knows, with a service-account JWT', async () => {
    const r = await risc(['configure', '--receiver-url', RECEIVER, '--service-account-file', keyFile]);
    expect(r).toEqual({ code: 0, stdout: expect.stringContaining(`stream configured: Google pushes to ${RECEIVER}`), stderr: '' });
    const req = api.requests.at(-1)!;
    expect(req).toMatchObject({ method: 'POST', path: '/v1beta/stream:update', kid: KEY_ID });
    expect(req.body).toEqual({ delivery: { delivery_method: 'https://schemas.openid.net/secevent/risc/delivery-method/push', url: RECEIVER }, events_requested: [...EVENTS_REQUESTED] });
    expect(EVENTS_REQUESTED).toHaveLength(7);
    expect(req.claims!.exp! - req.claims!.iat!).toBe(3600);
  });

  it('enable, status, disable, verify', async () => {
    expect(await risc(['enable', '--service-account-file', keyFile])).toEqual({ code: 0, stdout: 'stream enabled\n', stderr: '' });
    expect(api.requests.at(-1)).toMatchObject({ method: 'POST', path: '/v1beta/stream/status:update', body: { status: 'enabled' } });
    const status = await risc(['status', '--service-account-file', keyFile]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual({ stream: { delivery: { delivery_method: expect.any(String), url: RECEIVER }, events_requested: [...EVENTS_REQUESTED] }, status: { status: 'enabled' } });
    expect(await risc(['disable'], { GOOGLE_APPLICATION_CREDENTIALS: keyFile })).toEqual({ code: 0, stdout: 'stream disabled\n', stderr: '' });
    expect(api.status).toBe('disabled');
    const v = await risc(['verify', '--service-account-file', keyFile, '--state', 'ping-1']);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('"ping-1"');
    expect(api.requests.at(-1)).toMatchObject({ method: 'POST', path: '/v1beta/stream:verify', body: { state: 'ping-1' } });
  });

  it('Google’s refusals are reported with its message, exit 1, no stack trace', async () => {
    api.failWith = { status: 403, code: 'PERMISSION_DENIED', message: 'The caller does not have permission' };
    try {
      const r = await risc(['status', '--service-account-file', keyFile]);
      expect(r).toEqual({ code: 1, stdout: '', stderr: 'risc: GET /v1beta/stream: Google answered HTTP 403: PERMISSION_DENIED: The caller does not have permission\n' });
    } finally {
      api.failWith = null;
    }
    const other = await jose.generateKeyPair('RS256', { extractable: true });
    const wrongKey = file('wrong.json', JSON.stringify({ type: 'service_account', private_key_id: KEY_ID, private_key: await jose.exportPKCS8(other.privateKey), client_email: EMAIL }));
    const r = await risc(['enable', '--service-account-file', wrongKey]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('risc: POST /v1beta/stream/status:update: Google answered HTTP 401: UNAUTHENTICATED: Request had invalid authentication credentials.\n');
  });

  it('an unreachable API: exit 1 with where it looked', async () => {
    const r = await risc(['status', '--service-account-file', keyFile], { RISC_API_URL: 'http://127.0.0.1:1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^risc: could not reach http:\/\/127\.0\.0\.1:1 \(.+\)\n$/);
    expect(r.stderr).not.toContain('    at ');
  });

  it.each<[string, string[], string | RegExp]>([
    ['no command', [], /^usage: npm run risc/],
    ['an unknown command', ['delete'], /^usage: npm run risc/],
    ['an unknown option', ['status', '--force'], /^risc: Unknown option '--force'/],
    ['configure without a receiver', ['configure', '--service-account-file', '<key>'], 'risc: configure needs --receiver-url (the https URL of /notifications/google-risc)\n'],
    ['an http receiver', ['configure', '--receiver-url', 'http://auth.example.com/notifications/google-risc', '--service-account-file', '<key>'], /--receiver-url must be an https: URL/],
    ['a receiver elsewhere', ['configure', '--receiver-url', 'https://auth.example.com/webhook', '--service-account-file', '<key>'], /must point at the gateway’s \/notifications\/google-risc/],
    ['no key file', ['status'], 'risc: --service-account-file is required (or set GOOGLE_APPLICATION_CREDENTIALS)\n'],
    ['a missing key file', ['status', '--service-account-file', '/nonexistent/key.json'], 'risc: cannot read /nonexistent/key.json: ENOENT\n'],
    ['a file that is not JSON', ['status', '--service-account-file', '<notjson>'], /is not JSON: download a JSON key/],
    ['a JSON file that is no service account key', ['status', '--service-account-file', '<user>'], /is not a service account key/],
    ['a key file with a broken key', ['status', '--service-account-file', '<broken>'], /"private_key" is not an RSA private key in PEM/],
    ['a plain-http API off loopback', ['status', '--service-account-file', '<key>', '<api>'], /RISC_API_URL: must be an https: URL/],
  ])('%s: exit 2 with a clear message', async (_label, args, expected) => {
    const files: Record<string, string> = {
      '<key>': keyFile,
      '<notjson>': file('notjson.json', 'not json'),
      '<user>': file('user.json', JSON.stringify({ type: 'authorized_user', client_id: 'x' })),
      '<broken>': file('broken.json', JSON.stringify({ type: 'service_account', private_key_id: 'k', private_key: 'nope', client_email: EMAIL })),
    };
    const env: Record<string, string> = args.includes('<api>') ? { RISC_API_URL: 'http://risc.example.com' } : {};
    const r = await risc(args.filter((a) => a !== '<api>').map((a) => files[a] ?? a), env);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    if (typeof expected === 'string') expect(r.stderr).toBe(expected);
    else expect(r.stderr).toMatch(expected);
    expect(r.stderr).not.toContain('PRIVATE KEY');
  });
});
