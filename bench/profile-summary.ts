/**
 * Summarises a V8 `.cpuprofile` (from `npm run bench -- --cpu-prof gateway`) as text: where the
 * time went by package (self time) and the functions with the most self and inclusive time.
 *
 *   node dist/bench/bench/profile-summary.js bench/results/profiles/CPU.….cpuprofile [--top 25] [--focus substring]
 *
 * `--focus` keeps only samples whose stack contains a frame matching the substring (e.g. the
 * request handler), so idle time and start-up do not dilute the percentages.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: an npm package, our code, Node itself, or V8 pseudo-frames. */
export function area(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0]!.replace(/^internal$/, 'internal/' + url.split('/')[1]);
  const ours = /\/dist\/(?:bench\/)?(.*)$/.exec(url);
  if (ours) return `ours: ${ours[1]!.split('/').slice(0, -1).join('/') || '.'}`;
  return url;
}

export function summarize(profile: Profile, opts: { top: number; focus?: string }): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id)!;
    const stack: ProfileNode[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) stack.push(byId.get(cur)!);
    if (opts.focus && !stack.some((n) => key(n).includes(opts.focus!))) return;
    if (!opts.focus && node.callFrame.functionName === '(idle)') return;
    total += dt;
    self.set(key(node), (self.get(key(node)) ?? 0) + dt);
    const a = area(node.callFrame.url, node.callFrame.functionName);
    areas.set(a, (areas.get(a) ?? 0) + dt);
    for (const k of new Set(stack.map(key))) inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
  });
  const pct = (v: number) => `${((100 * v) / total).toFixed(1).padStart(5)} %`;
  const table = (title: string, m: Map<string, number>) =>
    [title, ...[...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, opts.top).map(([k, v]) => `  ${pct(v)}  ${k}`)].join('\n');
  return [
    `${(total / 1e6).toFixed(2)} s of samples${opts.focus ? ` under "${opts.focus}"` : ' (idle excluded)'}`,
    table('self time by area:', areas),
    table('self time by function:', self),
    table('inclusive time by function:', inclusive),
  ].join('\n\n');
}

function shortUrl(url: string): string {
  return url.replace(/^file:\/\/.*?\/node_modules\//, '').replace(/^file:\/\/.*?\/dist\//, 'dist/');
}

const args = process.argv.slice(2);
const file = args[0];
if (!file) {
  process.stderr.write('usage: node dist/bench/bench/profile-summary.js <file.cpuprofile> [--top N] [--focus substring]\n');
  process.exit(2);
}
const topAt = args.indexOf('--top');
const focusAt = args.indexOf('--focus');
process.stdout.write(
  `${summarize(JSON.parse(readFileSync(file, 'utf8')) as Profile, {
    top: topAt >= 0 ? Number(args[topAt + 1]) : 25,
    focus: focusAt >= 0 ? args[focusAt + 1] : undefined,
  })}\n`,
);
