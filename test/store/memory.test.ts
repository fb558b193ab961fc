import { describe, expect, it } from '@jest/globals';
import { createMemoryStores, MemoryData, MemoryRateLimitStore } from '../../src/store/memory/index.js';
import { FakeClock } from '../support/fake-google.js';
import { newSession, storeContract, write } from './contract.js';

storeContract('memory', async () => {
  const clock = new FakeClock();
  const data = new MemoryData(clock.now);
  const stores = createMemoryStores({ data });
  return {
    stores,
    now: clock.now,
    peer: async () => createMemoryStores({ data }),
    elapse: async (ms) => clock.advance(ms),
    cleanup: () => stores.close(),
  };
});

describe('memory store', () => {
  it('reports its kind, and ping rejects after close', async () => {
    const stores = createMemoryStores();
    expect(stores.kind).toBe('memory');
    await stores.ping();
    await stores.close();
    await expect(stores.ping()).rejects.toThrow('memory store is closed');
  });

  it('keeps separate instances separate', async () => {
    const a = createMemoryStores();
    const b = createMemoryStores();
    expect(await a.locks.acquire('x', 10_000)).toBe(true);
    expect(await b.locks.acquire('x', 10_000)).toBe(true);
    expect(await a.identities.link('google', 's', 'u1')).toEqual({ userId: 'u1', created: true });
    expect(await b.identities.link('google', 's', 'u2')).toEqual({ userId: 'u2', created: true });
  });

  it('sweeps expired rate-limit records, so many distinct subjects cannot grow it for long', async () => {
    const clock = new FakeClock();
    const rl = new MemoryRateLimitStore(clock.now);
    const t = clock.t;
    for (let i = 0; i < 2048; i++) await rl.hit('test', `a${i}`, 1, 1_000, t);
    expect(rl.size).toBe(2048);
    clock.advance(1_000);
    for (let i = 0; i < 1024; i++) await rl.hit('test', `b${i}`, 1, 1_000, t);
    expect(rl.size).toBe(1024);
  });

  it('keeps events for EVENTS_RETENTION by its clock: older ones go on the next append, younger ones stay', async () => {
    const clock = new FakeClock();
    const stores = createMemoryStores({ data: new MemoryData(clock.now, 3_600_000) });
    await stores.accounts.writeSession(write('old-user', newSession(clock.t)));
    clock.advance(1_800_000);
    await stores.accounts.writeSession(write('mid-user', newSession(clock.t)));
    clock.advance(1_800_001);
    await stores.accounts.writeSession(write('new-user', newSession(clock.t)));
    expect((await stores.events.read('0', 10)).map((e) => e.event.userId)).toEqual(['mid-user', 'new-user']);
    const [mid] = await stores.events.read('0', 1);
    expect((await stores.events.read(mid!.cursor, 10)).map((e) => e.event.userId)).toEqual(['new-user']);
  });
});
