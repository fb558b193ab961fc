import type { Redis } from 'ioredis';
import type { FakeGoogle } from '../../test/support/fake-google.js';
import type { BenchOptions, TargetName } from '../lib/args.js';
import { median, type LoadResult } from '../lib/load.js';
import type { ServerProcess } from '../lib/procs.js';
import type { IdTokenPool, LoadSide } from '../lib/workloads.js';

/** What every phase gets from run.ts. */
export interface BenchContext {
  opts: BenchOptions;
  google: FakeGoogle;
  /** A client of the benchmark's private redis-server (set-up and memory figures only). */
  redis: Redis;
  load: LoadSide;
  idTokens: IdTokenPool;
  /** Starts a target (pinned to the server core when pinning); stopped at the end of the run. */
  start(name: TargetName, env?: Record<string, string>, pollMs?: number): Promise<ServerProcess>;
  stop(server: ServerProcess): Promise<void>;
  log(msg: string): void;
}

/** Redis key prefixes of the targets (one Redis, kept apart). */
export const GW_PREFIX = 'gw:';
export const REF_PREFIX = 'ref:';

/** Per target, the median over rounds of each figure; failures summed. */
export interface Figure {
  rps: number;
  p50: number;
  p99: number;
  cpuUsPerRequest: { server: number; redis: number; total: number };
  /** The server's CPU ÷ wall time (1 = one core saturated), median over rounds. */
  serverUtilisation: number;
  failures: number;
  roundsWithFailures: number;
}

export interface LoadPhase<T extends string> {
  connections: number;
  seconds: number;
  warmSeconds: number;
  warm: Record<T, LoadResult>;
  rounds: Record<T, LoadResult>[];
  summary: Record<T, Figure>;
}

export function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

export function summarize<T extends string>(rounds: Record<T, LoadResult>[], names: readonly T[]): Record<T, Figure> {
  const out = {} as Record<T, Figure>;
  for (const n of names) {
    const rs = rounds.map((r) => r[n]);
    out[n] = {
      rps: median(rs.map((r) => r.rps)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      cpuUsPerRequest: {
        server: median(rs.map((r) => r.cpuUsPerRequest.server)),
        redis: median(rs.map((r) => r.cpuUsPerRequest.redis)),
        total: median(rs.map((r) => r.cpuUsPerRequest.server + r.cpuUsPerRequest.redis)),
      },
      serverUtilisation: median(rs.map((r) => r.utilisation.server)),
      failures: rs.reduce((a, r) => a + r.failures, 0),
      roundsWithFailures: rs.filter((r) => r.failures > 0).length,
    };
  }
  return out;
}
