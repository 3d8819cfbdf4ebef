// Writes BENCHMARKS.md from the benchmark's measurements: machine facts, the command,
// the date, tables, and the targets stated plainly as met or missed.

import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import type { AgentResult } from './agent-scale.js';
import type { ApplyResult, Rounds, Sample } from './apply-scale.js';
import { agentSection, agentSummary } from './report-agent.js';
import type { IptablesOptions, IptablesResult } from './iptables-scale.js';
import { iptablesSections, iptablesSummary } from './report-iptables.js';
import { renderSection, renderSummary } from './report-render.js';
import type { RenderRow } from './render-compare.js';
import type { NatCounts } from './rule-counts.js';
import { max, median } from './stats.js';

export interface ScaleResult {
  services: number;
  endpoints: number;
  render: { runs: number; backendRender: number; renderTables: number; serializeTables: number; documentBytes: number; documentLines: number };
  apply: ApplyResult;
}

/** Everything measured at one scale; a backend's part is absent when it was not selected. */
export interface BackendScale {
  services: number;
  renders: RenderRow[];
  nft?: ScaleResult;
  iptables?: { counts: NatCounts; run: IptablesResult };
  agent?: AgentResult;
}

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
}

export async function machineFacts(loadAtStart: number): Promise<Facts> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const meminfo = await readFile('/proc/meminfo', 'utf8').catch(() => '');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  const memKiB = Number(/^MemTotal:\s*(\d+)/m.exec(meminfo)?.[1] ?? NaN);
  const nft = await execa('nft', ['--version'], { reject: false });
  const uname = await execa('uname', ['-r'], { reject: false });
  const ipt = await execa('iptables', ['--version'], { reject: false });
  return { kernel: uname.stdout.trim(), cpu: model, nproc: cpus().length, memGiB: memKiB / 2 ** 20, node: process.version, nft: nft.stdout.trim(), iptables: ipt.stdout.trim(), load: [loadAtStart, loadavg()[0]!] };
}

export const ms = (x: number) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toFixed(1)) : '—');
export const mb = (b: number) => (b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : `${(b / 1e3).toFixed(1)} kB`);
export const k = (n: number) => (n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));

type Part = 'total' | 'render' | 'readBack' | 'diff' | 'nft';
const col = (xs: readonly Sample[], p: Part) => xs.map((x) => x[p] ?? 0);
/** "p50 / max" of one part over samples. */
const pm = (xs: readonly Sample[], p: Part) => `${ms(median(col(xs, p)))} / ${ms(max(col(xs, p)))}`;
const distinct = (xs: readonly number[]) => [...new Set(xs)].sort((a, b) => a - b).join(', ');

function samplesTable(L: string[], rows: { label: string; xs: readonly Sample[] }[], withReadBack: boolean): void {
  L.push(`| | n | total | render | ${withReadBack ? 'read-back | ' : ''}diff | nft (send) | objects changed | transaction |`);
  L.push(`|---|---|---|---|---|${withReadBack ? '---|' : ''}---|---|---|---|`);
  for (const { label, xs } of rows) {
    L.push(
      `| ${label} | ${xs.length} | ${pm(xs, 'total')} | ${pm(xs, 'render')} | ${withReadBack ? `${pm(xs, 'readBack')} | ` : ''}${pm(xs, 'diff')} | ${pm(xs, 'nft')} | ${distinct(xs.map((x) => x.changes))} | ${mb(median(xs.map((x) => x.transactionBytes)))} |`,
    );
  }
  L.push('');
}

/** The parts of a sample set, largest median first: "nft 12 ms, render 0.3 ms, ...". */
function where(xs: readonly Sample[], parts: Part[]): string {
  return parts
    .map((p) => [p, median(col(xs, p))] as const)
    .sort((a, b) => b[1] - a[1])
    .map(([p, v]) => `${p} ${ms(v)} ms`)
    .join(', ');
}

function isDefault(scales: number[], R: Rounds): boolean {
  return scales.join(',') === '1000,10000' && R.endpointRounds === 20 && R.serviceRounds === 10 && R.resyncRounds === 3 && R.oneShotRounds === 3;
}

export async function writeReport(
  path: string,
  r: { facts: Facts; scales: number[]; rounds: Rounds; ipt: IptablesOptions; backends: string[]; results: BackendScale[]; wallMs: number; date: string },
): Promise<void> {
  const L: string[] = [];
  const f = r.facts;
  const R = r.rounds;
  const nft = r.results.flatMap((s) => (s.nft ? [s.nft] : []));
  const ipt = r.results.flatMap((s) => (s.iptables ? [s.iptables] : []));
  const agents = r.results.flatMap((s) => (s.agent ? [s.agent] : []));
  L.push('# Benchmarks', '');
  L.push('Written by `npm run bench` (bench/run.ts); re-running it replaces this file. Timings are wall-clock,');
  L.push('from one run on one machine: read them as orders of magnitude, not as guarantees.', '');
  L.push('## Machine and run', '');
  L.push(`- kernel: \`${f.kernel}\``);
  L.push(`- CPU: ${f.cpu}, nproc ${f.nproc}, ${f.memGiB.toFixed(0)} GiB RAM`);
  L.push(`- node ${f.node}; ${f.nft}; ${f.iptables}`);
  L.push(`- 1-minute load average: ${f.load[0].toFixed(2)} at the start, ${f.load[1].toFixed(2)} at the end (the machine is shared: compare ratios within one run)`);
  L.push(
    `- command: \`BENCH_BACKENDS=${r.backends.join(',')} BENCH_SCALES=${r.scales.join(',')} BENCH_ROUNDS=${R.endpointRounds} BENCH_SERVICE_ROUNDS=${R.serviceRounds} BENCH_RESYNC_ROUNDS=${R.resyncRounds} BENCH_ONESHOT_ROUNDS=${R.oneShotRounds}` +
      ` BENCH_IPT_ROUNDS=${r.ipt.rounds} BENCH_IPT_LOAD_LIMIT_S=${r.ipt.loadTimeoutMs / 1000} BENCH_IPT_KERNEL_MAX=${r.ipt.maxKernelScale} npm run bench\`` +
      `${isDefault(r.scales, R) && r.backends.join(',') === 'nftables,iptables,ipvs,agent' && r.ipt.rounds === 10 && r.ipt.loadTimeoutMs === 60000 && r.ipt.maxKernelScale === 10000 ? ' (the defaults)' : ''}`,
  );
  L.push(`- date: ${r.date}; whole run ${(r.wallMs / 1000).toFixed(0)} s`);
  L.push('');
  L.push('Input: S ClusterIP Services (ClusterIPs from 10.96.0.0/12), one TCP port each, 10 ready endpoints');
  L.push('each (10.244.0.0/16, alternately on node1 and node2; at 10k Services pod addresses repeat across');
  L.push('Services, as pods backing several Services do). Rendered for node1, coexist mode, default config');
  L.push('(cluster CIDR 10.244.0.0/16 as the local-traffic detector). Every apply runs in a throw-away network');
  L.push('namespace (`svp-bench-<pid>-<scale>-…`, deleted afterwards); each kernel tool runs as');
  L.push('`ip netns exec NS …`, so every kernel figure below includes that process spawn, for our apply');
  L.push('paths and for the tools alone alike.');
  L.push('');
  renderSection(L, r.results.filter((s) => s.renders.length > 0)); // the agent's floor run has no renders
  if (nft.length > 0) {
    L.push('## nftables', '');
    L.push('Tables give **p50 / max** over n rounds (with n < 100, p99 is the max), in ms. "nft (send)" is');
    L.push('`documentText` + `nft -j -f -` of the transaction; "read-back" is `nft -j list table` of both');
    L.push('families + parse. "total" is wall time around the call (it also holds small steps not listed).');
    L.push('');
    nftSections(L, R, nft);
  }
  if (ipt.length > 0) iptablesSections(L, r.ipt, ipt);
  agentSection(L, agents);
  L.push('## What the numbers say', '');
  renderSummary(L, r.results.filter((s) => s.renders.length > 0));
  if (nft.length > 0) {
    L.push('', '### nftables', '');
    nftSummary(L, nft);
  }
  if (ipt.length > 0) {
    L.push('', '### iptables', '');
    iptablesSummary(L, r.ipt, ipt);
  }
  if (agents.length > 0) {
    L.push('', '### Agent', '');
    agentSummary(L, agents);
  }
  L.push('');
  await writeFile(path, `${L.join('\n')}`);
}

function nftSections(L: string[], R: Rounds, results: readonly ScaleResult[]): void {
  L.push('### Render (pure, in process)', '');
  L.push('| Services × endpoints | `nftablesBackend.render` | `renderTables` | `serializeTables` | document | lines | runs |');
  L.push('|---|---|---|---|---|---|---|');
  for (const s of results) {
    const x = s.render;
    L.push(`| ${k(s.services)} × 10 | ${ms(x.backendRender)} ms | ${ms(x.renderTables)} ms | ${ms(x.serializeTables)} ms | ${mb(x.documentBytes)} | ${x.documentLines} | ${x.runs} (median) |`);
  }
  L.push('');

  L.push('### Full load into an empty namespace', '');
  L.push('The syncer\'s first `sync(input)` (render, read back — nothing there —, diff, load), beside');
  L.push('`nft -j -f FILE` alone loading the rendered document into another fresh namespace.');
  L.push('');
  L.push('| Services | syncer full sync | render | read-back | diff | nft (send) | `nft -j -f` alone | sync / alone | transaction |');
  L.push('|---|---|---|---|---|---|---|---|---|');
  for (const s of results) {
    const a = s.apply.full;
    const alone = s.apply.alone.load;
    L.push(`| ${k(s.services)} | ${ms(a.total)} ms | ${ms(a.render)} ms | ${ms(a.readBack ?? NaN)} ms | ${ms(a.diff)} ms | ${ms(a.nft)} ms | ${ms(alone)} ms | ${(a.total / alone).toFixed(2)}× | ${mb(a.transactionBytes)}, ${a.changes} objects |`);
  }
  L.push('');

  L.push('### One endpoint change (the agent\'s path)', '');
  L.push(`\`syncer.sync(input', new Set([key]))\` after the full load: ${R.endpointRounds} rounds, alternately one endpoint added to and`);
  L.push('one removed from a Service, a different Service each round (spread over the list).');
  L.push('');
  samplesTable(L, results.map((s) => ({ label: `${k(s.services)} Services`, xs: s.apply.endpoint })), false);

  L.push('### One Service added, one removed', '');
  L.push(`Through the syncer with the Service's key as the change list: ${R.serviceRounds} rounds, each adding a new Service (10 endpoints) and`);
  L.push('removing an existing one.');
  L.push('');
  samplesTable(
    L,
    results.flatMap((s) => [
      { label: `${k(s.services)}: Service added`, xs: s.apply.serviceAdd },
      { label: `${k(s.services)}: Service removed`, xs: s.apply.serviceRemove },
    ]),
    false,
  );

  L.push('### Resync with nothing changed', '');
  L.push('`syncer.sync(input)` without a change list after all the changes above: a full render, read-back and');
  L.push('diff (what a periodic resync costs). It must find nothing to change: the first one also checks');
  L.push('that the incremental syncs left the kernel equal to a full render.');
  L.push('');
  samplesTable(L, results.map((s) => ({ label: `${k(s.services)} Services`, xs: s.apply.resync })), true);

  L.push('### One endpoint change through the one-shot apply path', '');
  L.push('What `applyNftables` (the CLI `apply`) does for any change: render everything, read both tables back,');
  L.push('`diffTables`, one transaction. Timed step by step in the namespace; it leaves out the two steps');
  L.push('`applyNftables` does in the caller\'s own namespace (local addresses, sysctls).');
  L.push('');
  samplesTable(L, results.map((s) => ({ label: `${k(s.services)} Services`, xs: s.apply.oneShot })), true);

  L.push('### `nft` alone', '');
  L.push('After `nft -j -f` alone, in its namespace: `nft -j list table ip svcplane` (the ip6 table is a small');
  L.push('skeleton), and a transaction of one set element (`hairpin`) added or deleted — no chain touched —,');
  L.push('the floor of any transaction on a table this size. Process spawn (`ip netns exec`) included.');
  L.push('');
  L.push('| Services | `nft -j list table` p50 / max | n | JSON size | one-element transaction p50 / max | n |');
  L.push('|---|---|---|---|---|---|');
  for (const s of results) {
    const a = s.apply.alone;
    L.push(`| ${k(s.services)} | ${ms(median(a.listJson))} / ${ms(max(a.listJson))} ms | ${a.listJson.length} | ${mb(a.listJsonBytes)} | ${ms(median(a.elementOnly))} / ${ms(max(a.elementOnly))} ms | ${a.elementOnly.length} |`);
  }
  L.push('');

}

function nftSummary(L: string[], results: readonly ScaleResult[]): void {
  for (const s of results) {
    const a = s.apply;
    const S = k(s.services);
    const ep = a.endpoint;
    const epP50 = median(col(ep, 'total'));
    const epMax = max(col(ep, 'total'));
    const big = s.services === 10000;
    L.push(`- **${S} Services.**`);
    L.push(
      `  One endpoint change through the syncer: p50 ${ms(epP50)} ms, max ${ms(epMax)} ms (n=${ep.length})` +
        (big ? ` — target under 50 ms: **${epMax < 50 ? 'met (every round)' : epP50 < 50 ? 'met at p50, missed at the max' : 'missed'}**.` : '.'),
    );
    L.push(`  Where it goes (p50): ${where(ep, ['nft', 'render', 'diff'])}; the rest of the total is the syncer's own bookkeeping.`);
    L.push(
      `  A one-element transaction alone costs ${ms(median(a.alone.elementOnly))} ms at this size; an endpoint change also flushes and rewrites the` +
        ` Service's policy chain, and the gap to its nft step (${ms(median(col(ep, 'nft')))} ms) is what touching a chain costs nft on a table this size.`,
    );
    L.push(`  Render: ${ms(s.render.backendRender)} ms` + (big ? ` — target under 1 s: **${s.render.backendRender < 1000 ? 'met' : 'missed'}**.` : '.'));
    L.push(
      `  Full load: syncer ${ms(a.full.total)} ms (${where([a.full], ['nft', 'render', 'diff', 'readBack'])}) against ${ms(a.alone.load)} ms for \`nft -j -f\` alone.`,
    );
    L.push(
      `  Service added / removed (p50): ${ms(median(col(a.serviceAdd, 'total')))} / ${ms(median(col(a.serviceRemove, 'total')))} ms.` +
        ` Resync with nothing changed: p50 ${ms(median(col(a.resync, 'total')))} ms (${where(a.resync, ['readBack', 'render', 'diff'])}), objects changed: ${distinct(a.resync.map((x) => x.changes))}.`,
    );
    L.push(
      `  One-shot apply of one endpoint change: p50 ${ms(median(col(a.oneShot, 'total')))} ms (${where(a.oneShot, ['render', 'readBack', 'diff', 'nft'])}),` +
        ` ${(median(col(a.oneShot, 'total')) / epP50).toFixed(0)}× the syncer's p50: it renders, reads back and diffs the whole table for any change.`,
    );
    const badResync = a.resync.some((x) => x.changes !== 0);
    if (badResync) L.push(`  **A resync with nothing changed found changes: the incremental syncs had left the kernel different from a full render.**`);
  }
}
