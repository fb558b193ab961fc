/**
 * A/B of two gateway builds or configurations under the `me` load (or sign-ins), alternating
 * rounds, reporting requests/s, p50/p99 and CPU per request of the gateway and of Redis. For
 * judging one change at a time on a noisy machine: CPU per request barely moves with load
 * from other processes, throughput does.
 *
 *   cp -r dist dist-a   # the build before a change (any copy inside the repository, so node_modules resolve)
 *   node dist/bench/bench/ab.js --a-script dist-a/main.js --b-script dist/main.js [--a-env LOG_LEVEL=warn]
 *        [--b-env K=V,K=V] [--rounds 5] [--seconds 5] [--connections 32] [--sessions 200] [--signin]
 *        [--a-node-args --flag,--flag] [--b-node-args …]
 *        [--rate N]   (open loop: N requests/s, below saturation, so both variants do the same work)
 */
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { FakeGoogle } from '../test/support/fake-google.js';
import { RedisServer, freePort } from '../test/support/redis-server.js';
import { ME_BODY, USER_AGENT, isMeAnswer, isSignInAnswer, mapConcurrent, signIn, signInBody } from './lib/gql.js';
import { median, runLoad, type LoadResult } from './lib/load.js';
import { cpuOf, startServer, type ServerProcess } from './lib/procs.js';
import { mintTokens } from './lib/tokens.js';
import { BENCH_RATE_LIMITS } from './lib/limits.js';

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
const signinMode = args.includes('--signin');
const rate = args.includes('--rate') ? Number(flag('--rate', '0')) : undefined;
const variants = {
  a: { script: resolve(flag('--a-script', 'dist/main.js')), env: envOf(flag('--a-env', '')), nodeArgs: flag('--a-node-args', '').split(',').filter(Boolean) },
  b: { script: resolve(flag('--b-script', 'dist/main.js')), env: envOf(flag('--b-env', '')), nodeArgs: flag('--b-node-args', '').split(',').filter(Boolean) },
};

const redisServer = await RedisServer.start(['--appendfsync', 'everysec']);
const redis = new Redis(redisServer.url);
const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))![1]);
const google = await FakeGoogle.start({ clientId: 'ab.apps.googleusercontent.com' });
const servers: ServerProcess[] = [];
try {
  const gw: Record<'a' | 'b', ServerProcess> = {} as Record<'a' | 'b', ServerProcess>;
  for (const k of ['a', 'b'] as const) {
    gw[k] = await startServer({
      name: k,
      script: variants[k].script,
      nodeArgs: variants[k].nodeArgs,
      port: await freePort(),
      env: {
        NODE_ENV: 'production',
        REDIS_URL: redisServer.url,
        REDIS_KEY_PREFIX: `${k}:`,
        GOOGLE_CLIENT_IDS: google.clientId,
        GOOGLE_JWKS_URI: google.jwksUri,
        AUTH_ISSUER: 'https://auth.bench.example',
        LOG_LEVEL: 'info',
        ...BENCH_RATE_LIMITS,
        ...variants[k].env,
      },
    });
    servers.push(gw[k]);
  }
  const tokens = await mintTokens(google, sessionCount);
  const sessions = {
    a: (await mapConcurrent(tokens, 16, (t) => signIn('gateway', gw.a.url, t))).map((r) => r.credential),
    b: (await mapConcurrent(tokens, 16, (t) => signIn('gateway', gw.b.url, t))).map((r) => r.credential),
  };
  const signinPool = signinMode ? await mintTokens(google, (rounds + 1) * (1000 + 2 * connections + 8)) : [];
  const cursor = { a: 0, b: 0 };
  const run = (k: 'a' | 'b', secs: number) =>
    runLoad({
      url: `${gw[k].url}/graphql`,
      connections,
      ...(signinMode ? { amount: 1000 } : { seconds: secs }),
      request: (i): { body: string; headers: Record<string, string> } =>
        signinMode
          ? { body: signInBody('gateway', signinPool[cursor[k]++]!), headers: { 'user-agent': USER_AGENT } }
          : { body: ME_BODY, headers: { authorization: `Bearer ${sessions[k][i % sessions[k].length]}`, 'user-agent': USER_AGENT } },
      verify: signinMode ? isSignInAnswer : isMeAnswer,
      ...(rate ? { rate } : {}),
      meters: { gateway: gw[k].cpu, redis: () => cpuOf(redisPid) },
    });
  await run('a', 2);
  await run('b', 2);
  const results: Record<'a' | 'b', LoadResult>[] = [];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? (['b', 'a'] as const) : (['a', 'b'] as const);
    const round = {} as Record<'a' | 'b', LoadResult>;
    for (const k of order) round[k] = await run(k, seconds);
    results.push(round);
    process.stdout.write(
      `round ${r + 1}: ${(['a', 'b'] as const).map((k) => `${k} ${round[k].rps.toFixed(0)}/s p99 ${round[k].p99.toFixed(1)} ms cpu/req ${round[k].cpuUsPerRequest!.gateway!.toFixed(0)}+${round[k].cpuUsPerRequest!.redis!.toFixed(0)} µs${round[k].failures ? ` FAILURES ${round[k].failures}` : ''}`).join(' | ')}\n`,
    );
  }
  const med = (k: 'a' | 'b', f: (r: LoadResult) => number) => median(results.map((r) => f(r[k])));
  for (const k of ['a', 'b'] as const) {
    process.stdout.write(
      `${k}: ${med(k, (r) => r.rps).toFixed(0)}/s p50 ${med(k, (r) => r.p50).toFixed(2)} p99 ${med(k, (r) => r.p99).toFixed(2)} ms, gateway ${med(k, (r) => r.cpuUsPerRequest!.gateway!).toFixed(0)} µs + redis ${med(k, (r) => r.cpuUsPerRequest!.redis!).toFixed(0)} µs CPU per request\n`,
    );
  }
  process.stdout.write(`b ÷ a requests/s (median of rounds): ${median(results.map((r) => r.b.rps / r.a.rps)).toFixed(3)}\n`);
} finally {
  for (const s of servers) await s.stop();
  redis.disconnect();
  await google.close();
  await redisServer.destroy();
}
