// The report's churn part: every endpoint replaced every interval, per backend.

import type { ChurnResult } from './churn.js';
import { mb, ms, p50p99, seconds } from './report.js';
import { max, median } from './stats.js';

export function churnSection(L: string[], results: readonly ChurnResult[]): void {
  if (results.length === 0) return;
  const c0 = results[0]!;
  L.push('## Churn', '');
  L.push(`${c0.services} Services × ${c0.endpointsPerService} endpoints; every ${c0.intervalMs / 1000} s every endpoint of every Service is replaced by`);
  L.push(`another pod address, ${c0.planned} times (bench/churn.ts). Each cycle hands the syncer the new input with every Service`);
  L.push('changed and times the sync (event to kernel). A cycle is due at start + k × interval; when the previous sync');
  L.push('overran the interval it starts late, and "late" says by how much. No cycle starts after the churn time limit');
  L.push(`(${seconds(c0.limitMs)}). iptables first loads the ruleset with \`iptables-restore\` alone under its limit; past it the cycles are`);
  L.push('not run.');
  L.push('');
  L.push('| backend | initial load | cycles run | sync p50 / p99 (ms) | max | late p50 / max (ms) | kept up (sync < interval) | objects per cycle | transaction |');
  L.push('|---|---|---|---|---|---|---|---|---|');
  for (const c of results) {
    const syncs = c.cycles.map((x) => x.sync);
    const late = c.cycles.map((x) => x.late);
    const init = c.initial.finished ? `${ms(c.initial.ms)} ms` : `**did not finish in ${seconds(c.initial.ms)}**`;
    const kept = c.cycles.filter((x) => x.sync < c.intervalMs).length;
    L.push(
      `| ${c.backend} | ${init} | ${c.cycles.length} of ${c.planned} | ${p50p99(syncs)} | ${ms(max(syncs))} | ${c.cycles.length ? `${ms(median(late))} / ${ms(max(late))}` : '—'} | ${c.cycles.length ? `${kept} of ${c.cycles.length}` : '—'} | ${c.cycles.length ? median(c.cycles.map((x) => x.changes)) : '—'} | ${c.cycles.length ? mb(median(c.cycles.map((x) => x.transactionBytes))) : '—'} |`,
    );
  }
  L.push('');
}
