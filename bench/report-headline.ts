// Headline rows of BENCHMARKS.md's targets table for the parts whose own sections state
// a target further down (agent memory, the cluster): the verdict belongs in the table
// at the top too, drawn from the same run's results as the section.

import { IDLE_TARGET_MIB, scaleLabel, TARGET_MIB } from './report-agent-memory.js';
import { TARGET_P99_MS } from './report-cluster.js';
import type { BenchResults } from './results.js';
import { median, quantile } from './stats.js';

export interface TargetRow {
  target: string;
  measured: string;
  /** 'unclear': measured, but the measurement's interval straddles the target. */
  met: boolean | 'unclear' | undefined;
  limits: string;
}

const mib = (kib: number) => kib / 1024;

/** Peak RSS of the compiled agent: under 150 MiB at 10k x 10 and 44k x 1, under 60 MiB idle (a few Services), per backend and source. */
export function agentMemoryTargetRows(r: BenchResults): TargetRow[] {
  const rows = r.agentMemory ?? [];
  const peak = (x: (typeof rows)[number]) => mib(Math.max(x.hwmFirstSyncKiB, x.hwmResyncKiB, x.hwmChangesKiB));
  const out: TargetRow[] = [];
  for (const x of rows.filter((y) => (y.services === 10_000 && y.endpointsPerService === 10) || (y.services === 44_000 && y.endpointsPerService === 1))) {
    const p = peak(x);
    out.push({ target: `agent peak RSS at ${scaleLabel(x)} Services under ${TARGET_MIB} MiB (${x.backend}, ${x.source})`, measured: `${p.toFixed(0)} MiB (VmHWM)`, met: p < TARGET_MIB, limits: p < TARGET_MIB ? '' : 'see "Agent memory"' });
  }
  for (const x of rows.filter((y) => y.services <= 10)) {
    const p = peak(x);
    out.push({ target: `agent idle RSS (${x.services} Services) under ${IDLE_TARGET_MIB} MiB (${x.backend}, ${x.source})`, measured: `${p.toFixed(0)} MiB (VmHWM)`, met: p < IDLE_TARGET_MIB, limits: p < IDLE_TARGET_MIB ? '' : 'see "Agent memory"' });
  }
  return out;
}

/** Network programming latency over the cluster: p99 under 1 s at 20 nodes (a smaller cluster is no verdict). */
export function clusterTargetRow(r: BenchResults): TargetRow | undefined {
  const c = r.cluster;
  if (!c) return undefined;
  const target = `network programming latency p99 under ${TARGET_P99_MS} ms at 20 nodes (trigger time → every node synced)`;
  if (c.error || c.nodes.length === 0) return { target, measured: `the cluster run failed: ${c.error ?? 'no node'}`, met: undefined, limits: 'see "Cluster"' };
  const all = c.nodes.flatMap((n) => n.latencies);
  const synced = all.filter(Number.isFinite);
  const p99 = quantile(synced, 0.99);
  const measured = `p50 ${median(synced).toFixed(0)} ms, p99 ${p99.toFixed(0)} ms (n=${synced.length}${synced.length < all.length ? `, ${all.length - synced.length} never synced` : ''}) at ${c.options.nodes} nodes × ${c.options.services} Services`;
  if (c.options.nodes < 20) return { target, measured, met: undefined, limits: `measured at ${c.options.nodes} nodes, not 20 (BENCH_CLUSTER_NODES)` };
  const met = p99 < TARGET_P99_MS && synced.length === all.length;
  return { target, measured, met, limits: met ? '' : 'every agent\'s CPU per change, times the agents sharing the machine\'s cores (see "Cluster")' };
}
