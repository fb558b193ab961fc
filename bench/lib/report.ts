import type { BenchOptions } from './args.js';
import type { LoadResult } from './load.js';

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
    /** What the fake issuer served google-auth-library: X.509 certificates like Google, or SPKI keys (no `openssl`). */
    googleCertFormat?: 'x509' | 'spki' | null;
  };
  verify?: { inflight: number; rounds: Record<string, number>[]; ours: number; library: number; raw: number; ratio: number };
  me?: LoadSummary<'floor' | 'reference' | 'gateway'>;
  signin?: LoadSummary<'reference' | 'gateway'>;
  cold?: Record<'gateway' | 'reference', { keyFetches: number; signIns: number; succeeded: number }>;
  memory?: {
    gateway: { keys: Record<string, number>; perUser: number; perSession: number; secondSession: number; indexGrowth: number; note: string };
    reference: { keys: Record<string, number>; perUser: number; perSession: number };
  };
  rss?: { seconds: number; warmSeconds: number; before: number; after: number; peak: number; growth: number; load: LoadResult; signIns: number; /** [seconds since warm-up start, RSS MB] every 250 ms. */ samples: [number, number][] };
}

interface Figure {
  rps: number;
  p50: number;
  p99: number;
  failures: number;
  /** Median over rounds, microseconds of CPU per answered request: `server`, `redis`, `loadGenerator`. */
  cpuUsPerRequest: Record<string, number>;
}
type LoadSummary<T extends string> = { connections: number; rounds: Record<T, LoadResult>[] } & Record<T, Figure>;

/** Median over rounds of a per-round ratio (drift between rounds cancels inside each ratio). */
export function roundRatio<T extends string>(s: { rounds: Record<T, LoadResult>[] }, num: T, den: T, field: 'rps' | 'p50' | 'p99'): number {
  const r = s.rounds.map((x) => x[num][field] / x[den][field]).sort((a, b) => a - b);
  const mid = r.length >> 1;
  return r.length % 2 ? r[mid]! : (r[mid - 1]! + r[mid]!) / 2;
}

const n0 = (x: number) => Math.round(x).toLocaleString('en-US');
const n1 = (x: number) => x.toFixed(1);
const n2 = (x: number) => x.toFixed(2);
const cpu = (f: Figure) => `${n0(f.cpuUsPerRequest.server ?? NaN)} + ${n0(f.cpuUsPerRequest.redis ?? NaN)}`;
const verdict = (ok: boolean, failures = 0) => (failures > 0 ? `INVALID (${failures} failed requests)` : ok ? 'met' : '**missed**');

export function renderTable(res: Results): string {
  const rows: string[][] = [];
  const { me, signin, verify, cold, memory, rss } = res;
  if (me) {
    const fails = me.floor.failures + me.reference.failures + me.gateway.failures;
    const rps = roundRatio(me, 'gateway', 'floor', 'rps');
    const p99 = roundRatio(me, 'gateway', 'floor', 'p99');
    rows.push(['authenticated `me` requests/s', n0(me.floor.rps), n0(me.reference.rps), n0(me.gateway.rps), `gateway ÷ floor **${n2(rps)}** (reference ÷ floor ${n2(roundRatio(me, 'reference', 'floor', 'rps'))})`, '≥ 0.9', verdict(rps >= 0.9, fails)]);
    rows.push(['`me` p50 latency, ms', n1(me.floor.p50), n1(me.reference.p50), n1(me.gateway.p50), `gateway ÷ floor ${n2(roundRatio(me, 'gateway', 'floor', 'p50'))}`, '', '']);
    rows.push(['`me` CPU per request, µs: server + Redis', cpu(me.floor), cpu(me.reference), cpu(me.gateway), `gateway ÷ floor ${n2(me.gateway.cpuUsPerRequest.server! / me.floor.cpuUsPerRequest.server!)} (server)`, '', '']);
    rows.push(['`me` p99 latency, ms', n1(me.floor.p99), n1(me.reference.p99), n1(me.gateway.p99), `gateway ÷ floor **${n2(p99)}** (reference ÷ floor ${n2(roundRatio(me, 'reference', 'floor', 'p99'))})`, '≤ 1.25', verdict(p99 <= 1.25, fails)]);
  }
  if (signin) {
    const fails = signin.reference.failures + signin.gateway.failures;
    const r = roundRatio(signin, 'gateway', 'reference', 'rps');
    rows.push(['`signInWithGoogle` requests/s (distinct valid tokens)', '–', n0(signin.reference.rps), n0(signin.gateway.rps), `gateway ÷ reference **${n2(r)}**`, '≥ 2.0', verdict(r >= 2, fails)]);
    rows.push(['`signInWithGoogle` CPU per request, µs: server + Redis', '–', cpu(signin.reference), cpu(signin.gateway), `gateway ÷ reference ${n2(signin.gateway.cpuUsPerRequest.server! / signin.reference.cpuUsPerRequest.server!)} (server)`, '', '']);
  }
  if (verify) {
    rows.push([
      `ID-token verifications/s in process, ${verify.inflight} in flight`,
      `node:crypto, signature only: ${n0(verify.raw)}`,
      `google-auth-library: ${n0(verify.library)}`,
      `ours: ${n0(verify.ours)}`,
      `ours ÷ google-auth-library **${n2(verify.ratio)}**`,
      '≥ 3.0',
      verdict(verify.ratio >= 3),
    ]);
  }
  if (cold) {
    const g = cold.gateway;
    const fails = g.signIns - g.succeeded;
    rows.push([
      `Google key fetches, cold start of 2 instances, ${g.signIns} concurrent sign-ins`,
      '–',
      `${cold.reference.keyFetches} (${cold.reference.succeeded}/${cold.reference.signIns} ok)`,
      `${g.keyFetches} (${g.succeeded}/${g.signIns} ok)`,
      '',
      'exactly 1',
      verdict(g.keyFetches === 1, fails),
    ]);
  }
  if (memory) {
    rows.push(['Redis bytes per session', '–', n0(memory.reference.perSession), n0(memory.gateway.perSession), '', '≤ 512', verdict(memory.gateway.perSession <= 512)]);
    rows.push(['Redis bytes per user', '–', n0(memory.reference.perUser), n0(memory.gateway.perUser), '', '≤ 1024', verdict(memory.gateway.perUser <= 1024)]);
  }
  if (rss) {
    rows.push([
      `gateway RSS before → after ${rss.seconds} s of steady load, MB (medians of 5 s)`,
      '–',
      '–',
      `${n1(rss.before / 1048576)} → ${n1(rss.after / 1048576)} (peak ${n1(rss.peak / 1048576)})`,
      `growth **${(rss.growth * 100).toFixed(1)} %**`,
      '< 10 %',
      verdict(rss.growth < 0.1, rss.load.failures),
    ]);
  }
  const header = ['figure', 'floor', 'reference', 'gateway', 'ratio (median of per-round ratios)', 'target', 'verdict'];
  const lines = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`);
  const m = res.meta;
  const o = m.options;
  lines.push(
    '',
    `\`${m.command}\` at ${m.commit}, ${m.startedAt} → ${m.finishedAt}; Node ${m.node}, ${m.cpus}, ${m.memoryGb} GB; ` +
      `load average ${m.loadAverageAtStart.join('/')} at start, ${m.loadAverageAtEnd.join('/')} at end. ` +
      `${o.connections} connections; \`me\` ${o.meRounds} rounds × ${o.meSeconds} s per target over ${o.sessions} sessions; ` +
      `sign-in ${o.signinRounds} rounds × ${o.signinRequests} requests per target; gateway LOG_LEVEL=${o.logLevel}; ` +
      `google-auth-library verified against ${m.googleCertFormat === 'spki' ? 'SPKI public keys (no openssl: Google serves X.509 certificates, slower to parse)' : 'X.509 certificates, as Google serves them'}.`,
  );
  return lines.join('\n');
}
