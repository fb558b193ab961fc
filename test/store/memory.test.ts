import { describe, expect, it } from '@jest/globals';
import { createMemoryStores, MemoryRateLimitStore } from '../../src/store/memory/index.js';
import { storeContract } from './contract.js';
import { lifecycleContract } from './contract-lifecycle.js';

storeContract('memory', async () => {
  const stores = createMemoryStores();
  return { stores, cleanup: () => stores.close() };
});

lifecycleContract('memory', async () => {
  const stores = createMemoryStores();
  return { stores, cleanup: () => stores.close() };
});

describe('memory store', () => {
  it('reports its kind, and ping rejects after close', async () => {
    const stores = createMemoryStores();
    expect(stores.kind).toBe('memory');
    await stores.ping();
    await stores.close();
    await expect(stores.ping()).rejects.toThrow();
  });

  it('keeps separate instances separate', async () => {
    const a = createMemoryStores();
    const b = createMemoryStores();
    expect(await a.locks.acquire('x', 10_000)).toBe(true);
    expect(await b.locks.acquire('x', 10_000)).toBe(true);
    expect(await a.accounts.linkIdentity('google', 's', 'u1')).toBe('u1');
    expect(await b.accounts.linkIdentity('google', 's', 'u2')).toBe('u2');
  });

  it('sweeps expired rate-limit records, so many distinct subjects cannot grow it for long', async () => {
    const rl = new MemoryRateLimitStore();
    const t = Date.now();
    for (let i = 0; i < 2048; i++) await rl.hit('test', `a${i}`, 1, 1_000, t);
    expect(rl.size).toBe(2048);
    await new Promise((r) => setTimeout(r, 1_100));
    for (let i = 0; i < 1024; i++) await rl.hit('test', `b${i}`, 1, 1_000, t);
    expect(rl.size).toBe(1024);
  });
});
