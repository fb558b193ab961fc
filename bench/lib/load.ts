import autocannon from 'autocannon';

/**
 * One closed-loop load run with autocannon: `connections` connections, each sending its next
 * request as soon as the previous answer arrives, for `seconds` or until `amount` requests.
 *
 * Latency percentiles are computed here from every response time autocannon reports (float
 * milliseconds): its own histogram has 1 ms buckets, too coarse for a p50 of a few ms.
 * Every response body is checked with `verify`; a run with any failure is reported as such
 * (a fast error is not a fast answer).
 */
export interface LoadSpec {
  url: string;
  connections: number;
  seconds?: number;
  amount?: number;
  /** The i-th request's body and extra headers. */
  request: (i: number) => { body: string; headers?: Record<string, string> };
  /** True when the response body is the expected answer. */
  verify: (body: string) => boolean;
  /** Open loop: this many requests per second in total instead of as many as answers allow. */
  rate?: number;
  /** CPU-time readers (seconds so far), e.g. the server, Redis and this process. */
  meters?: Record<string, () => number>;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  mean: number;
  /** Socket errors + timeouts + non-2xx + bodies that failed `verify`. */
  failures: number;
  /** CPU time per answered request, microseconds, of the processes passed as `meters`. */
  cpuUsPerRequest?: Record<string, number>;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const latencies: number[] = [];
  let i = 0;
  const started = performance.now();
  let lastAt = started;
  const cpuBefore = Object.fromEntries(Object.entries(spec.meters ?? {}).map(([k, read]) => [k, read()]));
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        pipelining: 1,
        timeout: 10,
        ...(spec.amount !== undefined ? { amount: spec.amount } : { duration: spec.seconds ?? 10 }),
        ...(spec.rate !== undefined ? { overallRate: spec.rate } : {}),
        requests: [
          {
            method: 'POST',
            setupRequest: (req) => {
              const r = spec.request(i++);
              return { ...req, method: 'POST', body: r.body, headers: { 'content-type': 'application/json', ...r.headers } };
            },
          },
        ],
        verifyBody: (body) => spec.verify(String(body)),
      },
      (err, result) => (err ? reject(err as Error) : resolve(result)),
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
      latencies.push(responseTime);
      lastAt = performance.now();
    });
  });
  const result = await finished;
  const cpuAfter = Object.fromEntries(Object.entries(spec.meters ?? {}).map(([k, read]) => [k, read()]));
  // Up to the last answer: autocannon reports completion on its 1-second tick, which would
  // round a run of `amount` requests up to whole seconds.
  const seconds = (lastAt - started) / 1000;
  latencies.sort((a, b) => a - b);
  const requests = latencies.length;
  return {
    requests,
    seconds,
    rps: requests / seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    mean: requests ? latencies.reduce((a, b) => a + b, 0) / requests : NaN,
    failures: result.errors + result.timeouts + result.non2xx + result.mismatches,
    ...(spec.meters
      ? { cpuUsPerRequest: Object.fromEntries(Object.keys(cpuAfter).map((k) => [k, ((cpuAfter[k]! - cpuBefore[k]!) * 1e6) / Math.max(1, requests)])) }
      : {}),
  };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
