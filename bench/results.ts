// Everything one benchmark run measured, as saved to bench/results.json: the report and
// the charts are drawn from this alone (BENCH_REPORT_ONLY=1 redraws them from the file).

import type { AgentMemoryRow } from './agent-memory.js';
import type { AgentResult } from './agent-scale.js';
import type { ApplyResult } from './apply-scale.js';
import type { ChurnResult } from './churn.js';
import type { CliResult } from './cli.js';
import type { ClusterBenchResult } from './cluster.js';
import type { CountersCostRow, DataplaneRow } from './dataplane.js';
import type { IptablesResult } from './iptables-scale.js';
import type { RenderRow } from './render-memory.js';
import type { Facts } from './report.js';
import type { NatCounts } from './rule-counts.js';
import type { Scenario, ScenarioRounds } from './scenarios.js';

export interface ScenarioResult {
  scenario: Scenario;
  rounds: ScenarioRounds;
  renders: RenderRow[];
  nft?: ApplyResult;
  iptables?: { counts: NatCounts; run: IptablesResult };
  agent?: AgentResult;
  /** Set when a step of this scenario failed: what is above it was measured, the rest not. */
  error?: string;
}

export interface BenchResults {
  facts: Facts;
  date: string;
  wallMs: number;
  backends: string[];
  /** The BENCH_* variables the run was started with. */
  knobs: Record<string, string>;
  /** Rounds, limits and data-plane settings in effect (defaults included). */
  settings: {
    base: ScenarioRounds;
    limits: { nftLoadMs: number; iptLoadMs: number; iptKernelMax: number; churnMs: number };
    agent: { rounds: number; floor: number; scales: number[] };
    dataplane: { enabled: boolean; levels: number[]; connections: number; batches: number; warmup: number; loadLimitMs: number };
    /** The counters-cost part (absent in older results). */
    countersCost?: { others: number; connections: number; batches: number; warmup: number; bulkMB: number; bulkRounds: number };
  };
  /** Set when the renders were measured again after the run (BENCH_RERENDER=1): when, and the 1-minute load before/after. */
  rerender?: { date: string; load: [number, number] };
  agentFloor?: AgentResult;
  /** The compiled agent's peak RSS per scale, backend and source (bench/agent-memory.ts); absent in older results. */
  agentMemory?: AgentMemoryRow[];
  /** Agent-memory steps of this run that gave no row, and why (skipped, or failed with this message). */
  agentMemoryNotRun?: { backend: string; source: string; services: number; why: string }[];
  scenarios: ScenarioResult[];
  churn: ChurnResult[];
  dataplane: DataplaneRow[];
  /** What the nftables traffic counters cost the data plane (bench/dataplane.ts benchCountersCost); absent when not run. */
  countersCost?: CountersCostRow;
  /** The same for the iptables traffic set's counting rules (benchCountersCost 'iptables'); absent when not run. */
  countersCostIptables?: CountersCostRow;
  /** `svcplane plan/render -f` as whole processes (bench/cli.ts); absent when the cli part did not run. */
  cli?: CliResult;
  /** The Cluster section as the cluster part of this run wrote it (bench/cluster-run.ts); absent when it did not run. */
  clusterSection?: string[];
  /** The cluster part's raw result (also in bench/results/cluster.json); absent when it did not run. */
  cluster?: ClusterBenchResult;
  /** BENCH_ONLY: the parts this run measured (absent: every part). The report says which it left out. */
  only?: string[];
}
