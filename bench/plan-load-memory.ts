// What loading a plan costs in memory, in process: the agent's own read (text -> JSON.parse
// -> loadPlan), peak RSS (VmHWM) above the process before it, and what stays after gc.
// VmHWM, not sampling: the load is one synchronous stretch where no timer runs.
//
//   node --expose-gc --import tsx bench/plan-load-memory.ts [SERVICES]   (default 10000)

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPlan, serializePlan } from '../src/model/plan.js';
import { settledHeap } from './settled-heap.js';
import { syntheticInput } from './synthetic.js';

const mib = (kb: number): string => (kb / 1024).toFixed(1);
const status = (field: string): number => Number(/(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(field))!)![1]);


/**
 * The agent's read (agent.ts readPlan), in its own frame as there: loaded inline in this
 * module's frame, the file's text stayed reachable from a dead register of the frame until
 * it was overwritten (7.4 MiB at 10k counted as "kept"), which the agent never sees.
 */
async function readPlan(file: string): Promise<ReturnType<typeof loadPlan>> {
  return loadPlan(JSON.parse(await readFile(file, 'utf8')) as unknown, file);
}

const n = Number(process.argv[2] ?? 10000);
if (process.argv[3]) {
  // The child that writes the plan: its synthesis leaves no freed heap for the load to reuse.
  writeFileSync(process.argv[3], serializePlan(syntheticInput(n, new Map(), 1).plan));
  process.exit(0);
}
const dir = await mkdtemp(join(tmpdir(), 'plan-load-'));
try {
  const file = join(dir, 'plan.json');
  execFileSync(process.execPath, [...process.execArgv, process.argv[1]!, String(n), file], { stdio: 'inherit' });
  loadPlan(JSON.parse(serializePlan(syntheticInput(1).plan)) as unknown); // code warmed, not counted
  const heap0 = settledHeap();
  const rss0 = status('VmRSS:');
  // The reset makes VmHWM the peak of the load alone (the plan was built above).
  await writeFile('/proc/self/clear_refs', '5');
  const t0 = performance.now();
  const plan = await readPlan(file);
  const ms = performance.now() - t0;
  const hwm = status('VmHWM:');
  const kept = settledHeap() - heap0;
  console.log(`${plan.services.length} Services: load ${ms.toFixed(0)} ms; RSS before ${mib(rss0)} MiB, peak +${mib(hwm - rss0)} MiB, after gc +${mib(status('VmRSS:') - rss0)} MiB; heap kept ${(kept / 1048576).toFixed(1)} MiB`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
