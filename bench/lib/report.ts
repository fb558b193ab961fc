import type { BenchOptions } from './args.js';
import type { AuthTarget } from './gql.js';
import type { LoadResult } from './load.js';
import type { Pinning } from './pinning.js';
import type { LoadPhase } from '../phases/context.js';
import type { ColdFigures, MemoryFigures, RssFigures, VerifyFigures } from '../phases/figures.js';
import { median } from './load.js';

/** Everything one run measured (written as JSON to bench/results/). */
export interface Results {
  meta: {
    startedAt: string;
    finishedAt: string;
    command: string;
    commit: string;
    node: string;
    cpus: string;
    memoryGb: number;
    loadAverageAtStart: number[];
    loadAverageAtEnd: number[];
    options: BenchOptions;
    pinning: Pinning;
    wrk: string;
    /** What the fake issuer served google-auth-library: X.509 certificates like Google, or SPKI keys (no `openssl`). */
    googleCertFormat?: 'x509' | 'spki' | null;
  };
  verify?: VerifyFigures;
  me?: LoadPhase<'floor' | 'reference' | 'gateway'>;
  /** The gateway's `POST /oauth/introspect` and its `me`, alternating (issue 14). */
  introspect?: LoadPhase<'me' | 'introspect'>;
  signin?: LoadPhase<AuthTarget>;
  refresh?: LoadPhase<AuthTarget>;
  cold?: ColdFigures;
  memory?: MemoryFigures;
  rss?: RssFigures;
  targets?: Verdict[];
}

/** One issue-15 target: the measured ratio, its threshold and the verdict. */
export interface Verdict {
  target: string;
  measured: number;
  threshold: string;
  /** Failed requests in the rounds the ratio is built on: any makes the verdict INVALID. */
  failures: number;
  /**
   * Rounds in which every server compared used at least 90 % of its core, of all rounds. In
   * the others something else held a core: requests/s and latency were not saturation figures
   * (CPU per request is less affected).
   */
  saturatedRounds: number;
  rounds: number;
  verdict: 'met' | 'missed' | 'INVALID';
}

/** A round counts as saturated when every server in it used at least this share of its core. */
export const SATURATED = 0.9;

const total = (r: LoadResult) => r.cpuUsPerRequest.server + r.cpuUsPerRequest.redis;

/** Median over rounds of a per-round ratio (drift between rounds cancels inside each ratio). */
export function roundRatio<T extends string>(phase: LoadPhase<T>, num: T, den: T, of: (r: LoadResult) => number): number {
  return median(phase.rounds.map((r) => of(r[num]) / of(r[den])));
}

function verdict(target: string, measured: number, threshold: string, ok: boolean, failures: number, rounds: Record<string, LoadResult>[][]): Verdict {
  const all = rounds.flat();
  return {
    target,
    measured,
    threshold,
    failures,
    saturatedRounds: all.filter((r) => Object.values(r).every((x) => x.utilisation.server >= SATURATED)).length,
    rounds: all.length,
    verdict: failures > 0 || !Number.isFinite(measured) ? 'INVALID' : ok ? 'met' : 'missed',
  };
}

/** The rounds of a phase restricted to the targets compared. */
const only = <T extends string>(phase: LoadPhase<T>, names: T[]) =>
  phase.rounds.map((r) => Object.fromEntries(names.map((n) => [n, r[n]])) as Record<string, LoadResult>);

/** The targets of issue 15, from whichever phases ran. */
export function evaluateTargets(res: Results): Verdict[] {
  const out: Verdict[] = [];
  const { me, introspect, signin, refresh } = res;
  if (me) {
    const f = me.summary.gateway.failures + me.summary.reference.failures;
    const cpu = roundRatio(me, 'gateway', 'reference', total);
    const rounds = [only(me, ['gateway', 'reference'])];
    out.push(verdict('`me` CPU per request (server + Redis), gateway ÷ reference', cpu, '≤ 0.90', cpu <= 0.9, f, rounds));
    const rps = roundRatio(me, 'gateway', 'reference', (r) => r.rps);
    out.push(verdict('`me` requests/s, gateway ÷ reference', rps, '≥ 1.00', rps >= 1, f, rounds));
  }
  if (introspect) {
    const f = introspect.summary.me.failures + introspect.summary.introspect.failures;
    const cpu = roundRatio(introspect, 'introspect', 'me', total);
    out.push(verdict('gateway introspection CPU per request ÷ its `me` (server + Redis; issue 14)', cpu, '≤ 0.50', cpu <= 0.5, f, [introspect.rounds]));
  }
  if (signin) {
    const f = signin.summary.gateway.failures + signin.summary.reference.failures;
    const cpu = roundRatio(signin, 'gateway', 'reference', total);
    const rounds = [only(signin, ['gateway', 'reference'])];
    out.push(verdict('`signInWithGoogle` CPU per request (server + Redis), gateway ÷ reference', cpu, '≤ 1.00', cpu <= 1, f, rounds));
    const p99 = roundRatio(signin, 'gateway', 'reference', (r) => r.p99);
    out.push(verdict('`signInWithGoogle` p99, gateway ÷ reference', p99, '≤ 1.00', p99 <= 1, f, rounds));
  }
  if (refresh && signin) {
    // Two phases, run at different times: the ratio of their medians (rounds are not paired).
    const f = refresh.summary.gateway.failures + signin.summary.gateway.failures;
    const r = refresh.summary.gateway.cpuUsPerRequest.total / signin.summary.gateway.cpuUsPerRequest.total;
    const rounds = [only(refresh, ['gateway']), only(signin, ['gateway'])];
    out.push(verdict('gateway `refreshSession` CPU ÷ its `signInWithGoogle` CPU (server + Redis)', r, '≤ 0.50', r <= 0.5, f, rounds));
  }
  return out;
}

const n0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
const n1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const n2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const pct = (x: number) => (Number.isFinite(x) ? `${Math.round(x * 100)} %` : '–');
const oldVerdict = (ok: boolean, failures = 0) => (failures > 0 ? `INVALID (${failures} failed requests)` : ok ? 'met' : '**missed**');

function table(header: string[], rows: string[][]): string[] {
  return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`);
}

function loadRows(res: Results): string[][] {
  const rows: string[][] = [];
  const phases: [string, LoadPhase<string> | undefined][] = [
    ['authenticated `me`', res.me],
    ['`POST /oauth/introspect` beside `me` (gateway)', res.introspect],
    ['`signInWithGoogle` (distinct ID tokens)', res.signin],
    ['`refreshSession` (single-use tokens, rotated)', res.refresh],
  ];
  for (const [label, phase] of phases) {
    if (!phase) continue;
    for (const [name, f] of Object.entries(phase.summary)) {
      rows.push([
        label,
        name,
        n0(f.rps),
        n2(f.p50),
        n2(f.p99),
        n0(f.cpuUsPerRequest.server),
        n0(f.cpuUsPerRequest.redis),
        `**${n0(f.cpuUsPerRequest.total)}**`,
        pct(f.serverUtilisation),
        f.failures ? `**${f.failures} in ${f.roundsWithFailures} round(s)**` : '0',
      ]);
    }
  }
  return rows;
}

function roundRows(res: Results): { header: string[]; rows: string[][] } {
  const rows: string[][] = [];
  const cell = (r: LoadResult | undefined) => {
    if (!r) return '–';
    const u = r.utilisation;
    // Below 90 % of its core the server was not saturated: something else held its core or the load core.
    const unsaturated = u.server < SATURATED ? `, ⚠ server ${pct(u.server)} of its core (core ${pct(u.serverCore)} busy, load core ${pct(u.loadCore)})` : '';
    return `${n0(r.rps)}/s, ${n0(r.cpuUsPerRequest.server)} + ${n0(r.cpuUsPerRequest.redis)} µs, p99 ${n2(r.p99)}${r.failures ? `, **${r.failures} failed**` : ''}${unsaturated}`;
  };
  for (const [label, phase] of [['me', res.me], ['signin', res.signin], ['refresh', res.refresh]] as const) {
    phase?.rounds.forEach((round: Record<string, LoadResult>, i: number) => rows.push([label, String(i + 1), cell(round.floor), cell(round.reference), cell(round.gateway)]));
  }
  // Both on the gateway: `me` and introspection of the same tokens.
  res.introspect?.rounds.forEach((round, i) => rows.push(['introspect', String(i + 1), '–', '–', `me: ${cell(round.me)}; introspect: ${cell(round.introspect)}`]));
  return { header: ['phase', 'round', 'floor', 'reference', 'gateway'], rows };
}

function otherRows(res: Results): string[][] {
  const rows: string[][] = [];
  const { verify, cold, memory, rss, me } = res;
  if (me) rows.push(['`me` requests/s, gateway ÷ floor (bare Apollo, no auth)', '', '', '', n2(roundRatio(me, 'gateway', 'floor', (r) => r.rps)), '', '']);
  if (res.refresh) {
    rows.push(['`refreshSession` CPU per request, gateway ÷ reference', '', '', '', n2(roundRatio(res.refresh, 'gateway', 'reference', total)), '', '']);
  }
  if (verify) {
    rows.push([
      `ID-token verifications/s in process, ${verify.inflight} in flight`,
      `node:crypto, signature only: ${n0(verify.raw)}`,
      `google-auth-library: ${n0(verify.library)}`,
      `ours: ${n0(verify.ours)}`,
      `ours ÷ google-auth-library **${n2(verify.ratio)}**`,
      '≥ 3.0',
      oldVerdict(verify.ratio >= 3),
    ]);
  }
  if (cold) {
    const g = cold.gateway;
    rows.push([
      `Google key fetches, cold start of 2 instances, ${g.signIns} concurrent sign-ins`,
      '–',
      `${cold.reference.keyFetches} (${cold.reference.succeeded}/${cold.reference.signIns} ok)`,
      `${g.keyFetches} (${g.succeeded}/${g.signIns} ok)`,
      '',
      'exactly 1',
      oldVerdict(g.keyFetches === 1, g.signIns - g.succeeded),
    ]);
  }
  if (memory) {
    rows.push(['Redis bytes per session', '–', n0(memory.reference.perSession), n0(memory.gateway.perSession), '', '≤ 512', oldVerdict(memory.gateway.perSession <= 512)]);
    rows.push(['Redis bytes per user', '–', n0(memory.reference.perUser), n0(memory.gateway.perUser), '', '≤ 1024', oldVerdict(memory.gateway.perUser <= 1024)]);
  }
  if (rss) {
    rows.push([
      `gateway RSS before → after ${rss.seconds} s of steady load, MB (medians of 5 s)`,
      '–',
      '–',
      `${n1(rss.before / 1048576)} → ${n1(rss.after / 1048576)} (peak ${n1(rss.peak / 1048576)})`,
      `growth **${(rss.growth * 100).toFixed(1)} %**`,
      '< 10 %',
      oldVerdict(rss.growth < 0.1, rss.load.failures),
    ]);
  }
  return rows;
}

export function renderReport(res: Results): string {
  const lines: string[] = [];
  const load = loadRows(res);
  if (load.length) {
    lines.push('Load phases (wrk at saturation; medians over rounds; CPU µs per successful request from /proc):', '');
    lines.push(...table(['phase', 'target', 'requests/s', 'p50 ms', 'p99 ms', 'server µs/req', 'Redis µs/req', 'server + Redis µs/req', 'server CPU ÷ wall', 'failures'], load), '');
  }
  const targets = res.targets ?? [];
  if (targets.length) {
    lines.push('Issue 15 targets (median of per-round ratios):', '');
    lines.push(
      ...table(
        ['target', 'measured', 'threshold', 'verdict', 'saturated rounds'],
        targets.map((t) => [
          t.target,
          `**${n2(t.measured)}**`,
          t.threshold,
          t.verdict === 'INVALID' ? `INVALID (${t.failures} failed requests)` : t.verdict === 'met' ? 'met' : '**missed**',
          `${t.saturatedRounds} of ${t.rounds}`,
        ]),
      ),
      '',
      `(A saturated round: every server compared used at least ${SATURATED * 100} % of its core. In the others something else held a core, and requests/s and latency were not saturation figures; CPU per request is less affected.)`,
      '',
    );
  }
  const other = otherRows(res);
  if (other.length) {
    lines.push('Other figures:', '');
    lines.push(...table(['figure', 'floor', 'reference', 'gateway', 'ratio', 'target', 'verdict'], other), '');
  }
  const rounds = roundRows(res);
  if (rounds.rows.length) {
    lines.push(
      'Per round (requests/s, CPU µs per request server + Redis, p99 ms; ⚠ marks a server below 90 % of its core, i.e. not saturated: other processes held its core or the load core):',
      '',
    );
    lines.push(...table(rounds.header, rounds.rows), '');
  }
  const m = res.meta;
  const o = m.options;
  lines.push(
    `\`${m.command}\` at ${m.commit}, ${m.startedAt} → ${m.finishedAt}; Node ${m.node}, ${m.cpus}, ${m.memoryGb} GB; ` +
      `load average ${m.loadAverageAtStart.join('/')} at start, ${m.loadAverageAtEnd.join('/')} at end. ` +
      `${m.wrk}, ${o.wrkThreads} thread(s), ${o.connections} connections; pinning: ${m.pinning.note}. ` +
      `\`me\` ${o.meRounds} × ${o.meSeconds} s, sign-in ${o.signinRounds} × ${o.signinSeconds} s, refresh ${o.refreshRounds} × ${o.refreshSeconds} s per target ` +
      `(after ${o.warmSeconds} s of warm-up each), ${o.sessions} sessions; gateway LOG_LEVEL=${o.logLevel}; ` +
      `google-auth-library verified against ${m.googleCertFormat === 'spki' ? 'SPKI public keys (no openssl: Google serves X.509 certificates, slower to parse)' : 'X.509 certificates, as Google serves them'}.`,
  );
  return lines.join('\n');
}
