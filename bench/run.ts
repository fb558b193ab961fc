/**
 * `npm run bench`: the side-by-side benchmark of issue #7 (see docs/benchmarks.md).
 *
 * One private redis-server and one fake Google issuer; three servers, each its own Node process
 * on loopback (floor, reference, gateway); the load generator (autocannon) and the in-process
 * verification loops run in this process. Targets take turns in rounds, the order rotating
 * each round, so slow drift of the machine lands on all of them alike; ratios are taken per
 * round and the median is reported.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { FakeGoogle } from '../test/support/fake-google.js';
import { RedisServer, freePort } from '../test/support/redis-server.js';
import { parseArgs, type BenchOptions, type TargetName } from './lib/args.js';
import { ME_BODY, USER_AGENT, isMeAnswer, isSignInAnswer, mapConcurrent, signIn, signInBody } from './lib/gql.js';
import { median, runLoad, type LoadResult } from './lib/load.js';
import { cpuOf, startServer, type ServerProcess } from './lib/procs.js';
import { renderTable, type Results } from './lib/report.js';
import { mintTokens, profileClaims } from './lib/tokens.js';
import { libraryVerifier, ourVerifier, rawVerifier, verificationsPerSecond } from './lib/verifiers.js';
import { BENCH_RATE_LIMITS } from './lib/limits.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root: this file runs from dist/bench/bench/run.js. */
const ROOT = resolve(here, '../../..');
const RESULTS_DIR = join(ROOT, 'bench/results');
const SCRIPTS = {
  floor: join(here, 'targets/serve-floor.js'),
  reference: join(here, 'targets/serve-reference.js'),
  gateway: join(ROOT, 'dist/main.js'),
};
const CLIENT_ID = '1234567890-bench.apps.googleusercontent.com';
const GW_PREFIX = 'gw:';
const REF_PREFIX = 'ref:';

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const results: Results = { meta: meta(opts) };
  mkdirSync(join(RESULTS_DIR, 'profiles'), { recursive: true });

  // appendfsync everysec: the persistence production runs with (docker-compose.yml).
  const redisServer = await RedisServer.start(['--appendfsync', 'everysec']);
  const redis = new Redis(redisServer.url);
  const google = await FakeGoogle.start({ clientId: CLIENT_ID });
  const servers: ServerProcess[] = [];
  const start = async (name: TargetName, env: Record<string, string> = {}, pollMs?: number): Promise<ServerProcess> => {
    const s = await startServer({
      name,
      script: SCRIPTS[name],
      port: await freePort(),
      env: { ...envFor(name, redisServer.url, google, opts.logLevel), ...env },
      nodeArgs: opts.cpuProf.includes(name)
        ? ['--cpu-prof', `--cpu-prof-dir=${join(RESULTS_DIR, 'profiles')}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`]
        : [],
      pollMs,
    });
    servers.push(s);
    return s;
  };
  const stop = async (s: ServerProcess) => {
    servers.splice(servers.indexOf(s), 1);
    await s.stop();
  };

  try {
    if (opts.phases.includes('verify')) results.verify = await verifyPhase(opts, google);

    log('starting floor, reference and gateway');
    const floor = await start('floor');
    const reference = await start('reference');
    const gateway = await start('gateway');
    log(`floor ${floor.url} (pid ${floor.pid}), reference ${reference.url} (pid ${reference.pid}), gateway ${gateway.url} (pid ${gateway.pid})`);

    let gwSessions: string[] = [];
    let refSessions: string[] = [];
    if (opts.phases.includes('me') || opts.phases.includes('rss')) {
      log(`signing in ${opts.sessions} accounts on reference and gateway`);
      const idTokens = await mintTokens(google, opts.sessions);
      gwSessions = (await mapConcurrent(idTokens, 16, (t) => signIn('gateway', gateway.url, t))).map((r) => r.credential);
      refSessions = (await mapConcurrent(idTokens, 16, (t) => signIn('reference', reference.url, t))).map((r) => r.credential);
    }

    const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))![1]);
    const meters = (s: ServerProcess) => ({ server: s.cpu, redis: () => cpuOf(redisPid), loadGenerator: () => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1e6;
      },
    });
    if (opts.phases.includes('me')) {
      results.me = await mePhase(opts, { floor, reference, gateway }, { floor: gwSessions, reference: refSessions, gateway: gwSessions }, meters);
    }
    if (opts.phases.includes('signin')) results.signin = await signinPhase(opts, google, reference, gateway, meters);
    if (opts.phases.includes('memory')) results.memory = await memoryPhase(google, redis, reference, gateway);
    if (opts.phases.includes('cold')) results.cold = await coldPhase(opts, google, start, stop);
    if (opts.phases.includes('rss')) results.rss = await rssPhase(opts, google, gateway, gwSessions);
  } finally {
    for (const s of [...servers]) await s.stop().catch(() => undefined);
    redis.disconnect();
    await google.close();
    await redisServer.destroy();
  }

  results.meta.finishedAt = new Date().toISOString();
  results.meta.googleCertFormat = google.pemKind;
  results.meta.loadAverageAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  const table = renderTable(results);
  const stamp = results.meta.startedAt.replace(/[:.]/g, '-');
  writeFileSync(join(RESULTS_DIR, `bench-${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(RESULTS_DIR, 'latest.md'), `${table}\n`);
  process.stdout.write(`\n${table}\n\nJSON: bench/results/bench-${stamp}.json\n`);
}

function envFor(name: TargetName, redisUrl: string, google: FakeGoogle, logLevel: string): Record<string, string> {
  switch (name) {
    case 'floor':
      return { NODE_ENV: 'production' };
    case 'reference':
      return { NODE_ENV: 'production', REDIS_URL: redisUrl, REDIS_KEY_PREFIX: REF_PREFIX, GOOGLE_CLIENT_ID: CLIENT_ID, GOOGLE_PEM_CERTS_URL: google.pemCertsUri };
    case 'gateway':
      return {
        NODE_ENV: 'production',
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: GW_PREFIX,
        GOOGLE_CLIENT_IDS: CLIENT_ID,
        GOOGLE_JWKS_URI: google.jwksUri,
        AUTH_ISSUER: 'https://auth.bench.example',
        LOG_LEVEL: logLevel,
        ...BENCH_RATE_LIMITS,
      };
  }
}

// --- phases ------------------------------------------------------------------------------

async function verifyPhase(opts: BenchOptions, google: FakeGoogle): Promise<NonNullable<Results['verify']>> {
  log(`in-process verification: ${opts.verifyRounds} rounds × ${opts.verifySeconds} s, ${opts.verifyInflight} in flight`);
  const tokens = await mintTokens(google, 256);
  const verifiers = [await ourVerifier(google), await libraryVerifier(google), rawVerifier(google)];
  // Same answers, same refusals: a comparison of verifiers that disagree would mean nothing.
  const tampered = `${tokens[0]!.slice(0, tokens[0]!.lastIndexOf('.'))}.${tokens[1]!.slice(tokens[1]!.lastIndexOf('.') + 1)}`;
  for (const v of verifiers) {
    for (const t of tokens.slice(0, 8)) if ((await v.verify(t)) !== JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()).sub) throw new Error(`${v.name}: wrong sub`);
    if (await v.verify(tampered).then(() => true, () => false)) throw new Error(`${v.name} accepted a tampered token`);
  }
  for (const v of verifiers) await verificationsPerSecond(v, tokens, opts.verifyInflight, 500); // warm-up
  const rounds: Record<string, number>[] = [];
  for (let r = 0; r < opts.verifyRounds; r++) {
    const round: Record<string, number> = {};
    for (const v of rotate(verifiers, r)) round[v.name] = await verificationsPerSecond(v, tokens, opts.verifyInflight, opts.verifySeconds * 1000);
    rounds.push(round);
    log(`  round ${r + 1}: ${Object.entries(round).map(([k, v]) => `${k} ${v.toFixed(0)}/s`).join(', ')}`);
  }
  const [ours, lib, raw] = verifiers.map((v) => v.name) as [string, string, string];
  return {
    inflight: opts.verifyInflight,
    rounds,
    ours: median(rounds.map((r) => r[ours]!)),
    library: median(rounds.map((r) => r[lib]!)),
    raw: median(rounds.map((r) => r[raw]!)),
    ratio: median(rounds.map((r) => r[ours]! / r[lib]!)),
  };
}

async function mePhase(
  opts: BenchOptions,
  targets: Record<TargetName, ServerProcess>,
  credentials: Record<TargetName, string[]>,
  meters: (s: ServerProcess) => Record<string, () => number>,
): Promise<NonNullable<Results['me']>> {
  const order: TargetName[] = ['floor', 'reference', 'gateway'];
  const run = (name: TargetName, seconds: number) => {
    const pool = credentials[name];
    return runLoad({
      url: `${targets[name].url}/graphql`,
      connections: opts.connections,
      seconds,
      request: (i) => ({ body: ME_BODY, headers: { authorization: `Bearer ${pool[i % pool.length]}`, 'user-agent': USER_AGENT } }),
      verify: isMeAnswer,
      meters: meters(targets[name]),
    });
  };
  log(`me: warm-up ${opts.warmSeconds} s per target`);
  for (const name of order) await run(name, opts.warmSeconds);
  const rounds: Record<TargetName, LoadResult>[] = [];
  for (let r = 0; r < opts.meRounds; r++) {
    const round = {} as Record<TargetName, LoadResult>;
    for (const name of rotate(order, r)) round[name] = await run(name, opts.meSeconds);
    rounds.push(round);
    log(`  me round ${r + 1}: ${order.map((n) => `${n} ${fmtLoad(round[n])}`).join(' | ')}`);
  }
  return summarize(rounds, order, opts.connections);
}

async function signinPhase(
  opts: BenchOptions,
  google: FakeGoogle,
  reference: ServerProcess,
  gateway: ServerProcess,
  meters: (s: ServerProcess) => Record<string, () => number>,
): Promise<NonNullable<Results['signin']>> {
  const perRun = opts.signinRequests + 2 * opts.connections + 8; // autocannon builds one spare request per connection
  const warm = 300 + 2 * opts.connections + 8;
  log(`signInWithGoogle: minting ${warm + perRun * opts.signinRounds} distinct ID tokens`);
  const pool = await mintTokens(google, warm + perRun * opts.signinRounds);
  // Each target sees each token at most once (the two keep separate accounts under their own prefixes).
  const cursor = { reference: 0, gateway: 0 };
  const targets = { reference, gateway };
  const order = ['reference', 'gateway'] as const;
  const run = (name: 'reference' | 'gateway', amount: number) =>
    runLoad({
      url: `${targets[name].url}/graphql`,
      connections: opts.connections,
      amount,
      request: () => {
        const token = pool[cursor[name]++];
        if (token === undefined) throw new Error('the ID-token pool ran out');
        return { body: signInBody(name, token), headers: { 'user-agent': USER_AGENT } };
      },
      verify: isSignInAnswer,
      meters: meters(targets[name]),
    });
  for (const name of order) await run(name, 300);
  const rounds: Record<'reference' | 'gateway', LoadResult>[] = [];
  for (let r = 0; r < opts.signinRounds; r++) {
    const round = {} as Record<'reference' | 'gateway', LoadResult>;
    for (const name of rotate(order, r)) round[name] = await run(name, opts.signinRequests);
    rounds.push(round);
    log(`  sign-in round ${r + 1}: ${order.map((n) => `${n} ${fmtLoad(round[n])}`).join(' | ')}`);
  }
  return summarize(rounds, [...order], opts.connections);
}

/**
 * A sign-in of a new account on each target, then MEMORY USAGE of exactly the keys it created
 * (checked against DBSIZE). A second sign-in of the same account opens a second session: its
 * session key plus what it added to the session index is the per-session cost.
 */
async function memoryPhase(google: FakeGoogle, redis: Redis, reference: ServerProcess, gateway: ServerProcess): Promise<NonNullable<Results['memory']>> {
  log('Redis memory per user and per session');
  const usage = async (key: string) => {
    const n = (await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) as number | null;
    if (n === null) throw new Error(`${key} does not exist`);
    return n;
  };
  const claims = profileClaims();
  const [first, second] = [await google.mint(claims), await google.mint({ ...claims, jti: `${claims.jti}-2` })];

  // Gateway.
  let before = await redis.dbsize();
  const a = await signIn('gateway', gateway.url, first);
  const created = (await redis.dbsize()) - before;
  const sid = (JSON.parse(Buffer.from(a.credential.split('.')[1]!, 'base64url').toString()) as { sid: string }).sid;
  const uid = a.userId;
  const keys = {
    user: `${GW_PREFIX}user:{${uid}}`,
    identity: `${GW_PREFIX}idn:google:${claims.sub as string}`,
    session: `${GW_PREFIX}sess:{${uid}}:${sid}`,
    sessionIndex: `${GW_PREFIX}sessidx:{${uid}}`,
  };
  // Besides these four, a sign-in may create short-lived keys that are not per-session state:
  // rate-limit counters (one number each, expiring with their window) and the active-sessions
  // bucket (shared by all sessions). They are reported, not counted per session.
  if (created < Object.keys(keys).length) throw new Error(`a gateway sign-in created ${created} keys, expected at least ${Object.keys(keys).length}`);
  if (created > Object.keys(keys).length) log(`  (${created - Object.keys(keys).length} further short-lived key(s): rate-limit counters / active-sessions bucket, not counted)`);
  const gw: Record<string, number> = {};
  for (const [k, key] of Object.entries(keys)) gw[k] = await usage(key);
  const b = await signIn('gateway', gateway.url, second);
  const sid2 = (JSON.parse(Buffer.from(b.credential.split('.')[1]!, 'base64url').toString()) as { sid: string }).sid;
  const indexGrowth = (await usage(keys.sessionIndex)) - gw.sessionIndex!;
  const secondSession = await usage(`${GW_PREFIX}sess:{${uid}}:${sid2}`);

  // Reference.
  const refClaims = profileClaims();
  before = await redis.dbsize();
  const c = await signIn('reference', reference.url, await google.mint(refClaims));
  const refCreated = (await redis.dbsize()) - before;
  if (refCreated !== 2) throw new Error(`a reference sign-in created ${refCreated} keys, expected 2`);
  const ref = { user: await usage(`${REF_PREFIX}user:${refClaims.sub as string}`), session: await usage(`${REF_PREFIX}session:${c.credential}`) };

  return {
    gateway: {
      keys: gw,
      perUser: gw.user! + gw.identity! + gw.sessionIndex!,
      perSession: secondSession + indexGrowth,
      secondSession,
      indexGrowth,
      note: 'per user: user hash + identity key + session index (holding its first session); per session: a session hash + what it adds to the index',
    },
    reference: { keys: ref, perUser: ref.user, perSession: ref.session },
  };
}

/**
 * Two fresh instances on an empty key cache (new key prefix), started together; each gets half
 * of `coldSignIns` concurrent sign-ins the moment it answers. The fake issuer answers the key
 * request after 300 ms, so the sign-ins arrive while the first fetch is still in flight.
 */
async function coldPhase(
  opts: BenchOptions,
  google: FakeGoogle,
  start: (name: TargetName, env?: Record<string, string>, pollMs?: number) => Promise<ServerProcess>,
  stop: (s: ServerProcess) => Promise<void>,
): Promise<NonNullable<Results['cold']>> {
  log(`cold start: 2 instances × ${opts.coldSignIns / 2} concurrent sign-ins`);
  const tokens = await mintTokens(google, opts.coldSignIns);
  const half = Math.ceil(tokens.length / 2);
  const measure = async (name: 'gateway' | 'reference', env: Record<string, string>) => {
    google.mode = 'slow';
    google.slowMs = 300;
    const fetchesBefore = name === 'gateway' ? google.fetchCount : google.pemFetchCount;
    const started = performance.now();
    let ok = 0;
    const instances: ServerProcess[] = [];
    try {
      await Promise.all(
        [tokens.slice(0, half), tokens.slice(half)].map(async (share) => {
          const s = await start(name, env, 5);
          instances.push(s);
          const answers = await Promise.allSettled(share.map((t) => signIn(name, s.url, t)));
          ok += answers.filter((x) => x.status === 'fulfilled').length;
        }),
      );
    } finally {
      google.mode = 'ok';
      for (const s of instances) await stop(s);
    }
    const fetches = (name === 'gateway' ? google.fetchCount : google.pemFetchCount) - fetchesBefore;
    log(`  ${name}: ${fetches} key fetch(es), ${ok}/${tokens.length} sign-ins succeeded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return { keyFetches: fetches, signIns: tokens.length, succeeded: ok };
  };
  return {
    gateway: await measure('gateway', { REDIS_KEY_PREFIX: 'cold:' }),
    reference: await measure('reference', { REDIS_KEY_PREFIX: 'refcold:' }),
  };
}

/**
 * The gateway's RSS under steady load: `me` on the existing sessions with one request in ten a
 * sign-in of a new account (new tokens, sessions, cache entries). RSS is sampled every 250 ms
 * through a warm-up of the same load and the measured stretch. It swings by tens of MB with
 * each garbage collection, so "before" is the median over the last 5 s of the warm-up and
 * "after" the median over the last 5 s of the load: growth between the two is what keeps going.
 */
async function rssPhase(opts: BenchOptions, google: FakeGoogle, gateway: ServerProcess, sessions: string[]): Promise<NonNullable<Results['rss']>> {
  const warmSeconds = Math.max(5, Math.round(opts.rssSeconds / 4));
  const signIns = Math.ceil(((opts.rssSeconds + warmSeconds) * 4000) / 10);
  log(`RSS: minting ${signIns} ID tokens, then ${warmSeconds} s of warm-up and ${opts.rssSeconds} s of steady load`);
  const pool = await mintTokens(google, signIns);
  let used = 0;
  const load = (seconds: number) =>
    runLoad({
      url: `${gateway.url}/graphql`,
      connections: opts.connections,
      seconds,
      request: (i): { body: string; headers: Record<string, string> } => {
        if (i % 10 === 0 && used < pool.length) return { body: signInBody('gateway', pool[used++]!), headers: { 'user-agent': USER_AGENT } };
        return { body: ME_BODY, headers: { authorization: `Bearer ${sessions[i % sessions.length]}`, 'user-agent': USER_AGENT } };
      },
      verify: (body) => isMeAnswer(body) || isSignInAnswer(body),
    });
  const t0 = performance.now();
  const samples: { t: number; rss: number }[] = [];
  const timer = setInterval(() => samples.push({ t: (performance.now() - t0) / 1000, rss: gateway.rss() }), 250);
  await load(warmSeconds);
  const steadyFrom = (performance.now() - t0) / 1000;
  const steady = await load(opts.rssSeconds);
  const end = (performance.now() - t0) / 1000;
  clearInterval(timer);
  const window = (from: number, to: number) => median(samples.filter((x) => x.t >= from && x.t <= to).map((x) => x.rss));
  const before = window(steadyFrom - 5, steadyFrom);
  const after = window(end - 5, end);
  const peak = Math.max(...samples.map((x) => x.rss));
  log(`  RSS ${mb(before)} → ${mb(after)} MB (medians of 5 s; peak ${mb(peak)}), ${fmtLoad(steady)}, ${used} sign-ins in all`);
  return {
    seconds: opts.rssSeconds,
    warmSeconds,
    before,
    after,
    peak,
    growth: (after - before) / before,
    load: steady,
    signIns: used,
    samples: samples.map((x) => [Math.round(x.t * 10) / 10, Math.round(x.rss / 1048576)]),
  };
}

// --- helpers -----------------------------------------------------------------------------

function summarize<T extends string>(rounds: Record<T, LoadResult>[], names: T[], connections: number) {
  const per = {} as Record<T, { rps: number; p50: number; p99: number; failures: number; cpuUsPerRequest: Record<string, number> }>;
  for (const n of names) {
    const meters = Object.keys(rounds[0]?.[n].cpuUsPerRequest ?? {});
    per[n] = {
      rps: median(rounds.map((r) => r[n].rps)),
      p50: median(rounds.map((r) => r[n].p50)),
      p99: median(rounds.map((r) => r[n].p99)),
      failures: rounds.reduce((a, r) => a + r[n].failures, 0),
      cpuUsPerRequest: Object.fromEntries(meters.map((m) => [m, median(rounds.map((r) => r[n].cpuUsPerRequest?.[m] ?? NaN))])),
    };
  }
  return { connections, rounds, ...per };
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

function fmtLoad(r: LoadResult): string {
  const cpu = r.cpuUsPerRequest ? ` cpu/req µs ${Object.entries(r.cpuUsPerRequest).map(([k, v]) => `${k[0]}${v.toFixed(0)}`).join(' ')}` : '';
  return `${r.rps.toFixed(0)}/s p50 ${r.p50.toFixed(1)} p99 ${r.p99.toFixed(1)} ms${cpu}${r.failures ? ` FAILURES ${r.failures}` : ''}`;
}

function mb(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}

function meta(opts: BenchOptions): Results['meta'] {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    if (execFileSync('git', ['status', '--porcelain', '--', 'src', 'bench'], { cwd: ROOT, encoding: 'utf8' }).trim()) commit += '+dirty';
  } catch {
    // not a git checkout
  }
  return {
    startedAt: new Date().toISOString(),
    finishedAt: '',
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    commit,
    node: process.version,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
    loadAverageAtEnd: [],
    options: opts,
  };
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
