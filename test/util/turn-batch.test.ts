import { describe, expect, it } from '@jest/globals';
import { RequestBatch, TurnBatch, afterPromiseJobs, type Job } from '../../src/util/turn-batch.js';

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

function deferred() {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A TurnBatch whose flushes and errors are recorded. */
function recording<T>(flush: (items: T[]) => void | Promise<unknown> = () => undefined) {
  const flushed: T[][] = [];
  const errors: { err: unknown; items: readonly T[] }[] = [];
  const batch = new TurnBatch<T>({
    flush: (items) => {
      flushed.push([...items]);
      return flush(items);
    },
    onError: (err, items) => errors.push({ err, items }),
  });
  return { batch, flushed, errors };
}

describe('TurnBatch', () => {
  it('flushes what one event-loop turn added once, after the turn, in order; later items go in a later flush', async () => {
    const { batch, flushed } = recording<string>();
    batch.add('a');
    process.nextTick(() => batch.add('b')); // separate ticks of the same turn share the batch
    void Promise.resolve().then(() => batch.add('c'));
    expect(flushed).toEqual([]);
    await nextTurn();
    expect(flushed).toEqual([['a', 'c', 'b']]);
    batch.add('d');
    await nextTurn();
    expect(flushed).toEqual([['a', 'c', 'b'], ['d']]);
  });

  it('flush() sends now; the scheduled flush then finds nothing', async () => {
    const { batch, flushed } = recording<number>();
    batch.add(1);
    batch.add(2);
    batch.flush();
    expect(flushed).toEqual([[1, 2]]);
    batch.flush();
    await nextTurn();
    expect(flushed).toEqual([[1, 2]]);
  });

  it('settled() waits for the scheduled flush and for its asynchronous work to finish', async () => {
    const write = deferred();
    const { batch, flushed } = recording<string>(() => write.promise);
    batch.add('x');
    let settled = false;
    const done = batch.settled().then(() => (settled = true));
    await nextTurn();
    expect(flushed).toEqual([['x']]); // flushed on its own schedule, not by settled()
    await nextTurn();
    expect(settled).toBe(false); // the write has not finished
    write.resolve();
    await done;
    expect(settled).toBe(true);
  });

  it('settled() does not wait for items added after the call', async () => {
    const writes = [deferred(), deferred()];
    let n = 0;
    const { batch } = recording<string>(() => writes[n++]!.promise);
    batch.add('first');
    const done = batch.settled();
    await nextTurn();
    batch.add('second');
    await nextTurn(); // the second flush is running, and never finishes in this test
    writes[0]!.resolve();
    await expect(done).resolves.toBeUndefined();
    expect(n).toBe(2);
  });

  it('settled() resolves at once when nothing is pending or running', async () => {
    const { batch, flushed } = recording<string>();
    await expect(batch.settled()).resolves.toBeUndefined();
    expect(flushed).toEqual([]);
  });

  it('reports a flush that throws or rejects to onError with its items, once; the next batch is unaffected', async () => {
    let fail: 'throw' | 'reject' | null = 'throw';
    const { batch, flushed, errors } = recording<string>(() => {
      if (fail === 'throw') throw new Error('sync failure');
      if (fail === 'reject') return Promise.reject(new Error('async failure'));
      return Promise.resolve();
    });
    batch.add('a');
    await batch.settled();
    fail = 'reject';
    batch.add('b');
    batch.add('c');
    await batch.settled();
    fail = null;
    batch.add('d');
    await batch.settled();
    expect(flushed).toEqual([['a'], ['b', 'c'], ['d']]);
    expect(errors).toEqual([
      { err: new Error('sync failure'), items: ['a'] },
      { err: new Error('async failure'), items: ['b', 'c'] },
    ]);
  });

  it('afterPromiseJobs: flushes after the promise jobs queued so far, before the next timer or I/O callback', async () => {
    const flushed: string[][] = [];
    const order: string[] = [];
    const batch = new TurnBatch<string>({
      flush: (items) => {
        flushed.push(items);
        order.push('flush');
      },
      onError: () => undefined,
      schedule: afterPromiseJobs,
    });
    setImmediate(() => order.push('setImmediate'));
    batch.add('a');
    void (async () => {
      await null;
      await null;
      batch.add('b'); // a few awaits deep: still this batch
    })();
    await nextTurn();
    expect(flushed).toEqual([['a', 'b']]);
    expect(order).toEqual(['flush', 'setImmediate']);
  });
});

describe('RequestBatch', () => {
  type Jobs = readonly Job<string, string>[];

  it('answers each request with its own value, from one flush per turn', async () => {
    const batches: string[][] = [];
    const batch = new RequestBatch<string, string>((jobs: Jobs) => {
      batches.push(jobs.map((j) => j.input));
      for (const job of jobs) job.resolve(job.input.toUpperCase());
    });
    expect(await Promise.all([batch.request('a'), batch.request('b'), batch.request('a')])).toEqual(['A', 'B', 'A']);
    expect(await batch.request('c')).toBe('C');
    expect(batches).toEqual([['a', 'b', 'a'], ['c']]);
  });

  it("delivers an item's error to its own caller only", async () => {
    const batch = new RequestBatch<string, string>(async (jobs: Jobs) => {
      for (const job of jobs) {
        if (job.input === 'bad') job.reject(new Error('WRONGTYPE'));
        else job.resolve(job.input);
      }
    });
    const results = await Promise.allSettled([batch.request('ok'), batch.request('bad'), batch.request('fine')]);
    expect(results).toEqual([
      { status: 'fulfilled', value: 'ok' },
      { status: 'rejected', reason: new Error('WRONGTYPE') },
      { status: 'fulfilled', value: 'fine' },
    ]);
  });

  it('a failed flush rejects every request it had not answered, with its error; answered ones keep their value', async () => {
    const batch = new RequestBatch<string, string>(async (jobs: Jobs) => {
      jobs[0]!.resolve('answered first');
      await null;
      throw new Error('connection lost');
    });
    const results = await Promise.allSettled([batch.request('a'), batch.request('b'), batch.request('c')]);
    expect(results).toEqual([
      { status: 'fulfilled', value: 'answered first' },
      { status: 'rejected', reason: new Error('connection lost') },
      { status: 'rejected', reason: new Error('connection lost') },
    ]);
  });

  it('a request the flush forgot is rejected, not left waiting; a second answer to a job is ignored', async () => {
    const batch = new RequestBatch<string, string>((jobs: Jobs) => {
      jobs[0]!.resolve('one');
      jobs[0]!.reject(new Error('too late'));
    });
    const results = await Promise.allSettled([batch.request('a'), batch.request('b')]);
    expect(results).toEqual([
      { status: 'fulfilled', value: 'one' },
      { status: 'rejected', reason: new Error('the batch left this request unanswered') },
    ]);
  });
});
