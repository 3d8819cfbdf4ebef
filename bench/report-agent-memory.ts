// The "Agent memory" part of BENCHMARKS.md (issue 16 §1): the compiled agent's peak
// RSS through first sync, resync and endpoint changes, per backend and source
// (bench/agent-memory.ts).

import type { AgentMemoryRow } from './agent-memory.js';
import { k } from './report.js';

export const TARGET_MIB = 150;
export const IDLE_TARGET_MIB = 60;
const mib = (kib: number) => (kib / 1024).toFixed(0);

/** `10k`, or `44k × 1` when a row's endpoints per Service are not the usual 10. */
export const scaleLabel = (r: Pick<AgentMemoryRow, 'services' | 'endpointsPerService'>) => (r.endpointsPerService === 10 ? k(r.services) : `${k(r.services)} × ${r.endpointsPerService}`);

export function agentMemorySection(L: string[], rows: readonly AgentMemoryRow[], notRun: readonly { backend: string; source: string; services: number; why: string }[] = []): void {
  if (rows.length === 0 && notRun.length === 0) return;
  L.push('## Agent memory', '');
  L.push('The compiled agent (`node lib/cli/main.js agent`, as in the image) in a throw-away namespace, 10 endpoints');
  L.push('per Service unless the scale says otherwise (44k × 1), `minSyncPeriod: 1s`, `syncPeriod: 60s`: offline (plan + one EndpointSlice file per Service) or');
  L.push('API mode (the in-test API server, a child process in the namespace, serving the Services and slices).');
  L.push('VmHWM (`/proc/PID/status`) after the first full sync, after the first periodic resync, and after the');
  L.push('endpoint changes (one endpoint added to each of that many Services at once; done when the kernel shows');
  L.push(`the last). Targets: < ${TARGET_MIB} MiB at 10k × 10 and 44k × 1, < ${IDLE_TARGET_MIB} MiB idle (a few Services). IPVS is not measured:`);
  L.push('this kernel has no ip_vs module (its tests run in a VM). `node --import tsx bench/agent-memory.ts SERVICES...`');
  L.push('runs one scale alone. Then /metrics is scraped as Prometheus would (3 times, 6 s apart): each scrape reads');
  L.push('the kernel\'s traffic counters (`iptables-save -c`, `ipset save`, `nft -j list table`); the last column is the');
  L.push('VmHWM after them, outside the targets\' steps, shown because every deployed agent is scraped.');
  L.push('');
  L.push('| Services | backend | source | first sync | + resync | + changes | RSS at end | changes | syncs for them | first sync (own) | resync (own) | + scrapes |');
  L.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const scraped = r.scrapes && r.hwmScrapesKiB !== undefined ? `${mib(r.hwmScrapesKiB)} MiB` : '—';
    L.push(
      `| ${scaleLabel(r)} | ${r.backend} | ${r.source} | ${mib(r.hwmFirstSyncKiB)} MiB | ${mib(r.hwmResyncKiB)} MiB | ${mib(r.hwmChangesKiB)} MiB | ${mib(r.rssEndKiB)} MiB | ${r.changes} | ${r.changeSyncs} | ${(r.firstSyncMs / 1000).toFixed(1)} s | ${(r.resyncMs / 1000).toFixed(2)} s | ${scraped} |`,
    );
  }
  L.push('');
  for (const n of notRun) L.push(`- ${k(n.services)} ${n.backend} ${n.source}: not measured — ${n.why}.`);
  if (notRun.length) L.push('');
}
