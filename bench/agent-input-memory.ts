// What the agent's input costs to hold, in process: the plan's Services (read as the agent
// reads its plan file) and the EndpointSlices (parsed as the endpoint files and the API
// watch parse them), heap kept after gc, as parsed and as compacted (src/model/compact.ts).
// Each variant in a child of its own, so that one's leftovers do not count in another's.
//
//   node --expose-gc --import tsx bench/agent-input-memory.ts [SERVICES] [ENDPOINTS]   (default 44000 1)

import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEndpointSlice } from '../src/manifests/endpointslice.js';
import { compactService, compactSlice } from '../src/model/compact.js';
import { loadPlan, serializePlan } from '../src/model/plan.js';
import { sliceManifest } from './synthetic-manifests.js';
import { settledHeap } from './settled-heap.js';
import { syntheticInput } from './synthetic.js';



const [, , nArg, eArg, what, file] = process.argv;
const n = Number(nArg ?? 44000);
const perService = Number(eArg ?? 1);

/**
 * What a child holds, read in a frame of its own: read inline in the module's frame, the
 * parsed document stayed reachable from a dead register (plan-load-memory.ts says the same).
 */
async function hold(kind: string, compact: boolean, path: string): Promise<unknown[]> {
  if (kind === 'plan') {
    const plan = loadPlan(JSON.parse(await readFile(path, 'utf8')) as unknown, path);
    if (compact) for (const s of plan.services) compactService(s);
    return plan.services;
  }
  const docs = JSON.parse(await readFile(path, 'utf8')) as unknown[];
  // One document at a time, as the files and the watch give them: the parsed text goes after each.
  const slices = [];
  for (let i = 0; i < docs.length; i++) {
    const info = readEndpointSlice(docs[i]).info;
    slices.push(compact ? compactSlice(info) : info);
    docs[i] = undefined;
  }
  return slices;
}

if (what) {
  // Child: hold one kind of input, as parsed or compacted, and say what it kept.
  const heap0 = settledHeap();
  const held = await hold(what.split('-')[0]!, what.endsWith('-compact'), file!);
  const kept = settledHeap() - heap0;
  console.log(JSON.stringify({ what, kept, held: held.length }));
  process.exit(0);
}

const dir = await mkdtemp(join(tmpdir(), 'agent-input-'));
try {
  const input = syntheticInput(n, new Map(), perService);
  const planFile = join(dir, 'plan.json');
  const slicesFile = join(dir, 'slices.json');
  await writeFile(planFile, serializePlan(input.plan));
  await writeFile(slicesFile, JSON.stringify(input.endpointSlices.map(sliceManifest)));
  const rows: Record<string, number> = {};
  for (const w of ['plan', 'plan-compact', 'slices', 'slices-compact']) {
    const out = execFileSync(process.execPath, [...process.execArgv, process.argv[1]!, String(n), String(perService), w, w.startsWith('plan') ? planFile : slicesFile], { encoding: 'utf8' });
    rows[w] = (JSON.parse(out.trim().split('\n').pop()!) as { kept: number }).kept;
  }
  const mb = (b: number) => (b / 1e6).toFixed(1);
  console.log(`${n} Services x ${perService}: heap kept (MB, after gc) plan ${mb(rows.plan!)} -> ${mb(rows['plan-compact']!)} compacted (${(rows.plan! / n).toFixed(0)} -> ${(rows['plan-compact']! / n).toFixed(0)} bytes a Service); slices ${mb(rows.slices!)} -> ${mb(rows['slices-compact']!)} (${(rows.slices! / n).toFixed(0)} -> ${(rows['slices-compact']! / n).toFixed(0)} bytes a slice)`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
