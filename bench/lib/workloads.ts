import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FakeGoogle } from '../../test/support/fake-google.js';
import {
  ME_ANSWER,
  ME_BODY,
  REFRESH_ANSWER,
  SIGN_IN_ANSWER,
  USER_AGENT,
  mapConcurrent,
  refreshTemplate,
  signIn,
  signInTemplate,
  type AuthTarget,
  type SignInResult,
} from './gql.js';
import { measureRound, type LoadResult } from './load.js';
import type { Pinning } from './pinning.js';
import type { ServerProcess } from './procs.js';
import { mintTokens } from './tokens.js';

/**
 * The measured workloads, one per phase, each a wrk script in bench/wrk/ fed by token files
 * written here: `me` (access tokens, round-robin), introspection (the same tokens, as a
 * router asks about them), sign-in (distinct ID tokens, each sent once), refresh (a queue of single-use refresh tokens carried from round to round), and the
 * RSS phase's mix. Shared by `npm run bench` (run.ts) and the A/B tool (ab.ts).
 */

/** The Lua scripts stay in the source tree: the nearest bench/wrk above this file (compiled or not). */
export const WRK_SCRIPTS = ((): string => {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'bench/wrk/common.lua'))) return join(dir, 'bench/wrk');
    if (dirname(dir) === dir) throw new Error('bench/wrk not found above this file');
  }
})();

export interface LoadSide {
  wrk: string;
  pinning: Pinning;
  redisPid: number;
  connections: number;
  threads: number;
  /** Where token files go (a private temporary directory). */
  dir: string;
}

function run(side: LoadSide, server: ServerProcess, script: string, seconds: number, args: Record<string, string>, path = '/graphql'): Promise<LoadResult> {
  return measureRound({
    wrk: side.wrk,
    url: `${server.url}${path}`,
    script: join(WRK_SCRIPTS, script),
    args: { threads: String(side.threads), ua: USER_AGENT, ...args },
    seconds,
    connections: side.connections,
    threads: side.threads,
    serverPid: server.pid,
    redisPid: side.redisPid,
    pinning: side.pinning,
  });
}

function writeLines(path: string, lines: readonly string[]): string {
  writeFileSync(path, lines.length ? `${lines.join('\n')}\n` : '');
  return path;
}

/** Authenticated `me`, each request the next of `accessTokens` (the floor ignores them). */
export class MeLoad {
  private readonly file: string;
  constructor(
    private readonly side: LoadSide,
    name: string,
    accessTokens: readonly string[],
  ) {
    this.file = writeLines(join(side.dir, `me-${name}.tokens`), accessTokens);
  }

  run(server: ServerProcess, seconds: number): Promise<LoadResult> {
    return run(this.side, server, 'me.lua', seconds, { tokens: this.file, body: ME_BODY, expect: ME_ANSWER });
  }
}

/** The introspection secret the benchmark's gateway is started with (INTROSPECTION_SECRETS). */
export const INTROSPECTION_SECRET = 'bench-introspection-secret-0123456789abcdefghij';
/** The start of an active answer (src/sessions/introspection.ts). */
export const INTROSPECT_ANSWER = '{"active":true,"sub":"';

/** `POST /oauth/introspect` about each of `accessTokens` in turn, as a router asks on every request. */
export class IntrospectLoad {
  private readonly file: string;
  constructor(
    private readonly side: LoadSide,
    accessTokens: readonly string[],
    name = 'gateway',
  ) {
    this.file = writeLines(join(side.dir, `introspect-${name}.tokens`), accessTokens);
  }

  run(server: ServerProcess, seconds: number): Promise<LoadResult> {
    return run(this.side, server, 'introspect.lua', seconds, { tokens: this.file, secret: INTROSPECTION_SECRET, expect: INTROSPECT_ANSWER }, '/oauth/introspect');
  }
}

/**
 * Distinct valid ID tokens from the fake issuer. Targets keep their accounts apart (own key
 * prefixes), so each target walks the same list with its own cursor: a token is sent at most
 * once to each.
 */
export class IdTokenPool {
  private readonly tokens: string[] = [];
  private readonly cursors = new Map<string, number>();
  constructor(private readonly google: FakeGoogle) {}

  /** The next `count` tokens of `target`, which are then spent. */
  async take(target: string, count: number): Promise<string[]> {
    const tokens = await this.peek(target, count);
    this.spend(target, count);
    return tokens;
  }

  /** The next `count` tokens of `target`, still unspent: call spend() with how many were (possibly) sent. */
  async peek(target: string, count: number): Promise<string[]> {
    const from = this.cursors.get(target) ?? 0;
    if (this.tokens.length < from + count) this.tokens.push(...(await mintTokens(this.google, from + count - this.tokens.length)));
    return this.tokens.slice(from, from + count);
  }

  spend(target: string, count: number): void {
    this.cursors.set(target, (this.cursors.get(target) ?? 0) + count);
  }
}

/** Sign-ins per second a token file has room for at least: above what one core does here (about 2,000–3,000). */
const SIGN_INS_PER_SECOND = 4000;

/**
 * signInWithGoogle with distinct tokens. wrk runs for a fixed time, so each run gets a file
 * with room for twice the fastest rate seen so far (at least SIGN_INS_PER_SECOND); the tokens
 * it did not send go to the next run. A run that still runs out stops and is reported as
 * failed, never padded with repeated tokens.
 */
export class SignInLoad {
  private fastest = 0;
  constructor(
    private readonly side: LoadSide,
    private readonly pool: IdTokenPool,
  ) {}

  async run(target: AuthTarget, key: string, server: ServerProcess, seconds: number): Promise<LoadResult> {
    const need = Math.ceil(Math.max(SIGN_INS_PER_SECOND, 2 * this.fastest) * seconds) + 2 * this.side.connections;
    const file = writeLines(join(this.side.dir, `signin-${key}.tokens`), await this.pool.peek(key, need));
    const r = await run(this.side, server, 'signin.lua', seconds, { tokens: file, body: signInTemplate(target), expect: SIGN_IN_ANSWER });
    this.pool.spend(key, r.extra.taken ?? need);
    this.fastest = Math.max(this.fastest, r.rps);
    return r;
  }
}


/**
 * refreshSession on a queue of single-use refresh tokens. Each run starts from the tokens the
 * previous one left (bench/wrk/refresh.lua writes them); when fewer than `floor` are left
 * (tokens in flight at the end of a run, and failed refreshes, are lost), new sessions are
 * signed in to top it up to `size`.
 */
export class RefreshLoad {
  private tokens: string[] = [];
  private readonly file: string;
  private readonly leftover: string;
  constructor(
    private readonly side: LoadSide,
    private readonly target: AuthTarget,
    private readonly key: string,
    private readonly size: number,
    private readonly newSessions: (count: number) => Promise<SignInResult[]>,
  ) {
    this.file = join(side.dir, `refresh-${key}.tokens`);
    this.leftover = join(side.dir, `refresh-${key}.left`);
  }

  seed(refreshTokens: readonly string[]): void {
    this.tokens = [...refreshTokens];
  }

  async run(server: ServerProcess, seconds: number): Promise<LoadResult & { toppedUp: number }> {
    let toppedUp = 0;
    if (this.tokens.length < Math.max(4 * this.side.connections, this.size / 2)) {
      toppedUp = this.size - this.tokens.length;
      this.tokens.push(...(await this.newSessions(toppedUp)).map((s) => s.refreshToken));
    }
    writeLines(this.file, this.tokens);
    writeLines(this.leftover, []);
    const r = await run(this.side, server, 'refresh.lua', seconds, {
      tokens: this.file,
      body: refreshTemplate(this.target),
      expect: REFRESH_ANSWER,
      leftover: this.leftover,
    });
    this.tokens = readFileSync(this.leftover, 'utf8').split('\n').filter(Boolean);
    return { ...r, toppedUp };
  }
}

/** `me` with every `every`-th request a sign-in of a new account while `idTokens` last. */
export function mixedRun(
  side: LoadSide,
  server: ServerProcess,
  seconds: number,
  accessTokens: readonly string[],
  idTokens: readonly string[],
  every: number,
): Promise<LoadResult> {
  return run(side, server, 'mixed.lua', seconds, {
    tokens: writeLines(join(side.dir, 'mixed.tokens'), accessTokens),
    idtokens: writeLines(join(side.dir, 'mixed.idtokens'), idTokens),
    body: ME_BODY,
    expect: ME_ANSWER,
    signin: signInTemplate('gateway'),
    expect_signin: SIGN_IN_ANSWER,
    every: String(every),
  });
}

/** `count` sign-ins of new accounts over fetch (set-up, not measured). */
export async function signInMany(pool: IdTokenPool, key: string, target: AuthTarget, server: ServerProcess, count: number): Promise<SignInResult[]> {
  const tokens = await pool.take(key, count);
  return mapConcurrent(tokens, 16, (t) => signIn(target, server.url, t));
}
