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
    expect(typeof jose.jwtVerify).toBe('function');
  });
});
