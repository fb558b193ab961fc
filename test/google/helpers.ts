import { expect } from '@jest/globals';
import type { Redis } from 'ioredis';
import { AuthError, ServiceUnavailableError } from '../../src/errors.js';
import type { KeySourceLogger } from '../../src/google/key-cache.js';
import { createMemoryStores } from '../../src/store/memory/index.js';
import { createRedisClient, createRedisStores, whenReady } from '../../src/store/redis/index.js';
import type { Stores } from '../../src/store/types.js';
import { uniquePrefix } from '../support/env.js';

/**
 * One shared store as N gateway instances see it. Memory: every instance gets the same
 * Stores object (one process). Redis: every instance gets its own client on one key prefix,
 * like separate processes sharing a Redis.
 */
export interface SharedBackend {
  readonly kind: 'memory' | 'redis';
  instance(): Promise<Pick<Stores, 'googleKeys' | 'locks'>>;
  close(): Promise<void>;
}

export type BackendFactory = () => Promise<SharedBackend>;

export function memoryBackend(): BackendFactory {
  return async () => {
    const stores = createMemoryStores();
    return { kind: 'memory', instance: async () => stores, close: () => stores.close() };
  };
}

export function redisBackend(url: () => string): BackendFactory {
  return async () => {
    const prefix = uniquePrefix();
    const clients: Redis[] = [];
    return {
      kind: 'redis',
      async instance() {
        const client = createRedisClient(url());
        clients.push(client);
        await whenReady(client);
        return createRedisStores({ client, keyPrefix: prefix });
      },
      async close() {
        await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
      },
    };
  };
}

export interface LogLine {
  level: 'warn' | 'info';
  fields: Record<string, unknown>;
  message: string;
}

export function captureLogger(): KeySourceLogger & { lines: LogLine[]; text(): string } {
  const lines: LogLine[] = [];
  return {
    lines,
    warn: (fields, message) => lines.push({ level: 'warn', fields, message }),
    info: (fields, message) => lines.push({ level: 'info', fields, message }),
    text: () => JSON.stringify(lines),
  };
}

/** Awaits a rejection and checks it is the AuthError with `reason`. */
export async function expectAuthError(p: Promise<unknown>, reason: string): Promise<AuthError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuthError);
  expect((err as AuthError).reason).toBe(reason);
  expect((err as AuthError).extensions.code).toBe('UNAUTHENTICATED');
  expect((err as AuthError).extensions.reason).toBe(reason);
  return err as AuthError;
}

export async function expectUnavailable(p: Promise<unknown>): Promise<ServiceUnavailableError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ServiceUnavailableError);
  expect((err as ServiceUnavailableError).reason).toBe('keys_unavailable');
  expect((err as ServiceUnavailableError).extensions.code).toBe('SERVICE_UNAVAILABLE');
  return err as ServiceUnavailableError;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
