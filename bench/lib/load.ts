import { coreBusyShare, cpuSecondsOf, readCoreTicks } from './proc-stat.js';
import type { Pinning } from './pinning.js';
import { runWrk, type WrkRun, type WrkScriptResult } from './wrk.js';

/**
 * One measured round: wrk against one server for a fixed time, closed loop (each connection
 * sends its next request when the previous answer arrives), with the CPU time of the server
 * and of Redis read from /proc before and after.
 *
 * CPU per request = the process's (utime + stime) over the round ÷ the answers the script
 * accepted. It is the figure to judge by: requests/s and latency move with whatever else the
 * machine runs, CPU per request much less. Failures are counted, never averaged in: a round
 * with any is marked, and every verdict built on it says INVALID.
 */
export interface LoadResult {
  /** Accepted answers. */
  requests: number;
  /** wrk's run time (its duration; in-flight requests at the end are abandoned). */
  seconds: number;
  /** Accepted answers per second. */
  rps: number;
  /** Latency percentiles of all answers (wrk's histogram, µs precision), ms. */
  p50: number;
  p99: number;
  p999: number;
  /** Refused answers + socket errors + timeouts + requests after a token pool ran dry. */
  failures: number;
  failureDetail: { refused: number; connect: number; read: number; write: number; timeout: number; poolRanDry: number; samples: string[] };
  /** CPU µs per accepted answer: `server` (the process under test) and `redis`. */
  cpuUsPerRequest: { server: number; redis: number };
  /**
   * Share of a core, 0–1: the server's own CPU ÷ wall time (≈ 1 when saturated), and how busy
   * the server's core and the load core were, counting everything on them (other processes
   * too). A server below ~0.95 with a busy load core means the load side was the bottleneck.
   */
  utilisation: { server: number; serverCore: number; loadCore: number };
  /** Script-specific counters (tokens left, sign-ins sent). */
  extra: Partial<Pick<WrkScriptResult, 'leftover' | 'signins' | 'taken'>>;
}

export interface RoundSpec extends Omit<WrkRun, 'cpu'> {
  serverPid: number;
  redisPid: number;
  pinning: Pinning;
}

export async function measureRound(spec: RoundSpec): Promise<LoadResult> {
  const { serverPid, redisPid, pinning, ...run } = spec;
  const ticksBefore = readCoreTicks();
  const serverBefore = cpuSecondsOf(serverPid);
  const redisBefore = cpuSecondsOf(redisPid);
  const { script: s } = await runWrk({ ...run, cpu: pinning.loadCpu });
  const serverCpu = cpuSecondsOf(serverPid) - serverBefore;
  const redisCpu = cpuSecondsOf(redisPid) - redisBefore;
  const ticksAfter = readCoreTicks();
  const seconds = s.duration_us / 1e6;
  const e = s.errors;
  const perRequest = (cpuSeconds: number) => (s.ok > 0 ? (cpuSeconds * 1e6) / s.ok : NaN);
  return {
    requests: s.ok,
    seconds,
    rps: s.ok / seconds,
    p50: s.latency_us.p50 / 1000,
    p99: s.latency_us.p99 / 1000,
    p999: s.latency_us.p999 / 1000,
    failures: s.bad + e.connect + e.read + e.write + e.timeout + s.exhausted,
    failureDetail: { refused: s.bad, connect: e.connect, read: e.read, write: e.write, timeout: e.timeout, poolRanDry: s.exhausted, samples: s.bad_samples },
    cpuUsPerRequest: { server: perRequest(serverCpu), redis: perRequest(redisCpu) },
    utilisation: {
      server: serverCpu / seconds,
      serverCore: pinning.mode === 'pinned' ? coreBusyShare(ticksBefore, ticksAfter, pinning.serverCpu) : NaN,
      loadCore: pinning.mode === 'pinned' ? coreBusyShare(ticksBefore, ticksAfter, pinning.loadCpu) : NaN,
    },
    extra: Object.fromEntries((['leftover', 'signins', 'taken'] as const).filter((k) => s[k] !== undefined).map((k) => [k, s[k]])),
  };
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** One line for the progress log. */
export function fmtLoad(r: LoadResult): string {
  const fail = r.failures ? ` FAILURES ${r.failures} (${describeFailures(r)})` : '';
  return (
    `${r.rps.toFixed(0)}/s p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} ms ` +
    `cpu/req ${r.cpuUsPerRequest.server.toFixed(0)}+${r.cpuUsPerRequest.redis.toFixed(0)} µs, server ${(r.utilisation.server * 100).toFixed(0)} % of a core${fail}`
  );
}

export function describeFailures(r: LoadResult): string {
  const d = r.failureDetail;
  const parts = [
    d.refused && `${d.refused} refused answers`,
    d.connect + d.read + d.write && `${d.connect + d.read + d.write} socket errors`,
    d.timeout && `${d.timeout} timeouts`,
    d.poolRanDry && 'token pool ran dry',
  ].filter(Boolean);
  return `${parts.join(', ')}${d.samples[0] ? `; first: ${d.samples[0].slice(0, 120)}` : ''}`;
}
