import { describe, expect, it } from '@jest/globals';
import { BatchLoader } from '../../src/graphql/batch-loader.js';

function recorder<V>(answer: (keys: readonly string[]) => V[] | Promise<V[]>) {
  const calls: string[][] = [];
  const loader = new BatchLoader<string, V>(async (keys) => {
    calls.push([...keys]);
    return answer(keys);
  });
  return { calls, loader };
}

describe('BatchLoader', () => {
  it('answers loads made in the same tick, even a few awaits deep, with one batch call of distinct keys', async () => {
    const { calls, loader } = recorder((keys) => keys.map((k) => k.toUpperCase()));
    const deep = async (k: string) => {
      await null;
      await null;
      return loader.load(k);
    };
    const results = await Promise.all([loader.load('a'), loader.load('b'), loader.load('a'), deep('c')]);
    expect(results).toEqual(['A', 'B', 'A', 'C']);
    expect(calls).toEqual([['a', 'b', 'c']]);
  });

  it('remembers answers for the life of the loader; later ticks make new batches for new keys only', async () => {
    const { calls, loader } = recorder((keys) => keys.map((k) => (k === 'missing' ? null : k.length)));
    expect(await loader.load('abc')).toBe(3);
    expect(await Promise.all([loader.load('abc'), loader.load('missing')])).toEqual([3, null]);
    expect(calls).toEqual([['abc'], ['missing']]);
  });

  it('rejects every load of a failed batch and retries those keys on a later load', async () => {
    let fail = true;
    const { calls, loader } = recorder((keys) => {
      if (fail) throw new Error('store down');
      return keys.map((k) => k);
    });
    const results = await Promise.allSettled([loader.load('x'), loader.load('y')]);
    expect(results).toEqual([
      { status: 'rejected', reason: new Error('store down') },
      { status: 'rejected', reason: new Error('store down') },
    ]);
    fail = false;
    expect(await loader.load('x')).toBe('x');
    expect(calls).toEqual([['x', 'y'], ['x']]);
  });

  it('rejects when the batch function answers the wrong number of values', async () => {
    const { loader } = recorder(() => ['only one']);
    await expect(Promise.all([loader.load('a'), loader.load('b')])).rejects.toThrow(/1 values for 2 keys/);
  });
});
