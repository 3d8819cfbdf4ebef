// Where a V8 CPU profile (`node --cpu-prof`) spent its time, from a point in the run on:
// self time by source file and by function, and inclusive time by function. Pure:
// the profile's JSON in, numbers out.

export interface CpuProfile {
  readonly nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: number[];
  readonly timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled ms after `fromMs` (idle and GC included). */
  readonly totalMs: number;
  readonly idleMs: number;
  readonly gcMs: number;
  /** Self ms by file (node_modules collapsed to the package, node internals to `node:`). */
  readonly byFile: [string, number][];
  /** Self ms by `function file:line`. */
  readonly byFunction: [string, number][];
  /** Inclusive ms by `function file:line` (idle left out). */
  readonly inclusive: [string, number][];
}

/** A short name for a script URL: the path under lib/ or src/, a package, or node's own. */
export function fileOf(url: string): string {
  if (url === '') return '(native)';
  if (url.startsWith('node:')) return 'node:';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `pkg:${pkg[1]}`;
  const own = /\/(lib|src)\/(.*)$/.exec(url);
  return own ? own[2]! : url;
}

export function summarize(p: CpuProfile, fromMs: number): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]!;
    if ((t - p.startTime) / 1000 < fromMs) continue;
    // The time until the next sample belongs to this one.
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt);
  }
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  const files = new Map<string, number>();
  const fns = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  let idle = 0;
  let gc = 0;
  for (const [id, ms] of self) {
    const f = byId.get(id)!.callFrame;
    total += ms;
    if (f.functionName === '(idle)') idle += ms;
    if (f.functionName === '(garbage collector)') gc += ms;
    add(files, fileOf(f.url), ms);
    const key = (c: typeof f) => `${c.functionName || '(anonymous)'} ${fileOf(c.url)}:${c.lineNumber + 1}`;
    add(fns, key(f), ms);
    if (f.functionName === '(idle)') continue;
    // Each function on the stack once, however deep the recursion.
    const seen = new Set<string>();
    for (let a: number | undefined = id; a !== undefined; a = parent.get(a)) {
      const k = key(byId.get(a)!.callFrame);
      if (!seen.has(k)) {
        seen.add(k);
        add(incl, k, ms);
      }
    }
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { totalMs: total, idleMs: idle, gcMs: gc, byFile: sorted(files), byFunction: sorted(fns), inclusive: sorted(incl) };
}
