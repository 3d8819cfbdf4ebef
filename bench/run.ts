// `npm run bench`: render and apply time of the backends at synthetic scales, written
// to BENCHMARKS.md. Never part of `npm test`; needs root (ip netns, nft, iptables).
//
// Env: BENCH_BACKENDS=nftables,iptables,ipvs,agent   which backends (ipvs: render only; this kernel has no IPVS;
//                            agent: the `svcplane agent` CLI with nftables; agent alone only replaces BENCHMARKS.md's Agent part)
//      BENCH_SCALES=1000,10000   Services per scale (10 endpoints each); every scale is rendered and applied
//      BENCH_ROUNDS=20           one-endpoint changes through the syncer (and through the agent's files), per scale
//      BENCH_SERVICE_ROUNDS=10   Services added (and as many removed) through the syncer, per scale
//      BENCH_RESYNC_ROUNDS=3     syncs with nothing changed (full read-back + diff), per scale
//      BENCH_ONESHOT_ROUNDS=3    one-endpoint changes through the one-shot apply path, per scale
//      BENCH_RENDER_RUNS         render repetitions (default 5 up to 1k Services, 3 above)
//      BENCH_OUT=BENCHMARKS.md   where the report goes
//      BENCH_AGENT_FLOOR=10      agent: Services of the extra small run that shows its RSS floor (0: none)
//      BENCH_IPT_ROUNDS=10       iptables: one-endpoint changes through the partial sync (and as many through a full sync)
//      BENCH_IPT_LOAD_LIMIT_S=60 iptables: time limit for `iptables-restore` alone; past it the scale's kernel steps are skipped
//      BENCH_IPT_KERNEL_MAX=10000 iptables: larger scales are not tried in the kernel at all

import { loadavg } from 'node:os';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../src/backends/backend.js';
import { iptablesBackend } from '../src/backends/iptables/index.js';
import { renderIptables } from '../src/backends/iptables/render.js';
import { ipvsBackend } from '../src/backends/ipvs/index.js';
import { nftablesBackend } from '../src/backends/nftables/index.js';
import { serializeTables } from '../src/backends/nftables/document.js';
import { renderTables } from '../src/backends/nftables/render.js';
import { benchAgent, type AgentResult } from './agent-scale.js';
import { benchApply, type Rounds } from './apply-scale.js';
import { benchIptables, type IptablesOptions } from './iptables-scale.js';
import { deleteAllNetnsSync } from './netns.js';
import { compareRenders } from './render-compare.js';
import { mergeAgentReport } from './report-agent.js';
import { machineFacts, writeReport, type ScaleResult, type BackendScale } from './report.js';
import { natCounts } from './rule-counts.js';
import { median, timed } from './stats.js';
import { ENDPOINTS_PER_SERVICE, syntheticInput } from './synthetic.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const env = (name: string, dflt: number) => Number(process.env[name] ?? dflt);

const scales = (process.env.BENCH_SCALES ?? '1000,10000').split(',').map((s) => Number(s.trim())).filter((n) => n > 0);
const rounds: Rounds = {
  endpointRounds: env('BENCH_ROUNDS', 20),
  serviceRounds: env('BENCH_SERVICE_ROUNDS', 10),
  resyncRounds: env('BENCH_RESYNC_ROUNDS', 3),
  oneShotRounds: env('BENCH_ONESHOT_ROUNDS', 3),
};
const out = resolve(root, process.env.BENCH_OUT ?? 'BENCHMARKS.md');
const ALL: readonly Backend[] = [nftablesBackend, iptablesBackend, ipvsBackend];
const backendNames = (process.env.BENCH_BACKENDS ?? 'nftables,iptables,ipvs,agent').split(',').map((s) => s.trim()).filter(Boolean);
for (const n of backendNames) if (n !== 'agent' && !ALL.some((b) => b.name === n)) throw new Error(`BENCH_BACKENDS: unknown backend ${n}`);
/** `agent`: the real `svcplane agent` CLI (nftables) in a namespace; not a Backend of its own. */
const withAgent = backendNames.includes('agent');
const agentFloor = env('BENCH_AGENT_FLOOR', 10);
const backends = ALL.filter((b) => backendNames.includes(b.name));
const has = (n: string) => backends.some((b) => b.name === n);
const ipt: IptablesOptions = {
  rounds: env('BENCH_IPT_ROUNDS', 10),
  loadTimeoutMs: env('BENCH_IPT_LOAD_LIMIT_S', 60) * 1000,
  maxKernelScale: env('BENCH_IPT_KERNEL_MAX', 10000),
};

async function benchScale(services: number): Promise<BackendScale> {
  const log = (m: string) => process.stderr.write(`[bench ${services}] ${m}\n`);
  const input = syntheticInput(services);
  const runs = env('BENCH_RENDER_RUNS', services <= 1000 ? 5 : 3);
  log(`render of ${backends.map((b) => b.name).join(', ')} x${runs}, taking turns`);
  const renders = backends.length ? await compareRenders(input, backends, runs) : [];
  const nft = has('nftables') ? await benchNftables(services, input, runs, log) : undefined;
  const iptables = has('iptables')
    ? {
        counts: natCounts(renderIptables(input), services, ENDPOINTS_PER_SERVICE),
        run: await benchIptables(services, input, ipt, `svp-bench-${process.pid}-${services}`, log),
      }
    : undefined;
  const agent: AgentResult | undefined = withAgent ? await benchAgent(services, rounds.endpointRounds, `svp-bench-${process.pid}-${services}`, log) : undefined;
  return { services, renders, ...(nft ? { nft } : {}), ...(iptables ? { iptables } : {}), ...(agent ? { agent } : {}) };
}

async function benchNftables(services: number, input: ReturnType<typeof syntheticInput>, runs: number, log: (m: string) => void): Promise<ScaleResult> {

  log(`render x${runs}`);
  const backend: number[] = [];
  const tables: number[] = [];
  const serialize: number[] = [];
  let doc = '';
  for (let i = 0; i < runs; i++) {
    const [d, t] = await timed(() => nftablesBackend.render(input));
    backend.push(t);
    doc = d;
    const [tb, t1] = await timed(() => renderTables(input));
    tables.push(t1);
    const [, t2] = await timed(() => serializeTables(tb));
    serialize.push(t2);
  }
  const render = {
    runs,
    backendRender: median(backend),
    renderTables: median(tables),
    serializeTables: median(serialize),
    documentBytes: Buffer.byteLength(doc),
    documentLines: doc.split('\n').length - 1,
  };
  doc = '';

  const apply = await benchApply(services, input, rounds, `svp-bench-${process.pid}-${services}`, log);
  return { services, endpoints: services * 10, render, apply };
}

async function main(): Promise<void> {
  const loadAtStart = loadavg()[0]!;
  const results: BackendScale[] = [];
  const [, wall] = await timed(async () => {
    // The agent's RSS floor: the same CLI with almost no Services (first row of its table).
    if (withAgent && agentFloor > 0) {
      const log = (m: string) => process.stderr.write(`[bench ${agentFloor}] ${m}\n`);
      results.push({ services: agentFloor, renders: [], agent: await benchAgent(agentFloor, 2, `svp-bench-${process.pid}-${agentFloor}`, log) });
    }
    for (const s of scales) results.push(await benchScale(s));
  });
  const facts = await machineFacts(loadAtStart);
  if (backends.length === 0) {
    // Agent alone: keep the other sections of the last full run, replace the Agent part.
    const agents = results.flatMap((r) => (r.agent ? [r.agent] : []));
    const header =
      `Measured by an agent-only run (\`BENCH_BACKENDS=agent BENCH_SCALES=${scales.join(',')} BENCH_ROUNDS=${rounds.endpointRounds} npm run bench\`), ${new Date().toISOString()},` +
      ` ${(wall / 1000).toFixed(0)} s, on the machine above (node ${facts.node}, ${facts.nft}; 1-minute load ${facts.load[0].toFixed(2)} at the start, ${facts.load[1].toFixed(2)} at the end).`;
    await mergeAgentReport(out, agents, header);
    process.stderr.write(`merged the Agent part into ${out} (${(wall / 1000).toFixed(0)} s)\n`);
    return;
  }
  await writeReport(out, { facts, scales, rounds, ipt, backends: backendNames, results, wallMs: wall, date: new Date().toISOString() });
  process.stderr.write(`wrote ${out} (${(wall / 1000).toFixed(0)} s)\n`);
}

main().catch((e: unknown) => {
  deleteAllNetnsSync();
  process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
