import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from '@jest/globals';
import { RedisServer } from './redis-server.js';

/**
 * Starts a private redis-server for the calling test file (beforeAll) and removes it
 * afterwards. Each file gets its own process on a free port: no suite can see another's
 * keys, and no test ever touches a Redis the user already runs.
 */
export function usePrivateRedis(): { readonly url: string; readonly server: RedisServer } {
  const holder: { server?: RedisServer } = {};
  beforeAll(async () => {
    holder.server = await RedisServer.start();
  });
  afterAll(async () => {
    await holder.server?.destroy();
  });
  return {
    get url() {
      if (!holder.server) throw new Error('usePrivateRedis: the server starts in beforeAll');
      return holder.server.url;
    },
    get server() {
      if (!holder.server) throw new Error('usePrivateRedis: the server starts in beforeAll');
      return holder.server;
    },
  };
}

/** A key prefix no other test in the file uses. */
export function uniquePrefix(): string {
  return `t${randomBytes(4).toString('hex')}:`;
}
