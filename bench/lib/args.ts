/**
 * `npm run bench -- [flags]`. The defaults are the documented run (docs/benchmarks.md);
 * `--quick` shortens every phase for a smoke run whose numbers are not the documented ones.
 */
// 'introspect': `POST /oauth/introspect` beside `me` on the gateway (bench/phases/load-phases.ts).
export const PHASES = ['verify', 'me', 'introspect', 'signin', 'refresh', 'cold', 'memory', 'rss'] as const;
export type Phase = (typeof PHASES)[number];
export const TARGETS = ['floor', 'reference', 'gateway'] as const;
export type TargetName = (typeof TARGETS)[number];

export interface BenchOptions {
  /** Connections held open by the load generator (closed loop: fixed concurrency). */
  connections: number;
  /** wrk threads (all on the load core when pinned). */
  wrkThreads: number;
  /** `me`, and introspection beside it: rounds (each target once per round, order rotating) and seconds per target per round. */
  meRounds: number;
  meSeconds: number;
  /** Seconds of unmeasured load per target before the first round (JIT, connection pools, caches). */
  warmSeconds: number;
  /** `signInWithGoogle` (distinct ID tokens): rounds and seconds per target per round. */
  signinRounds: number;
  signinSeconds: number;
  /** `refreshSession` (single-use refresh tokens, rotated): rounds and seconds per target per round. */
  refreshRounds: number;
  refreshSeconds: number;
  /** Sessions each target serves `me` for (one Google account each); also the refresh queue's size. */
  sessions: number;
  /** In-process verification: rounds, seconds per verifier per round, verifications in flight. */
  verifyRounds: number;
  verifySeconds: number;
  verifyInflight: number;
  /** Cold start: concurrent sign-ins spread over the two fresh instances. */
  coldSignIns: number;
  /** Steady load for the gateway RSS figure, seconds. */
  rssSeconds: number;
  /** LOG_LEVEL of the gateway under test. */
  logLevel: string;
  phases: Phase[];
  /** Targets started with `--cpu-prof` (profiles land in bench/results/profiles). */
  cpuProf: TargetName[];
  quick: boolean;
}

const FULL: BenchOptions = {
  connections: 32,
  wrkThreads: 1,
  meRounds: 5,
  meSeconds: 10,
  warmSeconds: 5,
  signinRounds: 5,
  signinSeconds: 5,
  refreshRounds: 5,
  refreshSeconds: 5,
  sessions: 1000,
  verifyRounds: 5,
  verifySeconds: 3,
  verifyInflight: 64,
  coldSignIns: 500,
  rssSeconds: 60,
  logLevel: 'info',
  phases: [...PHASES],
  cpuProf: [],
  quick: false,
};

const QUICK: Partial<BenchOptions> = {
  meRounds: 3,
  meSeconds: 3,
  warmSeconds: 2,
  signinRounds: 3,
  signinSeconds: 2,
  refreshRounds: 3,
  refreshSeconds: 2,
  sessions: 200,
  verifyRounds: 3,
  verifySeconds: 1,
  rssSeconds: 10,
  quick: true,
};

const NUMERIC: Record<string, keyof BenchOptions> = {
  '--connections': 'connections',
  '--wrk-threads': 'wrkThreads',
  '--me-rounds': 'meRounds',
  '--me-seconds': 'meSeconds',
  '--warm-seconds': 'warmSeconds',
  '--signin-rounds': 'signinRounds',
  '--signin-seconds': 'signinSeconds',
  '--refresh-rounds': 'refreshRounds',
  '--refresh-seconds': 'refreshSeconds',
  '--sessions': 'sessions',
  '--verify-rounds': 'verifyRounds',
  '--verify-seconds': 'verifySeconds',
  '--verify-inflight': 'verifyInflight',
  '--cold-signins': 'coldSignIns',
  '--rss-seconds': 'rssSeconds',
};

export const USAGE = `npm run bench -- [--quick] [--phases ${PHASES.join(',')}] [--cpu-prof gateway,reference,floor]
  [--log-level info] ${Object.keys(NUMERIC).map((f) => `[${f} N]`).join(' ')}

Load phases (me, signin, refresh) run wrk against floor, reference and gateway in alternating
rounds (introspect: the gateway's introspection and its \`me\`, as many rounds as me), each
server pinned alone to one core and wrk + Redis to the other; every figure is the
median over rounds, every ratio the median of per-round ratios. Defaults: ${describe(FULL)}.
--quick: ${describe({ ...FULL, ...QUICK })} (a smoke run; not comparable).
Results: bench/results/latest.md and .json (docs/benchmarks.md explains the method).`;

function describe(o: BenchOptions): string {
  return (
    `${o.connections} connections; me ${o.meRounds} × ${o.meSeconds} s, signin ${o.signinRounds} × ${o.signinSeconds} s, ` +
    `refresh ${o.refreshRounds} × ${o.refreshSeconds} s per target after ${o.warmSeconds} s of warm-up; ${o.sessions} sessions; ` +
    `verify ${o.verifyRounds} × ${o.verifySeconds} s; RSS over ${o.rssSeconds} s`
  );
}

export function parseArgs(argv: readonly string[]): BenchOptions {
  const opts: BenchOptions = { ...FULL, ...(argv.includes('--quick') ? QUICK : {}) };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--quick') continue;
    if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    const key = NUMERIC[flag];
    if (key) {
      const n = Number(value);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} must be a positive integer`);
      (opts as unknown as Record<string, number>)[key] = n;
    } else if (flag === '--log-level') {
      opts.logLevel = value;
    } else if (flag === '--phases') {
      opts.phases = list(value, PHASES, flag);
    } else if (flag === '--cpu-prof') {
      opts.cpuProf = list(value, TARGETS, flag);
    } else {
      throw new Error(`unknown flag ${flag}\n${USAGE}`);
    }
  }
  return opts;
}

function list<T extends string>(value: string, allowed: readonly T[], flag: string): T[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) if (!allowed.includes(item as T)) throw new Error(`${flag}: ${item} is not one of ${allowed.join(', ')}`);
  return items as T[];
}
