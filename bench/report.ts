// Writes BENCHMARKS.md from one run's results: machine, versions, command, date; the
// targets stated plainly as met or missed; the scenario matrix; charts; then each
// part's tables (render, control plane per backend, churn, data plane, kube-proxy's
// published figures beside ours, the agent) and what the numbers say.

import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import type { Sample } from './apply-scale.js';
import { chartsOf, CHART_DIR } from './charts.js';
import { countersCostSection, countersCostTargetRow, dataplaneSection, dataplaneRatio } from './report-dataplane.js';
import { agentSection, agentSummary } from './report-agent.js';
import { agentMemorySection } from './report-agent-memory.js';
import { churnSection } from './report-churn.js';
import { cliSection, cliTargetRows } from './report-cli.js';
import { iptablesSections, iptablesSummary } from './report-iptables.js';
import { listCommand, nftSections, nftSummary } from './report-nft.js';
import { agentMemoryTargetRows, clusterTargetRow, type TargetRow } from './report-headline.js';
import { publishedSection } from './report-published.js';
import { renderSection } from './report-render.js';
import type { BenchResults, ScenarioResult } from './results.js';
import { endpointsOf } from './scenarios.js';
import { median, quantile } from './stats.js';

export interface Facts {
  kernel: string;
  cpu: string;
  nproc: number;
  memGiB: number;
  node: string;
  nft: string;
  iptables: string;
  /** 1-minute load average when the run started and when it ended (other work on the machine skews timings). */
  load: [number, number];
  /** The svcplane commit measured (BENCH_COMMIT, else `git rev-parse HEAD`), '+dirty' with uncommitted src/ changes. */
  commit?: string;
}

export async function machineFacts(loadAtStart: number): Promise<Facts> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const meminfo = await readFile('/proc/meminfo', 'utf8').catch(() => '');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  const memKiB = Number(/^MemTotal:\s*(\d+)/m.exec(meminfo)?.[1] ?? NaN);
  const nft = await execa('nft', ['--version'], { reject: false });
  const uname = await execa('uname', ['-r'], { reject: false });
  // The flavour the iptables backend ran with (SVCPLANE_IPTABLES_MODE; auto takes nft in a fresh namespace).
  const flavour = process.env.SVCPLANE_IPTABLES_MODE;
  const ipt = await execa(flavour === 'legacy' || flavour === 'nft' ? `iptables-${flavour}` : 'iptables', ['--version'], { reject: false });
  const head = await execa('git', ['rev-parse', '--short', 'HEAD'], { reject: false });
  const dirty = await execa('git', ['status', '--porcelain', '--', 'src'], { reject: false });
  const commit = process.env.BENCH_COMMIT ?? (head.exitCode === 0 ? `${head.stdout.trim()}${dirty.stdout.trim() ? '+dirty' : ''}` : undefined);
  return { ...(commit ? { commit } : {}), kernel: uname.stdout.trim(), cpu: model, nproc: cpus().length, memGiB: memKiB / 2 ** 20, node: process.version, nft: nft.stdout.trim(), iptables: ipt.stdout.trim(), load: [loadAtStart, loadavg()[0]!] };
}

export const ms = (x: number) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toFixed(1)) : '—');
export const mb = (b: number) => (b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : `${(b / 1e3).toFixed(1)} kB`);
export const k = (n: number) => (n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));
/** "p50 / p99" of sample totals (nearest rank: with n < 100, p99 is the max). */
export const p50p99 = (xs: readonly number[]) => (xs.length ? `${ms(median(xs))} / ${ms(quantile(xs, 0.99))}` : '—');
export const totals = (xs: readonly { total: number }[] | undefined) => (xs ?? []).map((x) => x.total);
export const seconds = (x: number) => `${(x / 1000).toFixed(x >= 10_000 ? 0 : 1)} s`;

export const TARGETS = { renderMs10k: 1000, renderMs44k: 3000, endpointP99Ms: 50, firstPacketRatio: 1.2 } as const;


const byId = (r: BenchResults, id: string): ScenarioResult | undefined => r.scenarios.find((s) => s.scenario.id === id);

function targetRows(r: BenchResults): TargetRow[] {
  const rows: TargetRow[] = [];
  for (const [id, limit] of [['10kx10', TARGETS.renderMs10k], ['44kx1', TARGETS.renderMs44k]] as const) {
    const s = byId(r, id);
    for (const x of s?.renders ?? []) {
      rows.push({
        target: `full render at ${id.replace('x', ' × ')} under ${limit / 1000} s (${x.backend})`,
        measured: `${ms(x.ms)} ms (median of ${x.runs.length}; first run ${ms(x.runs[0]!)} ms)`,
        met: x.ms < limit,
        limits:
          x.ms < limit
            ? ''
            : `one thread renders every Service and serialises the whole ${mb(x.bytes)} document (${x.lines} lines); the render itself took ${(x.peakKiB - x.rssBeforeKiB) / 1024 >= 1 ? `${((x.peakKiB - x.rssBeforeKiB) / 1024).toFixed(0)} MiB` : 'little memory'} on top of its input, so GC adds to it; the machine's load (above) inflates it too`,
      });
    }
  }
  const ten = byId(r, '10kx10');
  if (ten?.nft?.endpoint.length) {
    const xs = totals(ten.nft.endpoint);
    const p99 = quantile(xs, 0.99);
    const one = ten.nft.endpointOneShot?.length ? totals(ten.nft.endpointOneShot) : undefined;
    rows.push({
      target: 'one endpoint change at 10k Services, p99 under 50 ms (nftables, event to kernel)',
      measured: `p50 ${ms(median(xs))} ms, p99 ${ms(p99)} ms (n=${xs.length}, through the nft session)${one ? `; one-shot \`nft -j -f -\` in the same run, interleaved: p50 ${ms(median(one))} ms, p99 ${ms(quantile(one, 0.99))} ms (n=${one.length})` : ''}`,
      met: p99 < TARGETS.endpointP99Ms,
      limits:
        p99 < TARGETS.endpointP99Ms
          ? ''
          : `the \`nft\` step: p50 ${ms(median(ten.nft.endpoint.map((x) => x.nft)))} ms of the ${ms(median(xs))} ms total (render ${ms(median(ten.nft.endpoint.map((x) => x.render)))} ms, diff ${ms(median(ten.nft.endpoint.map((x) => x.diff)))} ms): nft fetches every table's chains and sets (~0.95 MB at 10k Services) for each transaction, in a long-lived \`nft -j -i\` as in a fresh one, and the kernel re-validates the shard whose chain changed; a one-element transaction alone (one-shot) takes ${ms(median(ten.nft.alone.elementOnly))} ms on this table`,
    });
  }
  if (ten?.iptables?.run.partial.length) {
    const xs = totals(ten.iptables.run.partial);
    const p99 = quantile(xs, 0.99);
    rows.push({ target: 'one endpoint change at 10k Services, p99 under 50 ms (iptables, partial sync)', measured: `p50 ${ms(median(xs))} ms, p99 ${ms(p99)} ms (n=${xs.length})`, met: p99 < TARGETS.endpointP99Ms, limits: p99 < 50 ? '' : `\`iptables-restore\`: p50 ${ms(median(ten.iptables.run.partial.map((x) => x.restore)))} ms for the few chains it writes, as every iptables-nft process first fetches the whole ruleset (110k chains); the syncer renders only the changed Service` });
  } else if (ten?.iptables) {
    rows.push({ target: 'one endpoint change at 10k Services, p99 under 50 ms (iptables)', measured: 'not measured: the 10k × 10 ruleset did not load within the limit', met: undefined, limits: '`iptables-restore` (iptables-nft) of 110k chains into an empty namespace' });
  }
  rows.push(...cliTargetRows(r.cli));
  const ratio = dataplaneRatio(r.dataplane, 'nftables');
  if (ratio) {
    rows.push({
      target: `nftables first-packet latency at ${k(ratio.hi)} other Services within 1.2× of that at ${k(ratio.lo)}`,
      measured: `p50 ${ratio.p50.toFixed(2)}×, p99 ${ratio.p99.toFixed(2)}× (${ratio.loP50.toFixed(0)} → ${ratio.hiP50.toFixed(0)} µs at p50)`,
      met: ratio.p50 <= TARGETS.firstPacketRatio,
      limits: ratio.p50 <= TARGETS.firstPacketRatio ? '' : 'see the data-plane section',
    });
  }
  for (const backend of ['nftables', 'iptables'] as const) {
    const counters = countersCostTargetRow(r, backend);
    if (counters) rows.push(counters);
  }
  rows.push(...agentMemoryTargetRows(r));
  const cluster = clusterTargetRow(r);
  if (cluster) rows.push(cluster);
  return rows;
}

const verdict = (m: TargetRow['met']) => (m === undefined ? 'not measured' : m === 'unclear' ? '**unclear**' : m ? '**met**' : '**missed**');

/** The command that made these results: the BENCH_* knobs it was given, then `npm run bench`. */
export function benchCommand(r: Pick<BenchResults, 'knobs'>): string {
  const knobs = Object.entries(r.knobs).sort(([a], [b]) => (a < b ? -1 : 1)).map(([a, b]) => `${a}=${b}`);
  return `${knobs.length ? `${knobs.join(' ')} ` : ''}npm run bench`;
}

/** Why a part has no figures in this run (BENCH_ONLY or BENCH_BACKENDS left it out), or undefined when it ran. */
function notRunReason(r: BenchResults): (part: string) => string | undefined {
  return (part) =>
    r.only && !r.only.includes(part)
      ? `Not measured in this run (it measured ${r.only.join(', ') || 'nothing'}: \`${benchCommand(r)}\`): no figures rather than an older run's; \`npm run bench\` with the default BENCH_ONLY and BENCH_BACKENDS measures it.`
      : undefined;
}

export async function writeReport(path: string, r: BenchResults): Promise<void> {
  const L: string[] = [];
  const notRun = notRunReason(r);
  const f = r.facts;
  const nft = r.scenarios.filter((s) => s.nft);
  const ipt = r.scenarios.filter((s) => s.iptables);
  const agents = [...(r.agentFloor ? [r.agentFloor] : []), ...r.scenarios.flatMap((s) => (s.agent ? [s.agent] : []))];
  L.push('# Benchmarks', '');
  L.push('Written by `npm run bench` (bench/run.ts, never part of `npm test`); re-running it replaces this file,');
  L.push(`its charts (\`${CHART_DIR}/*.svg\`) and the raw results (\`bench/results.json\`). Timings are wall-clock, from`);
  L.push('one run on one shared 2-core machine: read them as orders of magnitude, not as guarantees.', '');
  L.push('## Machine and run', '');
  if (f.commit) L.push(`- svcplane commit measured: \`${f.commit}\``);
  L.push(`- kernel: \`${f.kernel}\``);
  L.push(`- CPU: ${f.cpu}, nproc ${f.nproc}, ${f.memGiB.toFixed(0)} GiB RAM`);
  L.push(`- node ${f.node}; ${f.nft}; ${f.iptables}`);
  L.push(`- 1-minute load average: ${f.load[0].toFixed(2)} at the start, ${f.load[1].toFixed(2)} at the end (the machine is shared: compare ratios within one run)`);
  L.push(`- command: \`${benchCommand(r)}\` (every other knob at its default; bench/README.md lists them)`);
  L.push(`- date: ${r.date}; whole run ${seconds(r.wallMs)}`);
  if (r.only) L.push(`- parts measured: ${r.only.join(', ') || 'none'} only (\`BENCH_ONLY\`, \`BENCH_BACKENDS\`); every other section says it was not measured`);
  const lim = r.settings.limits;
  L.push(`- time limits: \`nft -j -f\` alone ${lim.nftLoadMs / 1000} s, \`iptables-restore\` alone ${lim.iptLoadMs / 1000} s (iptables scales above ${k(lim.iptKernelMax)} Services not tried), churn ${lim.churnMs / 1000} s, data-plane rule load ${r.settings.dataplane.loadLimitMs / 1000} s`);
  L.push('');

  L.push('## Targets', '');
  L.push('| target | measured | verdict | what limits it |');
  L.push('|---|---|---|---|');
  for (const t of targetRows(r)) L.push(`| ${t.target} | ${t.measured} | ${verdict(t.met)} | ${t.limits || '—'} |`);
  L.push('');

  L.push('## Scenarios', '');
  L.push('Synthetic input (bench/synthetic.ts): S ClusterIP Services (ClusterIPs from 10.96.0.0/12), one TCP port each,');
  L.push('E ready endpoints each (pods in 10.244.0.0/16, alternately on node1 and node2; past 65,534 endpoints in all');
  L.push('the pod addresses repeat across Services, as pods backing several Services do). Rendered for node1, coexist');
  L.push('mode, default config (cluster CIDR 10.244.0.0/16). Every kernel step runs in a throw-away network namespace');
  L.push('(`svp-bench-<pid>-…`, deleted afterwards) and every kernel tool as `ip netns exec NS …`, so every kernel figure');
  L.push('includes that process spawn, for our paths and for the tools alone alike.');
  L.push('');
  L.push('| scenario | Services | endpoints each | endpoints | why | rounds (endpoint / Service / resync / one-shot / render / iptables) |');
  L.push('|---|---|---|---|---|---|');
  for (const s of r.scenarios) {
    const sc = s.scenario;
    const R = s.rounds;
    L.push(`| ${sc.id} | ${sc.services} | ${sc.endpointsPerService} | ${endpointsOf(sc)} | ${sc.why} | ${R.endpointRounds} / ${R.serviceRounds} / ${R.resyncRounds} / ${R.oneShotRounds} / ${R.renderRuns} / ${R.iptRounds} |`);
  }
  for (const s of r.scenarios.filter((x) => x.error)) L.push('', `**${s.scenario.id} failed:** ${s.error} (what it measured before is in the tables; the rest is missing).`);
  for (const c of r.churn.slice(0, 1)) {
    L.push(`| churn | ${c.services} | ${c.endpointsPerService} | ${c.services * c.endpointsPerService} | every endpoint replaced every ${c.intervalMs / 1000} s, ${c.planned} cycles | — |`);
  }
  L.push('');

  const charts = chartsOf(r);
  if (charts.length) {
    L.push('## Charts', '');
    L.push(`Drawn by bench/charts.ts (bench/chart-svg.ts) from this run's results. Gaps are steps that were not run or did not finish within their limit.`);
    L.push('');
    for (const c of charts) L.push(`![${c.alt}](${CHART_DIR}/${c.file})`, '');
  }

  for (const [part, title] of [['render', 'Render, all backends'], ['nftables', 'nftables'], ['iptables', 'iptables'], ['churn', 'Churn'], ['dataplane', 'Data plane'], ['counters', 'Data plane: what the traffic counters cost'], ['agent', 'Agent'], ['cluster', 'Cluster']] as const) {
    const why = notRun(part);
    if (why) L.push(`## ${title}`, '', why, '');
  }
  renderSection(L, r.scenarios, r.rerender);
  cliSection(L, r, notRun);
  if (nft.length || ipt.length) controlPlaneSection(L, r);
  if (nft.length) nftSections(L, nft);
  if (ipt.length) iptablesSections(L, lim, ipt);
  churnSection(L, r.churn);
  dataplaneSection(L, r);
  countersCostSection(L, r, 'nftables');
  countersCostSection(L, r, 'iptables');
  publishedSection(L, r);
  agentSection(L, agents);
  agentMemorySection(L, r.agentMemory ?? [], r.agentMemoryNotRun ?? []);
  if (r.clusterSection) L.push(...r.clusterSection);
  else if (!notRun('cluster')) L.push('## Cluster', '', 'Not measured: the cluster part did not run in this run (results from before it was part of `npm run bench`).', '');

  L.push('## What the numbers say', '');
  if (nft.length) {
    L.push('### nftables', '');
    nftSummary(L, nft);
    L.push('');
  }
  if (ipt.length) {
    L.push('### iptables', '');
    iptablesSummary(L, lim, ipt);
    L.push('');
  }
  if (agents.length) {
    L.push('### Agent', '');
    agentSummary(L, agents);
    L.push('');
  }
  await writeFile(path, `${L.join('\n')}\n`);
}

/** One table per kernel backend: the issue's control-plane measurements side by side, one row per scenario. */
function controlPlaneSection(L: string[], r: BenchResults): void {
  L.push('## Control plane, per backend', '');
  L.push('Cells with two numbers are **p50 / p99** in ms (nearest rank: with n < 100, p99 is the max of the n rounds).');
  L.push('"Event to kernel" is the syncer call for the changed input — with the changed Service\'s key for nftables');
  L.push('(what the agent hands it), a partial sync for iptables — until the kernel tool has returned. "did not');
  L.push('finish" is the kernel tool alone killed at its time limit; the later steps of that scenario were skipped.');
  L.push('');
  const nft = r.scenarios.filter((s) => s.nft);
  if (nft.length) {
    L.push('### nftables', '');
    L.push(`| scenario | full apply (syncer) | \`nft -j -f\` alone | ratio | one endpoint change | Service added | Service removed | read-back: \`${listCommand(nft)}\` | resync (read-back + diff) |`);
    L.push('|---|---|---|---|---|---|---|---|---|');
    for (const s of nft) {
      const a = s.nft!;
      const alone = a.alone.finished ? `${ms(a.alone.load)} ms` : `**did not finish in ${seconds(a.alone.load)}**`;
      const ratio = a.full && a.alone.finished ? `${(a.full.total / a.alone.load).toFixed(2)}×` : '—';
      L.push(
        `| ${s.scenario.id} | ${a.full ? `${ms(a.full.total)} ms` : '—'} | ${alone} | ${ratio} | ${p50p99(totals(a.endpoint))} | ${p50p99(totals(a.serviceAdd))} | ${p50p99(totals(a.serviceRemove))} | ${a.alone.listJson.length ? `${ms(median(a.alone.listJson))} ms (${mb(a.alone.listJsonBytes)})` : '—'} | ${a.resync.length ? `${ms(median(totals(a.resync)))} ms` : '—'} |`,
      );
    }
    L.push('');
  }
  const ipt = r.scenarios.filter((s) => s.iptables);
  if (ipt.length) {
    L.push('### iptables', '');
    L.push('| scenario | full apply (`applyIptables`) | `iptables-restore` alone | ratio | one endpoint change (partial sync) | Service added | Service removed | read-back: `iptables-save` (in a full sync) | full sync |');
    L.push('|---|---|---|---|---|---|---|---|---|');
    for (const s of ipt) {
      const x = s.iptables!.run;
      const alone = !x.alone ? 'not tried (BENCH_IPT_KERNEL_MAX)' : x.alone.finished ? `${ms(x.alone.ms)} ms` : `**did not finish in ${seconds(x.alone.ms)}**`;
      const ratio = x.apply && x.alone?.finished ? `${(x.apply.total / x.alone.ms).toFixed(2)}×` : '—';
      L.push(
        `| ${s.scenario.id} | ${x.apply ? `${ms(x.apply.total)} ms` : '—'} | ${alone} | ${ratio} | ${p50p99(totals(x.partial))} | ${p50p99(totals(x.serviceAdd))} | ${p50p99(totals(x.serviceRemove))} | ${x.full.length ? `${ms(median(x.full.map((y) => y.save)))} ms` : '—'} | ${x.full.length ? `${ms(median(totals(x.full)))} ms` : '—'} |`,
      );
    }
    L.push('');
  }
  L.push('### ipvs', '');
  L.push('Render only (the table in "Render, all backends"): this kernel has no IPVS module, so IPVS is neither');
  L.push('applied nor timed here (its apply is tested in a VM, see test/vm).');
  L.push('');
}

/** Re-exported for the detail parts. */
export type { Sample };
