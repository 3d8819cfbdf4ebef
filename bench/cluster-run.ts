// The cluster benchmark's entry from bench/run.ts: its knobs (BENCH_CLUSTER_*), the run,
// the raw result in bench/results/cluster.json, and the Cluster section merged into
// BENCHMARKS.md. A run that fails still writes what it knows (the error) to the report.

import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import type { AgentBackend } from '../test/cluster/agent-process.js';
import { benchCluster, type ClusterBenchOptions, type ClusterBenchResult } from './cluster.js';
import { clusterSection, mergeClusterReport } from './report-cluster.js';
import { machineFacts } from './report.js';

export async function runClusterBench(out: string, root: string, wholeRunCommand?: string): Promise<void> {
  const env = (name: string, dflt: string) => process.env[name] ?? dflt;
  const o: ClusterBenchOptions = {
    nodes: Number(env('BENCH_CLUSTER_NODES', '20')),
    services: Number(env('BENCH_CLUSTER_SERVICES', '1000')),
    rounds: Number(env('BENCH_CLUSTER_ROUNDS', '20')),
    backend: env('BENCH_CLUSTER_BACKEND', 'nftables') as AgentBackend,
    // kube-proxy's defaults.
    syncPeriod: env('BENCH_CLUSTER_SYNC_PERIOD', '30s'),
    minSyncPeriod: env('BENCH_CLUSTER_MIN_SYNC_PERIOD', '1s'),
    gapMs: Number(env('BENCH_CLUSTER_GAP_MS', '1500')),
  };
  const load0 = loadavg()[0]!;
  const log = (m: string) => process.stderr.write(`[bench cluster] ${m}\n`);
  let result: ClusterBenchResult;
  try {
    result = await benchCluster(o, log);
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    log(`FAILED: ${error}`);
    result = { options: o, date: new Date().toISOString(), load: [load0, loadavg()[0]!], wallMs: 0, nodes: [], watches: {}, kernelMismatches: 0, error };
  }
  await writeFile(resolve(root, 'bench/results/cluster.json'), `${JSON.stringify(result, null, 1)}\n`);
  const knobs = Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_CLUSTER_')).map(([k, v]) => `${k}=${v} `).join('');
  const command = wholeRunCommand ?? `${knobs}BENCH_BACKENDS=cluster npm run bench`;
  await mergeClusterReport(out, clusterSection(result, await machineFacts(load0), command));
  log(`merged the Cluster section into ${out}`);
}
