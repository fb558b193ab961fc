import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as jose from 'jose';
import { AppleTokenApi } from '../../src/identity/apple/api.js';
import { AppleClientSecrets, CLIENT_SECRET_TTL_S } from '../../src/identity/apple/client-secret.js';
import { openToken, sealToken } from '../../src/identity/apple/token-box.js';
import { FakeClock } from '../support/fake-google.js';

/** The pieces of src/identity/apple/ on their own: sealing, the client secret, the HTTP calls' bounds. */
const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const binding = { userId: 'u1', provider: 'apple', subject: '001.abc.002' };

describe('sealed refresh tokens', () => {
  const key = randomBytes(32);
  it('open with the key and the same account, identity and client; never hold the token in the clear', () => {
    const sealed = sealToken(key, 'r.secret-refresh-token', 'com.example.app', binding);
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain('secret-refresh-token');
    expect(sealToken(key, 'r.secret-refresh-token', 'com.example.app', binding)).not.toBe(sealed); // a fresh IV each time
    expect(openToken(key, sealed, binding)).toEqual({ token: 'r.secret-refresh-token', clientId: 'com.example.app' });
  });

  it('do not open for another account or identity, another key, a changed client id or any damage', () => {
    const sealed = sealToken(key, 'r.tok', 'com.example.app', binding);
    expect(openToken(key, sealed, { ...binding, userId: 'u2' })).toBeNull();
    expect(openToken(key, sealed, { ...binding, subject: 'other' })).toBeNull();
    expect(openToken(randomBytes(32), sealed, binding)).toBeNull();
    const parts = sealed.split('.');
    expect(openToken(key, [parts[0], Buffer.from('com.evil.app').toString('base64url'), ...parts.slice(2)].join('.'), binding)).toBeNull();
    expect(openToken(key, sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BA' : 'AA'), binding)).toBeNull();
    for (const junk of ['', 'v1', 'v2.a.b.c.d', 'v1.a.b.c.d', 'v1....']) expect(openToken(key, junk, binding)).toBeNull();
  });
});

describe('the client secret', () => {
  it('is an ES256 JWT with Apple’s claims, cached per client id until a minute before it expires', async () => {
    const clock = new FakeClock(1_800_000_000_000);
    const secrets = new AppleClientSecrets({ teamId: 'TEAM123456', keyId: 'KEY1234567', privateKey: keys.privateKey }, clock.now);
    const jwt = await secrets.get('com.example.app');
    const { payload, protectedHeader } = await jose.jwtVerify(jwt, keys.publicKey, {
      algorithms: ['ES256'],
      issuer: 'TEAM123456',
      audience: 'https://appleid.apple.com',
      subject: 'com.example.app',
      currentDate: new Date(clock.t),
    });
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: 'KEY1234567' });
    expect(payload.exp! - payload.iat!).toBe(CLIENT_SECRET_TTL_S);
    expect(await secrets.get('com.example.app')).toBe(jwt);
    expect(jose.decodeJwt(await secrets.get('com.example.web')).sub).toBe('com.example.web');
    clock.advance((CLIENT_SECRET_TTL_S - 61) * 1000);
    expect(await secrets.get('com.example.app')).toBe(jwt);
    clock.advance(2_000);
    const next = await secrets.get('com.example.app');
    expect(next).not.toBe(jwt);
    expect(jose.decodeJwt(next).iat).toBe(Math.floor(clock.t / 1000));
  });
});

describe('calls to Apple', () => {
  let server: Server;
  let base: string;
  let hits = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      if (req.url === '/redirect') return void res.writeHead(307, { location: '/elsewhere' }).end();
      if (req.url === '/huge') return void res.writeHead(200, { 'content-type': 'application/json' }).end(`{"refresh_token":"${'x'.repeat(100_000)}"}`);
      if (req.url === '/dead') return void res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_grant","error_description":"the token r.secret is bad"}');
      if (req.url === '/client') return void res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
      res.writeHead(200).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  const api = (path: string) => new AppleTokenApi({ tokenUrl: `${base}${path}`, revokeUrl: `${base}${path}`, secrets: new AppleClientSecrets({ teamId: 'TEAM123456', keyId: 'KEY1234567', privateKey: keys.privateKey }) });

  it('follow no redirect, read no answer past 64 KB, and say why without quoting Apple’s words', async () => {
    const before = hits;
    expect(await api('/redirect').exchange('com.example.app', 'code')).toEqual({ ok: false, error: expect.stringContaining('connection failed') });
    expect(hits).toBe(before + 1);
    expect(await api('/huge').exchange('com.example.app', 'code')).toEqual({ ok: false, error: 'answer too large' });
    expect(await api('/dead').revoke('com.example.app', 'r.secret')).toEqual({ ok: false, dead: true, error: 'HTTP 400 invalid_grant' });
    expect(await api('/client').revoke('com.example.app', 'r.secret')).toEqual({ ok: false, dead: false, error: 'HTTP 400 invalid_client' });
    expect(await api('/ok').revoke('com.example.app', 'r.secret')).toEqual({ ok: true });
    expect(await api('/ok').exchange('com.example.app', 'code')).toEqual({ ok: false, error: 'answer without a refresh_token' });
  });
});
