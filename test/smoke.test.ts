import { describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import * as jose from 'jose';
import { usePrivateRedis } from './support/env.js';

describe('test harness', () => {
  const redis = usePrivateRedis();
  it('talks to a private redis-server, not the default port', async () => {
    expect(new URL(redis.url).port).not.toBe('6379');
    const r = new Redis(redis.url);
    expect(await r.ping()).toBe('PONG');
    await r.quit();
    // jose 6 is ESM-only: it loads under Jest (node --experimental-vm-modules) and works.
    const { publicKey, privateKey } = await jose.generateKeyPair('ES256');
    const token = await new jose.SignJWT({ sub: 'smoke' }).setProtectedHeader({ alg: 'ES256' }).sign(privateKey);
    expect((await jose.jwtVerify(token, publicKey)).payload).toEqual({ sub: 'smoke' });
  });
});
