import { fmtLoad, type LoadResult } from '../lib/load.js';
import type { ServerProcess } from '../lib/procs.js';
import { IntrospectLoad, MeLoad, RefreshLoad, SignInLoad, signInMany } from '../lib/workloads.js';
import type { AuthTarget, SignInResult } from '../lib/gql.js';
import { rotate, summarize, type BenchContext, type LoadPhase } from './context.js';

/**
 * The saturation phases: wrk against each target in turn, in rounds whose order rotates, so
 * drift of the machine lands on every target alike. A warm-up run per target first (JIT,
 * connection pools, caches), not counted.
 */
async function alternate<T extends string>(
  ctx: BenchContext,
  phase: string,
  names: readonly T[],
  rounds: number,
  seconds: number,
  run: (name: T, seconds: number) => Promise<LoadResult>,
): Promise<LoadPhase<T>> {
  const { opts, log } = ctx;
  log(`${phase}: warm-up ${opts.warmSeconds} s per target, then ${rounds} rounds × ${seconds} s per target`);
  const warm = {} as Record<T, LoadResult>;
  for (const name of names) {
    warm[name] = await run(name, opts.warmSeconds);
    if (warm[name].failures) log(`  ${phase} warm-up ${name}: ${fmtLoad(warm[name])}`);
  }
  const results: Record<T, LoadResult>[] = [];
  for (let r = 0; r < rounds; r++) {
    const round = {} as Record<T, LoadResult>;
    for (const name of rotate(names, r)) round[name] = await run(name, seconds);
    results.push(round);
    for (const name of names) log(`  ${phase} round ${r + 1} ${name.padEnd(9)} ${fmtLoad(round[name])}`);
  }
  return { connections: opts.connections, seconds, warmSeconds: opts.warmSeconds, warm, rounds: results, summary: summarize(results, names) };
}

export type Targets = { floor: ServerProcess; reference: ServerProcess; gateway: ServerProcess };
export type Sessions = Record<AuthTarget, SignInResult[]>;

/**
 * Authenticated `me`: each request carries one of `sessions` access tokens, round-robin. The
 * floor answers from a constant and ignores the header (it gets the gateway's tokens, so its
 * requests are as large).
 */
export function mePhase(ctx: BenchContext, targets: Targets, sessions: Sessions) {
  const loads = {
    floor: new MeLoad(ctx.load, 'floor', sessions.gateway.map((s) => s.credential)),
    reference: new MeLoad(ctx.load, 'reference', sessions.reference.map((s) => s.credential)),
    gateway: new MeLoad(ctx.load, 'gateway', sessions.gateway.map((s) => s.credential)),
  };
  return alternate(ctx, 'me', ['floor', 'reference', 'gateway'] as const, ctx.opts.meRounds, ctx.opts.meSeconds, (name, seconds) =>
    loads[name].run(targets[name], seconds),
  );
}

/**
 * Token introspection beside `me`, both on the gateway, alternating in rounds: the same access
 * tokens, once as a GraphQL `me` and once as a router's `POST /oauth/introspect` about them.
 * The ratio of their CPU per request is the cost a router that introspects on every request
 * adds, in units of the request it fronts (issue 14: at most half).
 */
export function introspectPhase(ctx: BenchContext, targets: Targets, sessions: Sessions) {
  const tokens = sessions.gateway.map((s) => s.credential);
  const me = new MeLoad(ctx.load, 'gateway-beside-introspect', tokens);
  const introspect = new IntrospectLoad(ctx.load, tokens);
  return alternate(ctx, 'introspect', ['me', 'introspect'] as const, ctx.opts.meRounds, ctx.opts.meSeconds, (name, seconds) =>
    name === 'me' ? me.run(targets.gateway, seconds) : introspect.run(targets.gateway, seconds),
  );
}

/** signInWithGoogle with distinct valid ID tokens, new accounts every time. */
export function signinPhase(ctx: BenchContext, targets: Targets) {
  const load = new SignInLoad(ctx.load, ctx.idTokens);
  return alternate(ctx, 'signin', ['reference', 'gateway'] as const, ctx.opts.signinRounds, ctx.opts.signinSeconds, (name, seconds) =>
    load.run(name, name, targets[name], seconds),
  );
}

/**
 * refreshSession: every request spends one refresh token and the answer's new one goes back
 * in the queue (bench/wrk/refresh.lua). Seeded with the refresh tokens of `sessions`.
 */
export function refreshPhase(ctx: BenchContext, targets: Targets, sessions: Sessions) {
  const loads = {} as Record<AuthTarget, RefreshLoad>;
  for (const name of ['reference', 'gateway'] as const) {
    loads[name] = new RefreshLoad(ctx.load, name, name, ctx.opts.sessions, (n) => signInMany(ctx.idTokens, name, name, targets[name], n));
    loads[name].seed(sessions[name].map((s) => s.refreshToken));
  }
  return alternate(ctx, 'refresh', ['reference', 'gateway'] as const, ctx.opts.refreshRounds, ctx.opts.refreshSeconds, (name, seconds) =>
    loads[name].run(targets[name], seconds),
  );
}
