import { describe, expect, it } from '@jest/globals';
import { planPinning } from '../../bench/lib/pinning.js';
import { coreBusyShare, cpuSecondsOf, parseCpuList, parsePidStat, parseProcStat } from '../../bench/lib/proc-stat.js';

describe('parsePidStat', () => {
  it('reads utime and stime (fields 14 and 15) of a /proc/<pid>/stat line', () => {
    const line = '4242 (node) S 4200 4242 4200 0 -1 4194304 51200 0 12 0 1530 277 0 0 20 0 11 0 98765 1234567890 45678 18446744073709551615 1 1 0 0 0 0 0 4096 17922 0 0 0 17 1 0 0 0 0 0\n';
    expect(parsePidStat(line)).toEqual({ utime: 1530, stime: 277 });
  });

  it('counts fields from the last ")": a command name may hold spaces and parentheses', () => {
    const line = '77 (redis-server ) (x) R 1 77 77 0 -1 4194560 300 0 0 0 42 9 0 0 20 0 5 0 100 1000 200 18446744073709551615';
    expect(parsePidStat(line)).toEqual({ utime: 42, stime: 9 });
  });

  it('refuses text that is not a stat line', () => {
    expect(() => parsePidStat('no parenthesis here')).toThrow('not a /proc/<pid>/stat line');
    expect(() => parsePidStat('1 (x) S 1 2 3')).toThrow('no utime/stime in /proc/<pid>/stat');
  });

  it('reads this process: CPU seconds are positive and do not go backwards', () => {
    const a = cpuSecondsOf(process.pid);
    let x = 0;
    for (let i = 0; i < 2e6; i++) x += i;
    expect(x).toBeGreaterThan(0);
    const b = cpuSecondsOf(process.pid);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThanOrEqual(a);
  });
});

describe('parseProcStat', () => {
  const STAT = [
    'cpu  10132153 290696 3084719 46828483 16683 0 25195 0 175628 0',
    'cpu0 1393280 32966 572056 13343292 6130 0 17875 0 23933 0',
    'cpu1 1335 10 200 8000 40 7 3 5 100 0',
    'intr 199292423 26 0 0',
    'ctxt 339382903',
  ].join('\n');

  it('sums busy time per core: user, nice, system, irq, softirq, steal (guest is inside user); idle and iowait are not busy', () => {
    const cores = parseProcStat(STAT);
    expect([...cores.keys()]).toEqual([0, 1]);
    expect(cores.get(1)).toEqual({ busy: 1335 + 10 + 200 + 7 + 3 + 5, total: 1335 + 10 + 200 + 7 + 3 + 5 + 8000 + 40 });
    expect(cores.get(0)).toEqual({ busy: 1393280 + 32966 + 572056 + 17875, total: 1393280 + 32966 + 572056 + 17875 + 13343292 + 6130 });
  });

  it("gives a core's busy share between two readings", () => {
    const before = new Map([[1, { busy: 1000, total: 2000 }]]);
    const after = new Map([[1, { busy: 1075, total: 2100 }]]);
    expect(coreBusyShare(before, after, 1)).toBe(0.75);
    expect(coreBusyShare(before, after, 0)).toBeNaN();
    expect(coreBusyShare(before, before, 1)).toBeNaN();
  });
});

describe('parseCpuList', () => {
  it('expands ranges and single CPUs, sorted and without repeats', () => {
    expect(parseCpuList('0-1')).toEqual([0, 1]);
    expect(parseCpuList('3,0-2,8\n')).toEqual([0, 1, 2, 3, 8]);
    expect(parseCpuList('5')).toEqual([5]);
    expect(parseCpuList('1,1-2')).toEqual([1, 2]);
  });

  it('refuses what is not a CPU list', () => {
    expect(() => parseCpuList('a-b')).toThrow('not a CPU list: a-b');
    expect(() => parseCpuList('3-1')).toThrow('not a CPU list: 3-1');
  });
});

describe('planPinning', () => {
  it('two CPUs: the servers alone on the second, wrk and Redis on the first', () => {
    expect(planPinning([0, 1], true)).toMatchObject({ mode: 'pinned', loadCpu: 0, serverCpu: 1 });
    expect(planPinning([2, 5, 7], true)).toMatchObject({ mode: 'pinned', loadCpu: 2, serverCpu: 5 });
  });

  it('one CPU: nothing to separate, and the note says what that means for the figures', () => {
    const p = planPinning([3], true);
    expect(p.mode).toBe('shared');
    expect(p.serverCpu).toBeUndefined();
    expect(p.note).toBe(
      'only CPU 3 available: servers, wrk and Redis share it, so requests/s and latency measure them together; CPU µs per request is still each process\'s own',
    );
  });

  it('no taskset: nothing pinned, and the note names the missing tool', () => {
    const p = planPinning([0, 1], false);
    expect(p.mode).toBe('shared');
    expect(p.note).toMatch(/^taskset \(util-linux\) not found: nothing pinned/);
  });
});
