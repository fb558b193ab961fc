import type { FakeGoogle } from '../../test/support/fake-google.js';
import type { BenchOptions } from '../lib/args.js';
import { signIn } from '../lib/gql.js';
import { fmtLoad, median, type LoadResult } from '../lib/load.js';
import type { ServerProcess } from '../lib/procs.js';
import { mintTokens, profileClaims } from '../lib/tokens.js';
import { libraryVerifier, ourVerifier, rawVerifier, verificationsPerSecond } from '../lib/verifiers.js';
import { mixedRun } from '../lib/workloads.js';
import { GW_PREFIX, REF_PREFIX, rotate, type BenchContext } from './context.js';

/** The figures besides the saturation phases: verifications, memory, cold start, RSS. */

export interface VerifyFigures {
  inflight: number;
  rounds: Record<string, number>[];
  ours: number;
  library: number;
  raw: number;
  ratio: number;
}

/**
 * ID-token verifications per second in this process (no HTTP), `verifyInflight` in flight,
 * rounds alternating. Runs before anything is pinned: jose verifies on libuv's thread pool,
 * and using both cores for it is part of what is measured.
 */
export async function verifyPhase(opts: BenchOptions, google: FakeGoogle, log: (msg: string) => void): Promise<VerifyFigures> {
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

export interface MemoryFigures {
  gateway: { keys: Record<string, number>; perUser: number; perSession: number; secondSession: number; indexGrowth: number; note: string };
  reference: { keys: Record<string, number>; perUser: number; perSession: number; note: string };
}

/**
 * A sign-in of a new account on each target, then MEMORY USAGE of exactly the keys it created
 * (checked against DBSIZE). A second sign-in of the same account opens a second session: its
 * session key plus what it added to the session index is the per-session cost.
 */
export async function memoryPhase(ctx: BenchContext, reference: ServerProcess, gateway: ServerProcess): Promise<MemoryFigures> {
  const { redis, google, log } = ctx;
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

  // Reference: a user hash, and per session a session key and a refresh-token key.
  const refClaims = profileClaims();
  before = await redis.dbsize();
  const c = await signIn('reference', reference.url, await google.mint(refClaims));
  const refCreated = (await redis.dbsize()) - before;
  if (refCreated !== 3) throw new Error(`a reference sign-in created ${refCreated} keys, expected 3`);
  const ref = {
    user: await usage(`${REF_PREFIX}user:${refClaims.sub as string}`),
    session: await usage(`${REF_PREFIX}session:${c.credential}`),
    refresh: await usage(`${REF_PREFIX}refresh:${c.refreshToken}`),
  };

  return {
    gateway: {
      keys: gw,
      perUser: gw.user! + gw.identity! + gw.sessionIndex!,
      perSession: secondSession + indexGrowth,
      secondSession,
      indexGrowth,
      note: 'per user: user hash + identity key + session index (holding its first session); per session: a session hash (refresh state included) + what it adds to the index',
    },
    reference: { keys: ref, perUser: ref.user, perSession: ref.session + ref.refresh, note: 'per session: session key + refresh-token key' },
  };
}

export type ColdFigures = Record<'gateway' | 'reference', { keyFetches: number; signIns: number; succeeded: number }>;

/**
 * Two fresh instances on an empty key cache (new key prefix), started together; each gets half
 * of `coldSignIns` concurrent sign-ins the moment it answers. The fake issuer answers the key
 * request after 300 ms, so the sign-ins arrive while the first fetch is still in flight.
 */
export async function coldPhase(ctx: BenchContext): Promise<ColdFigures> {
  const { opts, google, log } = ctx;
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
          const s = await ctx.start(name, env, 5);
          instances.push(s);
          const answers = await Promise.allSettled(share.map((t) => signIn(name, s.url, t)));
          ok += answers.filter((x) => x.status === 'fulfilled').length;
        }),
      );
    } finally {
      google.mode = 'ok';
      for (const s of instances) await ctx.stop(s);
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

export interface RssFigures {
  seconds: number;
  warmSeconds: number;
  before: number;
  after: number;
  peak: number;
  growth: number;
  load: LoadResult;
  signIns: number;
  /** True when the measured stretch used every ID token it was given (then the end of it was `me` only). */
  signInTokensRanOut: boolean;
  /** [seconds since warm-up start, RSS MB] every 250 ms. */
  samples: [number, number][];
}

/**
 * Sign-ins per second the ID-token files of the RSS phase have room for: one request in ten of
 * a gateway saturated by this mix (about 10,000 requests/s on the pinned 2-core machine).
 */
const RSS_SIGNINS_PER_SECOND = 1200;

/**
 * The gateway's RSS under steady load (bench/wrk/mixed.lua): `me` on the existing sessions
 * with one request in ten a sign-in of a new account (new tokens, sessions, cache entries)
 * while ID tokens last. RSS is sampled every 250 ms through a warm-up of the same load and the
 * measured stretch. It swings by tens of MB with each garbage collection, so "before" is the
 * median over the last 5 s of the warm-up and "after" the median over the last 5 s of the
 * load: growth between the two is what keeps going.
 */
export async function rssPhase(ctx: BenchContext, gateway: ServerProcess, accessTokens: readonly string[]): Promise<RssFigures> {
  const { opts, log } = ctx;
  const warmSeconds = Math.max(5, Math.round(opts.rssSeconds / 4));
  const warmTokens = await ctx.idTokens.take('gateway', warmSeconds * RSS_SIGNINS_PER_SECOND);
  const steadyTokens = await ctx.idTokens.take('gateway', opts.rssSeconds * RSS_SIGNINS_PER_SECOND);
  log(`RSS: ${warmSeconds} s of warm-up and ${opts.rssSeconds} s of steady load (me, 1 request in 10 a new sign-in)`);
  const t0 = performance.now();
  const samples: { t: number; rss: number }[] = [];
  const timer = setInterval(() => samples.push({ t: (performance.now() - t0) / 1000, rss: gateway.rss() }), 250);
  let warm: LoadResult;
  let steady: LoadResult;
  let steadyFrom: number;
  try {
    warm = await mixedRun(ctx.load, gateway, warmSeconds, accessTokens, warmTokens, 10);
    steadyFrom = (performance.now() - t0) / 1000;
    steady = await mixedRun(ctx.load, gateway, opts.rssSeconds, accessTokens, steadyTokens, 10);
  } finally {
    clearInterval(timer);
  }
  const end = (performance.now() - t0) / 1000;
  const window = (from: number, to: number) => median(samples.filter((x) => x.t >= from && x.t <= to).map((x) => x.rss));
  const before = window(steadyFrom - 5, steadyFrom);
  const after = window(end - 5, end);
  const peak = Math.max(...samples.map((x) => x.rss));
  const signIns = (warm.extra.signins ?? 0) + (steady.extra.signins ?? 0);
  const signInTokensRanOut = (steady.extra.signins ?? 0) >= steadyTokens.length;
  if (warm.failures) log(`  RSS warm-up: ${fmtLoad(warm)}`);
  log(
    `  RSS ${mb(before)} → ${mb(after)} MB (medians of 5 s; peak ${mb(peak)}), ${fmtLoad(steady)}, ${signIns} sign-ins in all` +
      (signInTokensRanOut ? ' (the ID tokens ran out: the end of the stretch was `me` only)' : ''),
  );
  return {
    seconds: opts.rssSeconds,
    warmSeconds,
    before,
    after,
    peak,
    growth: (after - before) / before,
    load: steady,
    signIns,
    signInTokensRanOut,
    samples: samples.map((x) => [Math.round(x.t * 10) / 10, Math.round(x.rss / 1048576)]),
  };
}

function mb(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}
