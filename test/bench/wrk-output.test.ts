import { describe, expect, it } from '@jest/globals';
import { parseWrkOutput, wrkArgv } from '../../bench/lib/wrk.js';

/**
 * wrk's stdout as the benchmark reads it: wrk's own summary (--latency) and the phase script's
 * BENCH_RESULT line (bench/wrk/common.lua). The two outputs below are from wrk 4.1.0 (Debian)
 * running bench/wrk/me.lua and bench/wrk/refresh.lua against small test servers (verbatim but
 * for the list of refused answers' samples, cut to two).
 */

// me.lua, 2 threads: 688 answers with HTTP 401 and 689 with a GraphQL error at HTTP 200.
const ME_OUT = `Running 1s test @ http://127.0.0.1:18082/graphql
  2 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   157.35us  460.46us   6.34ms   94.82%
    Req/Sec    31.51k     9.80k   38.83k    86.36%
  Latency Distribution
     50%   54.00us
     75%   73.00us
     90%  162.00us
     99%    2.63ms
  68892 requests in 1.10s, 14.87MB read
  Non-2xx or 3xx responses: 688
Requests/sec:  62583.12
Transfer/sec:     13.50MB
BENCH_RESULT {"ok":67515,"errors":{"read":0,"write":0,"status":688,"timeout":0,"connect":0},"exhausted":0,"latency_us":{"p999":4923,"mean":157.346,"p50":54,"max":6335,"p90":162,"p99":2632},"bad":1377,"requests":68892,"bad_samples":["401 {\\u0022errors\\u0022:[{\\u0022message\\u0022:\\u0022no\\u0022}]}","200 {\\u0022errors\\u0022:[{\\u0022message\\u0022:\\u0022Not signed in\\u0022}],\\u0022data\\u0022:null}"],"duration_us":1100808}
`;

// refresh.lua, 1 thread: the server dropped 4 connections mid-request; the token queue ran dry.
const REFRESH_OUT = `Running 2s test @ http://127.0.0.1:18083/graphql
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.32ms  425.49us   6.60ms   92.43%
    Req/Sec     1.81k   281.83     2.21k    63.64%
  Latency Distribution
     50%    1.26ms
     75%    1.38ms
     90%    1.49ms
     99%    3.20ms
  1994 requests in 2.00s, 474.06KB read
  Socket errors: connect 0, read 4, write 0, timeout 0
Requests/sec:    996.91
Transfer/sec:    237.01KB
BENCH_RESULT {"ok":1994,"bad":0,"exhausted":1,"bad_samples":[],"requests":1994,"duration_us":2000173,"errors":{"connect":0,"write":0,"status":0,"timeout":0,"read":4},"latency_us":{"p90":1490,"p99":3203,"p999":6482,"mean":1323.46,"max":6596,"p50":1264},"leftover":0}
`;

describe('parseWrkOutput', () => {
  it("reads wrk's summary: answers, duration, latency distribution in ms, non-2xx", () => {
    const { summary } = parseWrkOutput(ME_OUT);
    expect(summary).toEqual({
      requests: 68892,
      seconds: 1.1,
      latencyMs: { '50': 0.054, '75': 0.073, '90': 0.162, '99': 2.63 },
      non2xx: 688,
      socketErrors: { connect: 0, read: 0, write: 0, timeout: 0 },
    });
  });

  it("reads the script's counts, latencies in µs and the refused answers' samples", () => {
    const { script } = parseWrkOutput(ME_OUT);
    expect(script).toMatchObject({ requests: 68892, ok: 67515, bad: 1377, exhausted: 0, duration_us: 1100808 });
    expect(script.latency_us).toEqual({ p50: 54, p90: 162, p99: 2632, p999: 4923, mean: 157.346, max: 6335 });
    expect(script.errors.status).toBe(688);
    expect(script.bad_samples).toEqual(['401 {"errors":[{"message":"no"}]}', '200 {"errors":[{"message":"Not signed in"}],"data":null}']);
  });

  it('reads socket errors, a pool that ran dry and script extras', () => {
    const { summary, script } = parseWrkOutput(REFRESH_OUT);
    expect(summary.socketErrors).toEqual({ connect: 0, read: 4, write: 0, timeout: 0 });
    expect(summary.non2xx).toBe(0);
    expect(summary.latencyMs).toEqual({ '50': 1.26, '75': 1.38, '90': 1.49, '99': 3.2 });
    expect(script).toMatchObject({ exhausted: 1, leftover: 0, ok: 1994, bad: 0 });
  });

  it('converts every wrk time unit', () => {
    const out = ME_OUT.replace('50%   54.00us', '50%    1.50s').replace('99%    2.63ms', '99%    1.00m').replace('in 1.10s', 'in 1.00m');
    const { summary } = parseWrkOutput(out);
    expect(summary.latencyMs['50']).toBe(1500);
    expect(summary.latencyMs['99']).toBe(60_000);
    expect(summary.seconds).toBe(60);
  });

  it('refuses output without the script line, or with two', () => {
    const without = ME_OUT.split('\n').filter((l) => !l.startsWith('BENCH_RESULT')).join('\n');
    expect(() => parseWrkOutput(without)).toThrow('expected one BENCH_RESULT line from the wrk script, found 0');
    const line = ME_OUT.split('\n').find((l) => l.startsWith('BENCH_RESULT'))!;
    expect(() => parseWrkOutput(`${ME_OUT}${line}\n`)).toThrow('found 2');
  });

  it('refuses output without the latency distribution (wrk run without --latency)', () => {
    const out = ME_OUT.replace(/ {2}Latency Distribution\n( {5}\d+%.*\n){4}/, '');
    expect(() => parseWrkOutput(out)).toThrow('wrk printed no latency distribution');
  });

  it('refuses a script line that disagrees with wrk on the number of answers', () => {
    expect(() => parseWrkOutput(ME_OUT.replace('"requests":68892', '"requests":68891'))).toThrow('wrk counted 68892 answers, its script 68891');
  });

  it('refuses a script line whose judged answers do not add up', () => {
    expect(() => parseWrkOutput(ME_OUT.replace('"bad":1377', '"bad":1376'))).toThrow('the wrk script judged 67515 + 1376 answers of 68892');
  });

  it('refuses a script line without a count', () => {
    expect(() => parseWrkOutput(ME_OUT.replace('"exhausted":0,', ''))).toThrow('BENCH_RESULT has no numeric exhausted');
  });
});

describe('wrkArgv', () => {
  const run = {
    wrk: '/usr/bin/wrk',
    url: 'http://127.0.0.1:1/graphql',
    script: '/x/me.lua',
    args: { tokens: '/tmp/t', body: '{"query":"{ me { id } }"}' },
    seconds: 10,
    connections: 32,
    threads: 1,
  };

  it('runs wrk on the load core through taskset, with --latency and the script arguments after --', () => {
    expect(wrkArgv({ ...run, cpu: 0 })).toEqual([
      'taskset',
      ['-c', '0', '/usr/bin/wrk', '--threads', '1', '--connections', '32', '--duration', '10s', '--timeout', '10s', '--latency', '--script', '/x/me.lua', 'http://127.0.0.1:1/graphql', '--', 'tokens=/tmp/t', 'body={"query":"{ me { id } }"}'],
    ]);
  });

  it('runs wrk directly when nothing is pinned', () => {
    const [cmd, args] = wrkArgv(run);
    expect(cmd).toBe('/usr/bin/wrk');
    expect(args[0]).toBe('--threads');
  });
});
