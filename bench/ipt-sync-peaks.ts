// The iptables syncer's peak memory per sync, in process and without a kernel (issue 16 §1):
// the first full sync (read back from an empty table), a full resync (read back again, the
// kernel answering with nothing of ours: every chain rewritten) and one partial sync of
// `changes` endpoint changes, each through an Exec that answers at once and drains the
// restore input piece by piece without keeping it. Before each sync the process's peak
// RSS is reset (`5` to /proc/self/clear_refs), so each sync's VmHWM is its own; the heap is
// sampled at every tool run and every restore input piece. Live heap after gc() at the end.
// Fast (no tool runs) and quiet enough to alternate two builds A B A B in one window.
//
//   node --expose-gc --max-semi-space-size=1 --heap-growing-percent=10 --import tsx bench/ipt-sync-peaks.ts [SERVICES [PER_SERVICE [CHANGES]]]
//
// (the agent's V8 flags: src/agent/node-options.ts, heap-policy.ts). Prints one JSON line.
// BENCH_IPT_SRC=DIR: take the syncer from another checkout's src (a base built from `git archive`).

import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command, Exec, ExecResult } from '../src/exec/exec.js';
import { addEndpoint, spread } from './changes.js';
import { syntheticInput } from './synthetic.js';

const src = resolve(process.env.BENCH_IPT_SRC ?? new URL('../src', import.meta.url).pathname);
const { IptablesRunner } = (await import(`${src}/backends/iptables/apply.ts`)) as typeof import('../src/backends/iptables/apply.js');
const { IptablesSyncer } = (await import(`${src}/backends/iptables/syncer.ts`)) as typeof import('../src/backends/iptables/syncer.js');

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const MB = 1 << 20;
const [services, perService, changes] = [44000, 1, 1000].map((d, i) => Number(process.argv[2 + i] ?? d)) as [number, number, number];

const status = () => readFileSync('/proc/self/status', 'utf8');
const kib = (field: string) => Number(new RegExp(`^${field}:\\s*(\\d+)`, 'm').exec(status())?.[1] ?? NaN);
const resetPeak = () => writeFileSync('/proc/self/clear_refs', '5');

let heapPeak = 0;
const sample = () => {
  const used = process.memoryUsage().heapUsed;
  if (used > heapPeak) heapPeak = used;
};

/** Answers every tool at once: empty saves (nothing of ours in the kernel), restore input drained. */
const exec: Exec = {
  async run(c: Command): Promise<ExecResult> {
    sample();
    if (c.inputChunks) for (const _piece of c.inputChunks) sample();
    const save = c.file.endsWith('-save') ? `*${c.args[c.args.indexOf('-t') + 1]}\nCOMMIT\n` : '';
    if (c.stdoutLines) for (const line of save.split('\n')) if (line) c.stdoutLines(line);
    // `-C` of a jump: not there yet (then `-I`).
    return { exitCode: c.args.includes('-C') ? 1 : 0, stdout: c.stdoutLines ? '' : save, stderr: '' };
  },
};

const input = syntheticInput(services, new Map(), perService);
// The changes made up front (one endpoint more for `changes` Services spread over the input), synced as one partial sync.
const later = spread(services, changes).reduce((acc, i) => {
  const c = addEndpoint(acc.input, i);
  return { input: c.input, changed: acc.changed.add(c.key) };
}, { input, changed: new Set<string>() });
const syncer = new IptablesSyncer(new IptablesRunner(undefined, 'nft', exec), undefined, undefined, false, { readBackEvery: 1 });
const rows: Record<string, { hwmOverStartMB: number; heapPeakMB: number }> = {};
const step = async (name: string, run: () => Promise<unknown>) => {
  gc();
  resetPeak();
  const start = kib('VmRSS');
  heapPeak = 0;
  await run();
  sample();
  rows[name] = { hwmOverStartMB: Math.round(((kib('VmHWM') - start) / 1024) * 10) / 10, heapPeakMB: Math.round((heapPeak / MB) * 10) / 10 };
};
gc();
const inputHeap = process.memoryUsage().heapUsed;
await step('first sync', () => syncer.sync(input));
await step('resync', () => syncer.sync(input, { full: true }));
await step(`${changes} changes`, () => syncer.sync(later.input, later));
gc();
const liveOverInputMB = Math.round(((process.memoryUsage().heapUsed - inputHeap) / MB) * 10) / 10;
process.stdout.write(`${JSON.stringify({ src, services, perService, changes, rows, liveOverInputMB })}\n`);
