import { execFileSync } from 'node:child_process';
import { onPath } from './which.js';

/**
 * Which core runs what. On 2 cores, a load generator sharing the server's core measures
 * itself, and one sharing its event loop even more so: each server under test runs alone on
 * its own core, and the load generator (wrk) and Redis share the other one. (The harness, idle
 * while wrk runs, is left to the scheduler: it mints ID tokens between rounds on both cores.)
 * A server then saturates its core, and its requests/s is the server's, not the load
 * generator's. With one core there is nothing to separate: everything shares it, and the
 * report says so.
 */
export type Pinning =
  | { mode: 'pinned'; serverCpu: number; loadCpu: number; note: string }
  | { mode: 'shared'; serverCpu?: undefined; loadCpu?: undefined; note: string };

/** Pure: the plan for the CPUs this process may use and whether `taskset` exists. */
export function planPinning(allowed: readonly number[], hasTaskset: boolean): Pinning {
  if (allowed.length < 2) {
    return {
      mode: 'shared',
      note: `only ${allowed.length === 1 ? `CPU ${allowed[0]}` : 'one CPU'} available: servers, wrk and Redis share it, so requests/s and latency measure them together; CPU µs per request is still each process's own`,
    };
  }
  if (!hasTaskset) {
    return {
      mode: 'shared',
      note: 'taskset (util-linux) not found: nothing pinned, the scheduler spreads servers, wrk and Redis over the cores; install util-linux for the documented method',
    };
  }
  const [loadCpu, serverCpu] = allowed as [number, number];
  return { mode: 'pinned', serverCpu, loadCpu, note: `servers under test alone on CPU ${serverCpu}; wrk and Redis on CPU ${loadCpu}` };
}

export function hasTaskset(): boolean {
  return onPath('taskset') !== null;
}

/** argv that runs `command` on `cpu` (unchanged when `cpu` is undefined). taskset execs, so the pid is the command's. */
export function onCpu(cpu: number | undefined, command: string, args: readonly string[]): [string, string[]] {
  return cpu === undefined ? [command, [...args]] : ['taskset', ['-c', String(cpu), command, ...args]];
}

/** Moves a running process, every thread of it, to `cpu`; threads it starts later inherit it. */
export function pinProcess(pid: number, cpu: number): void {
  execFileSync('taskset', ['-a', '-c', '-p', String(cpu), String(pid)], { stdio: 'ignore' });
}
