/**
 * A/B of two gateway builds or configurations under one load phase (`me` by default, or
 * `--signin`, `--refresh`, `--introspect`), with the method of `npm run bench`: wrk at saturation, both
 * gateways pinned to the server core, wrk + Redis on the other, rounds alternating, reporting
 * requests/s, p50/p99 and CPU per request of the gateway and of Redis. For judging one change
 * at a time on a noisy machine: CPU per request barely moves with load from other processes,
 * requests/s does.
 *
 *   cp -r dist dist-a   # the build before a change (any copy inside the repository, so node_modules resolve)
 *   node dist/bench/bench/ab.js --a-script dist-a/main.js --b-script dist/main.js [--a-env LOG_LEVEL=warn]
 *        [--b-env K=V,K=V] [--rounds 5] [--seconds 5] [--connections 32] [--sessions 200] [--signin | --refresh | --introspect]
 *        [--a-node-args --flag,--flag] [--b-node-args …]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { FakeGoogle } from '../test/support/fake-google.js';
import { RedisServer, freePort } from '../test/support/redis-server.js';
import { BENCH_RATE_LIMITS } from './lib/limits.js';
import { fmtLoad, median, type LoadResult } from './lib/load.js';
import { hasTaskset, pinProcess, planPinning } from './lib/pinning.js';
import { allowedCpus } from './lib/proc-stat.js';
import { startServer, type ServerProcess } from './lib/procs.js';
import { ensureWrk } from './lib/wrk.js';
import { INTROSPECTION_SECRET, IdTokenPool, IntrospectLoad, MeLoad, RefreshLoad, SignInLoad, signInMany, type LoadSide } from './lib/workloads.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const envOf = (spec: string) => Object.fromEntries(spec.split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]));

const rounds = Number(flag('--rounds', '5'));
const seconds = Number(flag('--seconds', '5'));
const connections = Number(flag('--connections', '32'));
const sessionCount = Number(flag('--sessions', '200'));
const mode = args.includes('--signin') ? 'signin' : args.includes('--refresh') ? 'refresh' : args.includes('--introspect') ? 'introspect' : 'me';
const variants = {
  a: { script: resolve(flag('--a-script', 'dist/main.js')), env: envOf(flag('--a-env', '')), nodeArgs: flag('--a-node-args', '').split(',').filter(Boolean) },
  b: { script: resolve(flag('--b-script', 'dist/main.js')), env: envOf(flag('--b-env', '')), nodeArgs: flag('--b-node-args', '').split(',').filter(Boolean) },
};
const log = (msg: string) => process.stderr.write(`${msg}\n`);
/** A server at or above this share of its core was not held up by other processes (the bench's ⚠ threshold). */
const SATURATED = 0.9;

const wrk = ensureWrk(log);
const pinning = planPinning(allowedCpus(), hasTaskset());
log(`pinning: ${pinning.note}`);
const tmp = mkdtempSync(join(tmpdir(), 'gw-ab-'));
const redisServer = await RedisServer.start(['--appendfsync', 'everysec']);
const redis = new Redis(redisServer.url);
const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))![1]);
const google = await FakeGoogle.start({ clientId: 'ab.apps.googleusercontent.com' });
if (pinning.mode === 'pinned') {
  pinProcess(redisPid, pinning.loadCpu);
}
const servers: ServerProcess[] = [];
try {
  const gw = {} as Record<'a' | 'b', ServerProcess>;
  for (const k of ['a', 'b'] as const) {
    gw[k] = await startServer({
      name: k,
      script: variants[k].script,
      nodeArgs: variants[k].nodeArgs,
      port: await freePort(),
      cpu: pinning.serverCpu,
      env: {
        NODE_ENV: 'production',
        REDIS_URL: redisServer.url,
        REDIS_KEY_PREFIX: `${k}:`,
        GOOGLE_CLIENT_IDS: google.clientId,
        GOOGLE_JWKS_URI: google.jwksUri,
        AUTH_ISSUER: 'https://auth.bench.example',
        LOG_LEVEL: 'info',
        INTROSPECTION_SECRETS: INTROSPECTION_SECRET,
        ...BENCH_RATE_LIMITS,
        ...variants[k].env,
      },
    });
    servers.push(gw[k]);
  }
  const side: LoadSide = { wrk, pinning, redisPid, connections, threads: 1, dir: tmp };
  const pool = new IdTokenPool(google);
  const sessions = {
    a: await signInMany(pool, 'a', 'gateway', gw.a, sessionCount),
    b: await signInMany(pool, 'b', 'gateway', gw.b, sessionCount),
  };
  const me = { a: new MeLoad(side, 'a', sessions.a.map((s) => s.credential)), b: new MeLoad(side, 'b', sessions.b.map((s) => s.credential)) };
  const introspect = {
    a: new IntrospectLoad(side, sessions.a.map((s) => s.credential), 'a'),
    b: new IntrospectLoad(side, sessions.b.map((s) => s.credential), 'b'),
  };
  const signin = new SignInLoad(side, pool);
  const refresh = {} as Record<'a' | 'b', RefreshLoad>;
  for (const k of ['a', 'b'] as const) {
    refresh[k] = new RefreshLoad(side, 'gateway', k, sessionCount, (n) => signInMany(pool, k, 'gateway', gw[k], n));
    refresh[k].seed(sessions[k].map((s) => s.refreshToken));
  }
  const run = (k: 'a' | 'b', secs: number): Promise<LoadResult> =>
    mode === 'signin'
      ? signin.run('gateway', k, gw[k], secs)
      : mode === 'refresh'
        ? refresh[k].run(gw[k], secs)
        : mode === 'introspect'
          ? introspect[k].run(gw[k], secs)
          : me[k].run(gw[k], secs);

  await run('a', 2);
  await run('b', 2);
  const results: Record<'a' | 'b', LoadResult>[] = [];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? (['b', 'a'] as const) : (['a', 'b'] as const);
    const round = {} as Record<'a' | 'b', LoadResult>;
    for (const k of order) round[k] = await run(k, seconds);
    results.push(round);
    process.stdout.write(`round ${r + 1}: a ${fmtLoad(round.a)} | b ${fmtLoad(round.b)}\n`);
  }
  const med = (k: 'a' | 'b', f: (r: LoadResult) => number) => median(results.map((r) => f(r[k])));
  for (const k of ['a', 'b'] as const) {
    const failures = results.reduce((n, r) => n + r[k].failures, 0);
    process.stdout.write(
      `${k}: ${med(k, (r) => r.rps).toFixed(0)}/s p50 ${med(k, (r) => r.p50).toFixed(2)} p99 ${med(k, (r) => r.p99).toFixed(2)} ms, ` +
        `gateway ${med(k, (r) => r.cpuUsPerRequest.server).toFixed(0)} µs + redis ${med(k, (r) => r.cpuUsPerRequest.redis).toFixed(0)} µs CPU per request` +
        `${failures ? `, ${failures} FAILED REQUESTS` : ''}\n`,
    );
  }
  const total = (r: LoadResult) => r.cpuUsPerRequest.server + r.cpuUsPerRequest.redis;
  const ratios = (rs: typeof results) =>
    `requests/s ${median(rs.map((r) => r.b.rps / r.a.rps)).toFixed(3)}, CPU per request (gateway + Redis) ${median(rs.map((r) => total(r.b) / total(r.a))).toFixed(3)}`;
  process.stdout.write(`b ÷ a (medians of per-round ratios): ${ratios(results)}\n`);
  // On a shared machine a server that did not have its core to itself also spends more CPU per
  // request (caches, switches): the rounds where both had it are the cleaner comparison.
  const saturated = results.filter((r) => r.a.utilisation.server >= SATURATED && r.b.utilisation.server >= SATURATED);
  process.stdout.write(
    `b ÷ a over the ${saturated.length} of ${results.length} rounds where both servers used ≥ ${SATURATED * 100} % of their core: ${saturated.length ? ratios(saturated) : '–'}\n`,
  );
} finally {
  for (const s of servers) await s.stop();
  redis.disconnect();
  await google.close();
  await redisServer.destroy();
  rmSync(tmp, { recursive: true, force: true });
}
