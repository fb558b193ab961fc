import { execFileSync, spawn } from 'node:child_process';
import { onCpu } from './pinning.js';
import { onPath } from './which.js';

/**
 * wrk, the load generator: C, one epoll loop per thread, a few µs of CPU per request, so one
 * core drives a saturated Node server with room to spare (autocannon, in JavaScript, topped out
 * at 6–8 k requests/s on this machine and shared the servers' cores). Each phase is a Lua
 * script in bench/wrk/ that chooses every request's credential and checks every answer; its
 * done() prints one `BENCH_RESULT {json}` line, parsed here together with wrk's own summary.
 */

export const WRK_MISSING = [
  'wrk (the HTTP load generator the benchmark drives; written in C) is not installed.',
  'Install it and run the benchmark again:',
  '  Debian/Ubuntu:  sudo apt-get install wrk',
  '  macOS:          brew install wrk',
  '  elsewhere:      https://github.com/wg/wrk (make; put wrk on PATH)',
].join('\n');

/** wrk is missing and could not be installed; the message says how to install it. */
export class WrkMissingError extends Error {
  constructor() {
    super(WRK_MISSING);
    this.name = 'WrkMissingError';
  }
}

/**
 * The path of wrk. When it is missing and this runs as root with apt-get (a CI container, a
 * fresh VM), installs Debian's package; otherwise throws with the instructions above.
 */
export function ensureWrk(log: (msg: string) => void): string {
  const found = onPath('wrk');
  if (found) return found;
  if (process.getuid?.() === 0 && onPath('apt-get')) {
    log('wrk not found: installing the Debian package (apt-get install -y wrk)');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    try {
      execFileSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'inherit', env });
    } catch {
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
      execFileSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'inherit', env });
    }
    const installed = onPath('wrk');
    if (installed) return installed;
  }
  throw new WrkMissingError();
}

/** What the phase script counted (bench/wrk/common.lua, done()). Latencies in µs. */
export interface WrkScriptResult {
  requests: number;
  duration_us: number;
  /** Answers the script accepted (HTTP 200, the phase's answer, no GraphQL error). */
  ok: number;
  /** Answers it refused (any status, error or wrong body). */
  bad: number;
  /** Requests attempted after a single-use token pool ran dry (the thread then stopped). */
  exhausted: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latency_us: { p50: number; p90: number; p99: number; p999: number; mean: number; max: number };
  /** The first few refused answers: status and 200 characters of body. */
  bad_samples: string[];
  /** Script-specific (refresh: tokens left for the next round; mixed: sign-ins sent; signin: lines of the token file possibly sent). */
  leftover?: number;
  signins?: number;
  taken?: number;
}

/** wrk's own summary (with --latency). Durations in ms. */
export interface WrkSummary {
  requests: number;
  seconds: number;
  /** Latency distribution lines of --latency: percentile → ms. */
  latencyMs: Record<'50' | '75' | '90' | '99', number>;
  non2xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
}

export interface WrkOutput {
  summary: WrkSummary;
  script: WrkScriptResult;
}

const TIME_UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function toMs(value: string, unit: string): number {
  const scale = TIME_UNIT_MS[unit];
  if (scale === undefined) throw new Error(`unknown wrk time unit ${unit}`);
  return Number(value) * scale;
}

/**
 * Parses wrk's stdout: its summary (`N requests in T`, the `--latency` distribution,
 * `Non-2xx or 3xx responses`, `Socket errors`) and the script's `BENCH_RESULT` line, and checks
 * that both saw the same number of answers.
 */
export function parseWrkOutput(stdout: string): WrkOutput {
  const total = /^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h),/m.exec(stdout);
  if (!total) throw new Error(`wrk printed no "N requests in T" line:\n${stdout.slice(0, 2000)}`);
  const latencyMs = {} as WrkSummary['latencyMs'];
  for (const m of stdout.matchAll(/^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$/gm)) {
    latencyMs[m[1] as keyof WrkSummary['latencyMs']] = toMs(m[2]!, m[3]!);
  }
  if (Object.keys(latencyMs).length !== 4) throw new Error(`wrk printed no latency distribution (run it with --latency):\n${stdout.slice(0, 2000)}`);
  const non2xx = /^\s*Non-2xx or 3xx responses: (\d+)/m.exec(stdout);
  const sock = /^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/m.exec(stdout);
  const summary: WrkSummary = {
    requests: Number(total[1]),
    seconds: toMs(total[2]!, total[3]!) / 1000,
    latencyMs,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: sock
      ? { connect: Number(sock[1]), read: Number(sock[2]), write: Number(sock[3]), timeout: Number(sock[4]) }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
  };

  const lines = stdout.split('\n').filter((l) => l.startsWith('BENCH_RESULT '));
  if (lines.length !== 1) throw new Error(`expected one BENCH_RESULT line from the wrk script, found ${lines.length}:\n${stdout.slice(0, 2000)}`);
  const script = JSON.parse(lines[0]!.slice('BENCH_RESULT '.length)) as WrkScriptResult;
  for (const k of ['requests', 'duration_us', 'ok', 'bad', 'exhausted'] as const) {
    if (!Number.isFinite(script[k])) throw new Error(`BENCH_RESULT has no numeric ${k}: ${lines[0]}`);
  }
  if (script.requests !== summary.requests) {
    throw new Error(`wrk counted ${summary.requests} answers, its script ${script.requests}`);
  }
  if (script.ok + script.bad !== script.requests) {
    throw new Error(`the wrk script judged ${script.ok} + ${script.bad} answers of ${script.requests}`);
  }
  return { summary, script };
}

export interface WrkRun {
  wrk: string;
  url: string;
  /** bench/wrk/<phase>.lua */
  script: string;
  /** key=value arguments for the script. */
  args: Record<string, string>;
  seconds: number;
  connections: number;
  threads: number;
  /** The core wrk runs on (undefined: wherever the scheduler puts it). */
  cpu?: number;
}

/** Socket/request timeout: far above any healthy latency here; a slower answer is a failure. */
const TIMEOUT_S = 10;

export function wrkArgv(run: WrkRun): [string, string[]] {
  return onCpu(run.cpu, run.wrk, [
    '--threads', String(run.threads),
    '--connections', String(run.connections),
    '--duration', `${run.seconds}s`,
    '--timeout', `${TIMEOUT_S}s`,
    '--latency',
    '--script', run.script,
    run.url,
    '--',
    ...Object.entries(run.args).map(([k, v]) => `${k}=${v}`),
  ]);
}

/** Runs wrk to completion and parses what it printed. */
export async function runWrk(run: WrkRun): Promise<WrkOutput & { stdout: string }> {
  const [cmd, args] = wrkArgv(run);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`wrk exited with ${code}: ${stderr.trim() || stdout.slice(0, 2000)}`);
  return { ...parseWrkOutput(stdout), stdout };
}
