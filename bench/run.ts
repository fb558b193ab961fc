/**
 * `npm run bench`: floor, reference and gateway side by side at saturation (issue 15; the method
 * is in docs/benchmarks.md).
 *
 * One private redis-server and one fake Google issuer; three servers, each its own Node process
 * on loopback, pinned alone to one core; wrk (the load generator) and Redis on the other. The
 * load phases (me, introspect, signin, refresh) run wrk against each target in rounds whose order rotates;
 * figures are medians over rounds and ratios medians of per-round ratios. CPU per
 * request comes from /proc. The other figures (in-process verifications, key fetches on a cold
 * start, Redis bytes, RSS growth) are measured as before.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { FakeGoogle } from '../test/support/fake-google.js';
import { RedisServer, freePort } from '../test/support/redis-server.js';
import { parseArgs, type BenchOptions, type TargetName } from './lib/args.js';
import { BENCH_RATE_LIMITS } from './lib/limits.js';
import { hasTaskset, pinProcess, planPinning, type Pinning } from './lib/pinning.js';
import { allowedCpus } from './lib/proc-stat.js';
import { startServer, type ServerProcess } from './lib/procs.js';
import { evaluateTargets, renderReport, type Results } from './lib/report.js';
import { WrkMissingError, ensureWrk } from './lib/wrk.js';
import { INTROSPECTION_SECRET, IdTokenPool, signInMany } from './lib/workloads.js';
import { GW_PREFIX, REF_PREFIX, type BenchContext } from './phases/context.js';
import { coldPhase, memoryPhase, rssPhase, verifyPhase } from './phases/figures.js';
import { introspectPhase, mePhase, refreshPhase, signinPhase, type Sessions } from './phases/load-phases.js';

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

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const wrk = ensureWrk(log);
  const pinning = planPinning(allowedCpus(), hasTaskset());
  log(`pinning: ${pinning.note}`);
  if (pinning.mode !== 'pinned') log('WARNING: the load phases are not saturation figures of the servers alone on this machine');
  const results: Results = { meta: meta(opts, pinning, wrk) };
  mkdirSync(join(RESULTS_DIR, 'profiles'), { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'gw-bench-'));

  // appendfsync everysec: the persistence production runs with (docker-compose.yml).
  const redisServer = await RedisServer.start(['--appendfsync', 'everysec']);
  const redis = new Redis(redisServer.url);
  const google = await FakeGoogle.start({ clientId: CLIENT_ID });
  const servers: ServerProcess[] = [];
  try {
    const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))![1]);
    const ctx: BenchContext = {
      opts,
      google,
      redis,
      load: { wrk, pinning, redisPid, connections: opts.connections, threads: opts.wrkThreads, dir: tmp },
      idTokens: new IdTokenPool(google),
      log,
      start: async (name: TargetName, env: Record<string, string> = {}, pollMs?: number) => {
        const s = await startServer({
          name,
          script: SCRIPTS[name],
          port: await freePort(),
          env: { ...envFor(name, redisServer.url, google, opts.logLevel), ...env },
          nodeArgs: opts.cpuProf.includes(name)
            ? ['--cpu-prof', `--cpu-prof-dir=${join(RESULTS_DIR, 'profiles')}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`]
            : [],
          pollMs,
          cpu: pinning.serverCpu,
        });
        servers.push(s);
        return s;
      },
      stop: async (s: ServerProcess) => {
        servers.splice(servers.indexOf(s), 1);
        await s.stop();
      },
    };

    // In process, on every core (jose verifies on libuv's pool): before anything is pinned.
    if (opts.phases.includes('verify')) results.verify = await verifyPhase(opts, google, log);

    if (pinning.mode === 'pinned') {
      pinProcess(redisPid, pinning.loadCpu);
    }
    log('starting floor, reference and gateway');
    const targets = { floor: await ctx.start('floor'), reference: await ctx.start('reference'), gateway: await ctx.start('gateway') };
    log(Object.entries(targets).map(([n, s]) => `${n} ${s.url} (pid ${s.pid})`).join(', '));

    let sessions: Sessions = { gateway: [], reference: [] };
    if (['me', 'introspect', 'refresh', 'rss'].some((p) => opts.phases.includes(p as BenchOptions['phases'][number]))) {
      log(`signing in ${opts.sessions} accounts on reference and gateway`);
      sessions = {
        gateway: await signInMany(ctx.idTokens, 'gateway', 'gateway', targets.gateway, opts.sessions),
        reference: await signInMany(ctx.idTokens, 'reference', 'reference', targets.reference, opts.sessions),
      };
    }
    // The access tokens stay valid through the refresh phase (a refresh rotates the refresh token, not the session).
    const accessTokens = sessions.gateway.map((s) => s.credential);

    if (opts.phases.includes('me')) results.me = await mePhase(ctx, targets, sessions);
    if (opts.phases.includes('introspect')) results.introspect = await introspectPhase(ctx, targets, sessions);
    if (opts.phases.includes('signin')) results.signin = await signinPhase(ctx, targets);
    if (opts.phases.includes('refresh')) results.refresh = await refreshPhase(ctx, targets, sessions);
    if (opts.phases.includes('memory')) results.memory = await memoryPhase(ctx, targets.reference, targets.gateway);
    if (opts.phases.includes('cold')) results.cold = await coldPhase(ctx);
    if (opts.phases.includes('rss')) results.rss = await rssPhase(ctx, targets.gateway, accessTokens);
  } finally {
    for (const s of [...servers]) await s.stop().catch(() => undefined);
    redis.disconnect();
    await google.close();
    await redisServer.destroy();
    rmSync(tmp, { recursive: true, force: true });
  }

  results.meta.finishedAt = new Date().toISOString();
  results.meta.googleCertFormat = google.pemKind;
  results.meta.loadAverageAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  results.targets = evaluateTargets(results);
  const report = renderReport(results);
  const stamp = results.meta.startedAt.replace(/[:.]/g, '-');
  writeFileSync(join(RESULTS_DIR, `bench-${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(RESULTS_DIR, 'latest.md'), `${report}\n`);
  process.stdout.write(`\n${report}\n\nJSON: bench/results/bench-${stamp}.json\n`);
}

function envFor(name: TargetName, redisUrl: string, google: FakeGoogle, logLevel: string): Record<string, string> {
  switch (name) {
    case 'floor':
      return { NODE_ENV: 'production' };
    case 'reference':
      return { NODE_ENV: 'production', REDIS_URL: redisUrl, REDIS_KEY_PREFIX: REF_PREFIX, GOOGLE_CLIENT_ID: CLIENT_ID, GOOGLE_PEM_CERTS_URL: google.pemCertsUri };
    case 'gateway':
      // As production runs it (the Dockerfile's `node dist/main.js`): request log at info, metrics on.
      return {
        NODE_ENV: 'production',
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: GW_PREFIX,
        GOOGLE_CLIENT_IDS: CLIENT_ID,
        GOOGLE_JWKS_URI: google.jwksUri,
        AUTH_ISSUER: 'https://auth.bench.example',
        LOG_LEVEL: logLevel,
        INTROSPECTION_SECRETS: INTROSPECTION_SECRET,
        ...BENCH_RATE_LIMITS,
      };
  }
}

function meta(opts: BenchOptions, pinning: Pinning, wrk: string): Results['meta'] {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    if (execFileSync('git', ['status', '--porcelain', '--', 'src', 'bench'], { cwd: ROOT, encoding: 'utf8' }).trim()) commit += '+dirty';
  } catch {
    // not a git checkout
  }
  let wrkVersion = wrk;
  try {
    execFileSync(wrk, ['-v'], { encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    // `wrk -v` prints its version and exits 1.
    wrkVersion = /^wrk \S+/.exec(String((err as { stdout?: string }).stdout ?? ''))?.[0] ?? wrk;
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
    pinning,
    wrk: wrkVersion,
  };
}

main().catch((err: unknown) => {
  if (err instanceof WrkMissingError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
