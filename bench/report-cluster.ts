// The "## Cluster" section of BENCHMARKS.md (issue 17), drawn from bench/cluster.ts's
// result alone, and the merge that puts it into an existing BENCHMARKS.md (replacing an
// earlier Cluster section, keeping everything else as the last full run wrote it).

import { readFile, writeFile } from 'node:fs/promises';
import type { ClusterBenchResult } from './cluster.js';
import type { Facts } from './report.js';
import { median, quantile } from './stats.js';

export const TARGET_P99_MS = 1000;
const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '—');
const mib = (kib: number) => kib / 1024;

/** The smallest bucket bound holding quantile q of a cumulative histogram (what Prometheus' histogram_quantile would bound). */
export function histogramBound(h: readonly { le: number; count: number }[], q: number): number {
  const total = h.at(-1)?.count ?? 0;
  if (total === 0) return NaN;
  return h.find((b) => b.count >= q * total)?.le ?? NaN;
}

export function clusterSection(r: ClusterBenchResult, facts: Facts, command: string): string[] {
  const o = r.options;
  const L: string[] = ['## Cluster', ''];
  L.push(
    `Measured by \`${command}\` (bench/cluster.ts), ${r.date}, ${(r.wallMs / 1000).toFixed(0)} s, commit ${facts.commit ?? '?'}, on ${facts.cpu} ×${facts.nproc}, ${facts.memGiB.toFixed(0)} GiB,` +
      ` kernel ${facts.kernel}, node ${facts.node}, ${facts.nft}; 1-minute load ${r.load[0].toFixed(1)} at the start, ${r.load[1].toFixed(1)} at the end (other work shares the machine).`,
    '',
    `${o.nodes} nodes of the one-machine cluster (test/cluster/README.md), each running the compiled agent (\`node lib/cli/main.js agent --backend ${o.backend}\`) in API mode` +
      ` against one API server on the underlay; ${o.services} Services × 2 endpoints; syncPeriod ${o.syncPeriod}, minSyncPeriod ${o.minSyncPeriod};` +
      ` ${o.rounds} EndpointSlice changes (one endpoint added or removed), ${o.gapMs} ms apart, each with its last-change-trigger-time.`,
    '',
  );
  if (r.error) L.push(`**The run failed:** ${r.error}`, '');
  if (r.nodes.length === 0) return L;
  const all = r.nodes.flatMap((n) => n.latencies).filter(Number.isFinite);
  const missing = r.nodes.flatMap((n) => n.latencies).filter((x) => !Number.isFinite(x)).length;
  const p99 = quantile(all, 0.99);
  const merged = mergeHistograms(r.nodes.map((n) => n.histogram));
  const cnt = r.nodes.reduce((s, n) => s + (n.histogramCount || 0), 0);
  const sum = r.nodes.reduce((s, n) => s + (n.histogramSum || 0), 0);
  L.push(
    `- **Network programming latency**, trigger time → "synced" on each node (and the node's kernel checked to hold it), over ${r.nodes.length} nodes × ${o.rounds} changes (n=${all.length}${missing ? `, ${missing} never synced within 60 s` : ''}):` +
      ` p50 **${f0(median(all))} ms**, p99 **${f0(p99)} ms**, max ${f0(Math.max(...all))} ms — target p99 under ${TARGET_P99_MS} ms at 20 nodes: **${o.nodes >= 20 && p99 < TARGET_P99_MS && missing === 0 ? 'met' : 'missed'}**` +
      `${o.nodes < 20 ? ` (measured at ${o.nodes} nodes, not 20)` : ''}.`,
    `- **The agents' own \`kubeproxy_network_programming_duration_seconds\`** (trigger times after each agent's start, as kube-proxy counts them): ${cnt} observations, mean ${f0((sum / cnt) * 1000)} ms;` +
      ` p50 ≤ ${histogramBound(merged, 0.5)} s, p99 ≤ ${histogramBound(merged, 0.99)} s (bucket bounds).`,
    `- **Kernel check:** ${r.kernelMismatches === 0 ? 'after every change, every node\'s DNAT rules had it (an added endpoint in them, a removed one gone)' : `${r.kernelMismatches} of ${o.rounds} rounds found a node whose DNAT rules did not have the change yet when its "synced" was seen`}.`,
    '',
  );
  const rss = r.nodes.map((n) => mib(n.rssKiB));
  const hwm = r.nodes.map((n) => mib(n.hwmKiB));
  const cpuRounds = r.nodes.map((n) => n.cpuRoundsSeconds / o.rounds);
  const start = r.nodes.map((n) => n.api.bytesAtStart);
  const per = r.nodes.map((n) => n.api.bytesPerChange);
  const conns = r.nodes.map((n) => n.api.openAtEnd);
  L.push(
    '| per agent (median / max over nodes) | value |',
    '|---|---|',
    `| RSS at the end | ${f0(median(rss))} / ${f0(Math.max(...rss))} MiB |`,
    `| peak RSS (VmHWM) | ${f0(median(hwm))} / ${f0(Math.max(...hwm))} MiB |`,
    `| CPU, whole run (start, first sync, changes) | ${median(r.nodes.map((n) => n.cpuSeconds)).toFixed(1)} / ${Math.max(...r.nodes.map((n) => n.cpuSeconds)).toFixed(1)} s |`,
    `| CPU per change (during the rounds, periodic full syncs included) | ${f0(median(cpuRounds) * 1000)} / ${f0(Math.max(...cpuRounds) * 1000)} ms |`,
    ...fullSyncRow(r),
    `| first sync (full, ${o.services} Services) | ${f0(median(r.nodes.map((n) => n.firstSyncMs)))} / ${f0(Math.max(...r.nodes.map((n) => n.firstSyncMs)))} ms |`,
    `| start → ready (agents started five at a time) | ${f0(median(r.nodes.map((n) => n.startToReadyMs)))} / ${f0(Math.max(...r.nodes.map((n) => n.startToReadyMs)))} ms |`,
    `| API server: open connections (watches) | ${median(conns)} / ${Math.max(...conns)} |`,
    `| API server: bytes sent at start (lists, first watch events) | ${f0(median(start) / 1024)} / ${f0(Math.max(...start) / 1024)} KiB |`,
    `| API server: bytes sent per change | ${f0(median(per))} / ${f0(Math.max(...per))} B |`,
    '',
    `Open watches at the end, all agents: ${Object.entries(r.watches).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    '',
  );
  return L;
}

/** Periodic full syncs within the rounds, per agent: how many, and how long each took (older results lack them). */
function fullSyncRow(r: ClusterBenchResult): string[] {
  const per = r.nodes.map((n) => n.fullSyncsDuringRoundsMs);
  if (per.some((x) => x === undefined)) return [];
  const counts = per.map((x) => x!.length);
  const ms = per.flatMap((x) => x!);
  return [`| periodic full syncs during the rounds: count; duration each | ${median(counts)} / ${Math.max(...counts)}; ${f0(median(ms))} / ${f0(Math.max(...ms))} ms |`];
}

function mergeHistograms(hs: readonly { le: number; count: number }[][]): { le: number; count: number }[] {
  const out = new Map<number, number>();
  for (const h of hs) for (const b of h) out.set(b.le, (out.get(b.le) ?? 0) + b.count);
  return [...out].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count }));
}

/** Replaces (or adds, before "## What the numbers say") the Cluster section of BENCHMARKS.md. */
/** The lines of a report's Cluster section (up to the next `## ` heading), if it has one. */
export function clusterSectionOf(text: string): string[] | undefined {
  const start = text.search(/^## Cluster\n/m);
  if (start < 0) return undefined;
  const rest = text.slice(start + 1);
  const next = rest.search(/^## /m);
  return text.slice(start, next < 0 ? undefined : start + 1 + next).trimEnd().split('\n').concat('');
}

export async function mergeClusterReport(path: string, section: readonly string[]): Promise<void> {
  let text = await readFile(path, 'utf8').catch(() => '# Benchmarks\n');
  const start = text.search(/^## Cluster\n/m);
  if (start >= 0) {
    const rest = text.slice(start + 1);
    const next = rest.search(/^## /m);
    text = text.slice(0, start) + (next < 0 ? '' : rest.slice(next));
  }
  const sec = `${section.join('\n')}\n`;
  const at = text.search(/^## What the numbers say\n/m);
  text = at < 0 ? `${text.trimEnd()}\n\n${sec}` : text.slice(0, at) + sec + text.slice(at);
  await writeFile(path, text);
}
