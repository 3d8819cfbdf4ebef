// `npm run bench`: the scenario matrix of issue 7 (scenarios.ts) through every selected
// backend — render time, size and peak memory; full apply beside the kernel tool alone;
// one endpoint change and one Service added/removed (p50/p99); read-back; churn — then
// the data-plane first-packet benchmark and the traffic counters' cost, the CLI, the node
// agent, the cluster of agents, and BENCHMARKS.md with its charts (bench/charts/*.svg) and
// the raw results (bench/results.json). BENCHMARKS.md is written whole from this one run
// (issue 16 §7): a part this run did not measure says so, never keeps an older run's
// figures. Never part of `npm test`; needs root (ip netns, nft, iptables). Every knob is
// in bench/README.md.

import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import type { Backend } from '../src/backends/backend.js';
import { iptablesBackend } from '../src/backends/iptables/index.js';
import { renderIptables } from '../src/backends/iptables/render.js';
import { ipvsBackend } from '../src/backends/ipvs/index.js';
import { nftablesBackend } from '../src/backends/nftables/index.js';
import { benchAgentMemory, type MemoryBackend, type MemorySource } from './agent-memory.js';
import { benchAgent } from './agent-scale.js';
import { benchApply } from './apply-scale.js';
import { writeCharts } from './charts.js';
import { benchChurn } from './churn.js';
import { benchCli } from './cli.js';
import { runClusterBench } from './cluster-run.js';
import { benchCountersCost, benchDataplane, type DataplaneBackend } from './dataplane.js';
import { benchIptables } from './iptables-scale.js';
import { deleteAllNetnsSync } from './netns.js';
import { renderRows } from './render-memory.js';
import { clusterSectionOf } from './report-cluster.js';
import { benchCommand, machineFacts, writeReport } from './report.js';
import type { ClusterBenchResult } from './cluster.js';
import type { BenchResults, ScenarioResult } from './results.js';
import { natCounts } from './rule-counts.js';
import { roundsFor, selectScenarios, type Scenario, type ScenarioRounds } from './scenarios.js';
import { timed } from './stats.js';
import { syntheticInput } from './synthetic.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const env = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const list = (name: string, dflt: string) => (process.env[name] ?? dflt).split(',').map((s) => s.trim()).filter(Boolean);
const quick = process.env.BENCH_QUICK === '1';

// The largest scenarios hold a few GB of strings at once: re-run ourselves with a larger
// heap than Node's default when `npm run bench` started us without one.
if (getHeapStatistics().heap_size_limit < 6 * 2 ** 30 && !process.env.BENCH_REEXEC) {
  const r = spawnSync(process.execPath, ['--max-old-space-size=12288', ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, BENCH_REEXEC: '1' } });
  process.exit(r.status ?? 1);
}

const out = resolve(root, process.env.BENCH_OUT ?? 'BENCHMARKS.md');
const resultsPath = resolve(root, process.env.BENCH_RESULTS ?? 'bench/results.json');
const ALL: readonly Backend[] = [nftablesBackend, iptablesBackend, ipvsBackend];
const backendNames = list('BENCH_BACKENDS', 'nftables,iptables,ipvs,agent,cluster');
for (const n of backendNames) if (n !== 'agent' && n !== 'cluster' && !ALL.some((b) => b.name === n)) throw new Error(`BENCH_BACKENDS: unknown backend ${n}`);
const backends = ALL.filter((b) => backendNames.includes(b.name));
const has = (n: string) => backendNames.includes(n);
// BENCH_ONLY=render,cli,…: measure only these parts (for development: a whole run takes tens of
// minutes); the report names the parts it left out instead of keeping older numbers for them.
const PARTS = ['render', 'nftables', 'iptables', 'agent', 'churn', 'dataplane', 'counters', 'cli', 'cluster'] as const;
type Part = (typeof PARTS)[number];
const only = list('BENCH_ONLY', '');
for (const p of only) if (!(PARTS as readonly string[]).includes(p)) throw new Error(`BENCH_ONLY: unknown part ${p} (parts: ${PARTS.join(', ')})`);
const dataplaneOn = process.env.BENCH_DP !== '0';
/** What each part needs among BENCH_BACKENDS (and BENCH_DP for the data plane). */
const NEEDS: Record<Part, () => boolean> = {
  render: () => backends.length > 0,
  nftables: () => has('nftables'),
  iptables: () => has('iptables'),
  agent: () => has('agent'),
  churn: () => has('nftables') || has('iptables'),
  dataplane: () => dataplaneOn && (has('nftables') || has('iptables')),
  counters: () => dataplaneOn && (has('nftables') || has('iptables')),
  cli: () => backends.length > 0,
  cluster: () => has('cluster'),
};
/** The parts this run measures: selected by BENCH_ONLY (default all) and possible with BENCH_BACKENDS. */
const measured = PARTS.filter((p) => (only.length === 0 || only.includes(p)) && NEEDS[p]());
const part = (p: Part) => measured.includes(p);
const scenarioParts = (['render', 'nftables', 'iptables', 'agent', 'churn'] as const).some(part);
const scenarios = selectScenarios(process.env);
const base: ScenarioRounds = {
  endpointRounds: env('BENCH_ROUNDS', 40),
  serviceRounds: env('BENCH_SERVICE_ROUNDS', 20),
  resyncRounds: env('BENCH_RESYNC_ROUNDS', 3),
  oneShotRounds: env('BENCH_ONESHOT_ROUNDS', 3),
  renderRuns: env('BENCH_RENDER_RUNS', 5),
  iptRounds: env('BENCH_IPT_ROUNDS', 10),
};
const limits = {
  nftLoadMs: env('BENCH_NFT_LOAD_LIMIT_S', 600) * 1000,
  iptLoadMs: env('BENCH_IPT_LOAD_LIMIT_S', 60) * 1000,
  iptKernelMax: env('BENCH_IPT_KERNEL_MAX', 50000),
  churnMs: env('BENCH_CHURN_LIMIT_S', 300) * 1000,
};
const agent = {
  rounds: env('BENCH_AGENT_ROUNDS', 20),
  floor: env('BENCH_AGENT_FLOOR', 10),
  scales: list('BENCH_AGENT_SCALES', quick ? '1000' : '1000,10000').map(Number),
};
const dataplane = {
  enabled: dataplaneOn,
  levels: list('BENCH_DP_LEVELS', quick ? '10,1000' : '10,1000,10000,30000').map(Number),
  connections: env('BENCH_DP_CONNECTIONS', quick ? 300 : 1000),
  batches: env('BENCH_DP_BATCHES', 3),
  warmup: env('BENCH_DP_WARMUP', 100),
  loadLimitMs: env('BENCH_DP_LOAD_LIMIT_S', 240) * 1000,
};
// What the traffic counters cost the data plane (issue 18 §2: < 5 %), nftables and iptables, with and without them in one topology.
const countersCost = {
  others: env('BENCH_COUNTERS_OTHERS', 1000),
  connections: env('BENCH_COUNTERS_CONNECTIONS', quick ? 200 : 300),
  // 96: on the quiet machine 12 and 48 batches left an interval straddling 5 % (bench/README.md, session 12's quiet runs).
  batches: env('BENCH_COUNTERS_BATCHES', quick ? 2 : 96),
  warmup: env('BENCH_COUNTERS_WARMUP', 20),
  // Many short transfers, paired A B / B A (session 12: 10 MB × 30 had the narrowest per-batch spread; bench/README.md).
  bulkMB: env('BENCH_COUNTERS_BULK_MB', 10),
  bulkRounds: env('BENCH_COUNTERS_BULK_ROUNDS', quick ? 10 : 30),
  // 'rulesets': nftables' older unpaired method (the rules reloaded before each batch); pin: none, split or same (dataplane.ts PinMode).
  pairing: process.env.BENCH_COUNTERS_PAIRING === 'rulesets' ? ('rulesets' as const) : ('sources' as const),
  pin: (['none', 'split', 'same'] as const).find((m) => m === process.env.BENCH_COUNTERS_PIN) ?? 'same',
  loadLimitMs: dataplane.loadLimitMs,
};
const cli = { services: env('BENCH_CLI_SERVICES', quick ? 1000 : 10000), runs: env('BENCH_CLI_RUNS', 5) };
const prefix = `svp-bench-${process.pid}`;

// The compiled agent's peak RSS (bench/agent-memory.ts); `npm run build` first.
const agentMemory = {
  // SERVICES or SERVICESxENDPOINTS (44000x1: issue 16's other scale); 10 endpoints by default.
  scales: list('BENCH_AGENT_MEMORY_SCALES', quick ? '2,1000' : '2,1000,10000,44000x1').map(agentMemoryScale),
  changes: env('BENCH_AGENT_MEMORY_CHANGES', 1000),
  backends: list('BENCH_AGENT_MEMORY_BACKENDS', 'nftables,iptables') as MemoryBackend[],
  sources: list('BENCH_AGENT_MEMORY_SOURCES', 'offline,api') as MemorySource[],
};

/** `10000` or `44000x1` -> [Services, endpoints per Service]. */
function agentMemoryScale(s: string): [number, number] {
  const [services, perService = 10] = s.split('x').map(Number);
  if (!Number.isInteger(services) || !Number.isInteger(perService) || services! < 1 || perService < 1) throw new Error(`BENCH_AGENT_MEMORY_SCALES: '${s}' is not SERVICES or SERVICESxENDPOINTS`);
  return [services!, perService];
}

async function runAgentMemory(results: BenchResults): Promise<void> {
  results.agentMemory = [];
  results.agentMemoryNotRun = [];
  for (const [services, perService] of agentMemory.scales) {
    for (const backend of agentMemory.backends) {
      for (const source of agentMemory.sources) {
        const log = (m: string) => process.stderr.write(`[bench agent memory] ${m}\n`);
        const notRun = (why: string) => {
          log(`NOT RUN ${backend}/${source} ${services}: ${why}`);
          results.agentMemoryNotRun!.push({ backend, source, services, why });
        };
        // The agent's first sync is one iptables-restore of the whole ruleset: when this run's
        // iptables-restore alone did not load that scale within its limit, the agent would wait
        // up to 20 min per source for it (seen at 10k x 10) and measure nothing more.
        const restore = backend === 'iptables' ? results.scenarios.find((s) => s.scenario.services === services && s.scenario.endpointsPerService === perService)?.iptables?.run.alone : undefined;
        if (restore && !restore.finished) {
          notRun(`iptables-restore alone did not load ${services} Services x ${perService} within ${limits.iptLoadMs / 1000} s in this run`);
          continue;
        }
        try {
          results.agentMemory.push(await benchAgentMemory(backend, source, services, agentMemory.changes, `svp-${process.pid}-mem-${backend.slice(0, 3)}-${source}-${services}`, log, perService));
        } catch (e) {
          notRun(`failed: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    }
  }
}

async function runScenarios(results: BenchResults): Promise<void> {
  if (!scenarioParts) return;
  for (const sc of scenarios) {
    const log = (m: string) => process.stderr.write(`[bench ${sc.id}] ${m}\n`);
    if (sc.churn) {
      if (!part('churn')) continue;
      for (const b of ['nftables', 'iptables'] as const) {
        if (!has(b)) continue;
        try {
          results.churn.push(await benchChurn(b, sc, { loadLimitMs: limits.iptLoadMs, limitMs: limits.churnMs }, `${prefix}-${sc.id}`, log));
        } catch (e) {
          log(`FAILED: ${e instanceof Error ? e.message : String(e)}`);
          deleteAllNetnsSync();
        }
      }
      continue;
    }
    const rounds = roundsFor(sc, base);
    const r: ScenarioResult = { scenario: sc, rounds, renders: [] };
    results.scenarios.push(r);
    // A failure at one scenario is reported with it; the others still run.
    try {
      await runScenario(sc, r, log);
    } catch (e) {
      r.error = e instanceof Error ? e.message : String(e);
      log(`FAILED: ${r.error}`);
      deleteAllNetnsSync();
    }
  }
}

async function runScenario(sc: Scenario, r: ScenarioResult, log: (m: string) => void): Promise<void> {
  const rounds = r.rounds;
  if (part('render')) {
    log(`render of ${backends.map((b) => b.name).join(', ')} x${rounds.renderRuns}, one child process each`);
    r.renders = await renderRows(sc, backends, rounds.renderRuns);
  }
  const input = syntheticInput(sc.services, new Map(), sc.endpointsPerService);
  const ns = `${prefix}-${sc.id}`;
  if (has('nftables') && part('nftables')) {
    r.nft = await benchApply(
      sc.services,
      input,
      { perService: sc.endpointsPerService, loadLimitMs: limits.nftLoadMs, endpointRounds: rounds.endpointRounds, serviceRounds: rounds.serviceRounds, resyncRounds: rounds.resyncRounds, oneShotRounds: rounds.oneShotRounds },
      ns,
      log,
    );
  }
  if (has('iptables') && part('iptables')) {
    const counts = natCounts(renderIptables(input), sc.services, sc.endpointsPerService);
    // Each iptables partial sync is an iptables-nft-restore that fetches the whole ruleset
    // first (~30 s at 44k × 1 here): Services added and removed get iptRounds, like endpoints.
    const o = { rounds: rounds.iptRounds, serviceRounds: Math.min(rounds.serviceRounds, rounds.iptRounds), perService: sc.endpointsPerService, loadTimeoutMs: limits.iptLoadMs, maxKernelScale: limits.iptKernelMax };
    r.iptables = { counts, run: await benchIptables(sc.services, input, o, ns, log) };
  }
  if (has('agent') && part('agent') && sc.endpointsPerService === 10 && agent.scales.includes(sc.services)) {
    r.agent = await benchAgent(sc.services, agent.rounds, ns, log);
  }
}

async function runDataplane(results: BenchResults): Promise<void> {
  if (!part('dataplane')) return;
  for (const b of ['nftables', 'iptables'] as DataplaneBackend[]) {
    if (!has(b)) continue;
    for (const n of dataplane.levels) {
      const log = (m: string) => process.stderr.write(`[bench dataplane] ${m}\n`);
      try {
        results.dataplane.push(await benchDataplane(b, n, dataplane, prefix, log));
      } catch (e) {
        log(`FAILED: ${e instanceof Error ? e.message : String(e)}`);
        results.dataplane.push({ backend: b, others: n, load: { ms: NaN, finished: false }, service: [], direct: [], error: e instanceof Error ? e.message : String(e) });
      }
    }
  }
}

async function runCountersCost(results: BenchResults): Promise<void> {
  if (!part('counters')) return;
  const log = (m: string) => process.stderr.write(`[bench counters cost] ${m}\n`);
  for (const b of ['nftables', 'iptables'] as const) {
    if (!has(b)) continue;
    try {
      const row = await benchCountersCost(countersCost.others, countersCost, `${prefix}-cc`, log, b);
      if (b === 'nftables') results.countersCost = row;
      else results.countersCostIptables = row;
    } catch (e) {
      log(`${b} FAILED: ${e instanceof Error ? e.message : String(e)}`);
      deleteAllNetnsSync();
    }
  }
}

const QUICK_CLUSTER = { BENCH_CLUSTER_NODES: '3', BENCH_CLUSTER_SERVICES: '100', BENCH_CLUSTER_ROUNDS: '5' };

/**
 * The cluster benchmark (bench/cluster-run.ts) inside this run: it writes its section into a
 * report of its own, which is taken from there into this run's results (so BENCH_REPORT_ONLY
 * redraws it like every other part).
 */
async function runCluster(results: BenchResults): Promise<void> {
  if (!part('cluster')) return;
  // BENCH_QUICK: a small cluster unless the BENCH_CLUSTER_* knobs say otherwise (the section names its size).
  if (quick) for (const [k, v] of Object.entries(QUICK_CLUSTER)) process.env[k] ??= v;
  const dir = await mkdtemp(join(tmpdir(), 'svp-bench-cluster-'));
  try {
    const file = join(dir, 'BENCHMARKS.md');
    await runClusterBench(file, root, benchCommand(results));
    results.clusterSection = clusterSectionOf(await readFile(file, 'utf8'));
    results.cluster = JSON.parse(await readFile(resolve(root, 'bench/results/cluster.json'), 'utf8')) as ClusterBenchResult;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  // BENCH_REPORT_ONLY=1: rewrite BENCHMARKS.md and the charts from the saved results.
  if (process.env.BENCH_REPORT_ONLY === '1') {
    const saved = JSON.parse(await readFile(resultsPath, 'utf8')) as BenchResults;
    await writeCharts(root, saved);
    await writeReport(out, saved);
    process.stderr.write(`rewrote ${out} from ${resultsPath}\n`);
    return;
  }
  const loadAtStart = loadavg()[0]!;
  const results: BenchResults = {
    facts: undefined!,
    date: new Date().toISOString(),
    wallMs: 0,
    backends: backendNames,
    knobs: Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_') && k !== 'BENCH_REEXEC')) as Record<string, string>,
    settings: { base, limits, agent, dataplane: { ...dataplane }, countersCost: { ...countersCost } },
    scenarios: [],
    churn: [],
    dataplane: [],
    ...(measured.length < PARTS.length ? { only: measured } : {}),
  };
  process.stderr.write(`[bench] parts: ${measured.join(', ') || 'none'}\n`);
  const [, wall] = await timed(async () => {
    if (part('cli') || part('agent') || part('cluster')) {
      // The CLI part, the agent (its scale rounds and its memory) and the cluster's agents run the compiled code, as the image does.
      process.stderr.write('[bench] building lib/ (tsc): the CLI and agent measured are the compiled ones\n');
      const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
      if (build.status !== 0) throw new Error('bench: tsc failed');
    }
    if (part('agent') && agent.floor > 0) {
      const log = (m: string) => process.stderr.write(`[bench agent floor] ${m}\n`);
      results.agentFloor = await benchAgent(agent.floor, 2, `${prefix}-floor`, log);
    }
    await runScenarios(results);
    await runDataplane(results);
    await runCountersCost(results);
    if (part('cli')) {
      const log = (m: string) => process.stderr.write(`[bench cli] ${m}\n`);
      results.cli = await benchCli(root, cli.services, 10, cli.runs, log);
    }
    if (part('agent')) await runAgentMemory(results);
    await runCluster(results);
  });
  results.wallMs = wall;
  results.facts = await machineFacts(loadAtStart);
  await writeFile(resultsPath, `${JSON.stringify(results)}\n`);
  await writeCharts(root, results);
  await writeReport(out, results);
  process.stderr.write(`wrote ${out}, ${resultsPath} and the charts (${(wall / 1000).toFixed(0)} s)\n`);
}

main().catch((e: unknown) => {
  deleteAllNetnsSync();
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
