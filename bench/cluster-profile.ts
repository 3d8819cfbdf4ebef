// Where one agent's CPU goes per EndpointSlice change at the cluster bench's scale (issue
// 17): one node of the cluster testbed, S Services in the API server, the compiled agent in
// API mode under `node --cpu-prof`; after its first sync, R changes (one endpoint added or
// removed, as bench/cluster.ts does), each waited for; then SIGTERM (the profile is
// written on exit) and a summary of the samples taken during the changes.
//
//   node --import tsx bench/cluster-profile.ts [services=1000] [rounds=20] [backend=nftables] [syncPeriod=30s] [noprof]
//
// `noprof` runs the agent without the profiler, for its CPU (/proc) alone: the sampler
// itself costs CPU. A syncPeriod longer than the run (e.g. 1h) leaves the periodic full
// syncs out, so what remains is what the changes cost.
//
// (NODE_OPTIONS refuses --cpu-prof: cpu-prof-preload.mjs starts the profiler instead.)
// Prints the summary and the profile's path (open it in Chrome's DevTools for the tree).

import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCluster } from '../test/cluster/cluster.js';
import type { AgentBackend } from '../test/cluster/agent-process.js';
import { endpointSlice } from '../test/cluster/objects.js';
import { spread } from './changes.js';
import { endpointsOf, loadServices, PORTS } from './cluster.js';
import { summarize, type CpuProfile } from './cpu-profile.js';

const [services = 1000, rounds = 20] = process.argv.slice(2, 4).map(Number);
const backend = (process.argv[4] ?? 'nftables') as AgentBackend;
const syncPeriod = process.argv[5] ?? '30s';
const profiled = process.argv[6] !== 'noprof';
const GAP_MS = 1500;
const PRELOAD = fileURLToPath(new URL('./cpu-prof-preload.mjs', import.meta.url));
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const c = await createCluster({ nodes: 1, podsPerNode: 2, backends: [backend], syncPeriod, minSyncPeriod: '1s', startAgents: false });
const dir = mkdtempSync(join(tmpdir(), 'svcplane-prof-'));
try {
  await loadServices(c, services);
  // Only the agent is profiled: the preload is in the environment while it is spawned.
  if (profiled) process.env.NODE_OPTIONS = `--import ${PRELOAD}`;
  process.env.SVP_CPU_PROF_DIR = dir;
  const spawned = Date.now();
  const agent = await c.startAgent('node1', 600_000);
  delete process.env.NODE_OPTIONS;
  delete process.env.SVP_CPU_PROF_DIR;
  const readyMs = Date.now() - spawned;
  await sleep(GAP_MS);
  const cpu0 = (await agent.usage()).cpuSeconds;
  const syncMs: number[] = [];
  const latencyMs: number[] = [];
  const picked = spread(services, rounds);
  for (let r = 0; r < rounds; r++) {
    // Even rounds add an endpoint to a Service, odd ones remove it again.
    const add = r % 2 === 0;
    const k = picked[add ? r : r - 1]!;
    const extra = add ? [{ ip: `10.244.200.${(r % 200) + 10}`, node: 'node1' }] : [];
    const before = agent.syncs.length;
    const trigger = Date.now();
    await c.api.upsert('endpointslices', endpointSlice(`svc-${k}`, [...endpointsOf(c, k), ...extra], PORTS, trigger));
    await agent.waitSynced(before, 60_000);
    syncMs.push(agent.syncs.at(-1)!.ms);
    latencyMs.push(agent.syncs.at(-1)!.time - trigger);
    await sleep(GAP_MS);
  }
  const cpuPerChangeMs = (((await agent.usage()).cpuSeconds - cpu0) * 1000) / rounds;
  const fullSyncs = agent.syncs.slice(1).filter((x) => x.full).map((x) => x.ms);
  await c.stopAgent('node1');
  console.log(`${services} Services, ${backend}, syncPeriod ${syncPeriod}, ${rounds} changes: agent CPU ${cpuPerChangeMs.toFixed(0)} ms/change (/proc${profiled ? ', profiled' : ''}), trigger to synced median ${median(latencyMs)} ms, sync median ${median(syncMs)} ms; periodic full syncs after the first: ${fullSyncs.length} (${fullSyncs.join(', ')} ms); ready after ${readyMs} ms`);
  if (profiled) printProfile(dir, readyMs + GAP_MS / 2);
} finally {
  await c.destroy();
}

/** The samples taken from `fromMs` on, per change: self time by file and function, inclusive time of our own functions. */
function printProfile(dir: string, fromMs: number): void {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile in ${dir}`);
  const s = summarize(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, fromMs);
  const row = ([k, v]: [string, number]) => `  ${(v / rounds).toFixed(1).padStart(8)} ms/change  ${k}`;
  console.log(`sampled busy ${((s.totalMs - s.idleMs) / rounds).toFixed(0)} ms/change (GC ${(s.gcMs / rounds).toFixed(0)})`);
  console.log('self time by file:');
  for (const r of s.byFile.slice(0, 25)) console.log(row(r));
  console.log('self time by function:');
  for (const r of s.byFunction.slice(0, 30)) console.log(row(r));
  console.log('inclusive, our own functions:');
  for (const r of s.inclusive.filter(([k]) => !/ (pkg:|node:|\(native\))/.test(k)).slice(0, 30)) console.log(row(r));
  console.log(`profile: ${join(dir, file)}`);
}
