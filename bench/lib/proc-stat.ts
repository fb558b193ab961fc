import { readFileSync } from 'node:fs';

/**
 * CPU time from Linux /proc: the benchmark's steadiest figure. A process's utime + stime counts
 * what it used on any core, whatever else the machine was doing; divided by the requests it
 * answered, it stays put when other processes slow the run down (requests/s does not).
 */

/** USER_HZ: the unit of /proc CPU times; 100 on every Linux ABI Node supports. */
export const TICKS_PER_SECOND = 100;

/**
 * utime and stime (ticks) from the text of `/proc/<pid>/stat`. The command name (field 2) is in
 * parentheses and may itself contain spaces and parentheses, so fields are counted from the
 * last `)`: state is field 3, utime 14, stime 15 (proc(5)). Both count every thread.
 */
export function parsePidStat(text: string): { utime: number; stime: number } {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  const fields = text.slice(close + 2).trim().split(/\s+/);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime)) throw new Error(`no utime/stime in /proc/<pid>/stat: ${text.slice(0, 120)}`);
  return { utime, stime };
}

/** CPU seconds (user + system, all threads) a live process has used so far. */
export function cpuSecondsOf(pid: number): number {
  const { utime, stime } = parsePidStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return (utime + stime) / TICKS_PER_SECOND;
}

/** One core's counters from /proc/stat, ticks. `busy` excludes idle and iowait. */
export interface CoreTicks {
  busy: number;
  total: number;
}

/**
 * The per-core lines of /proc/stat (`cpuN user nice system idle iowait irq softirq steal guest
 * guest_nice`; the aggregate `cpu` line is skipped). guest and guest_nice are already counted
 * in user and nice, so they are left out of the sum.
 */
export function parseProcStat(text: string): Map<number, CoreTicks> {
  const cores = new Map<number, CoreTicks>();
  for (const line of text.split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = m[2]!.trim().split(/\s+/).map(Number);
    const busy = user + nice + system + irq + softirq + steal;
    cores.set(Number(m[1]), { busy, total: busy + idle + iowait });
  }
  return cores;
}

export function readCoreTicks(): Map<number, CoreTicks> {
  return parseProcStat(readFileSync('/proc/stat', 'utf8'));
}

/** Share of `cpu`'s time spent busy between two readings (0–1), by anything on the machine. */
export function coreBusyShare(before: Map<number, CoreTicks>, after: Map<number, CoreTicks>, cpu: number): number {
  const a = before.get(cpu);
  const b = after.get(cpu);
  if (!a || !b || b.total === a.total) return NaN;
  return (b.busy - a.busy) / (b.total - a.total);
}

/** A kernel CPU list (`0-3,8,10-11`, as in Cpus_allowed_list) → sorted CPU numbers. */
export function parseCpuList(list: string): number[] {
  const out = new Set<number>();
  for (const part of list.trim().split(',').filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`not a CPU list: ${list}`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new Error(`not a CPU list: ${list}`);
    for (let c = from; c <= to; c++) out.add(c);
  }
  return [...out].sort((x, y) => x - y);
}

/** The CPUs this process may run on (its affinity mask, e.g. narrowed by a container). */
export function allowedCpus(): number[] {
  const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error('no Cpus_allowed_list in /proc/self/status');
  return parseCpuList(m[1]!);
}

/** Resident set size of a live process now, bytes. */
export function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}
