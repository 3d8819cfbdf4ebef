// The report's comparison with kube-proxy's published figures (published.ts), ours beside.

import { dataplaneRatio } from './report-dataplane.js';
import { ms, p50p99, seconds, totals } from './report.js';
import type { BenchResults } from './results.js';
import { PUBLISHED, type Published } from './published.js';
import { quantile } from './stats.js';

function ours(r: BenchResults, p: Published): string {
  const s = r.scenarios.find((x) => x.scenario.id === p.scenario);
  switch (p.ours) {
    case 'serviceAdd': {
      const xs = totals(s?.nft?.serviceAdd);
      return xs.length ? `nftables, one Service added at ${p.scenario}: p50 / p99 ${p50p99(xs)} ms` : 'not measured in this run';
    }
    case 'fullSync': {
      const a = s?.nft;
      if (!a) return 'not measured in this run';
      if (!a.full) return `\`nft -j -f\` alone did not finish in ${seconds(a.alone.load)}`;
      const resync = a.resync.length ? `; resync with nothing changed (read-back + diff) ${seconds(a.resync[0]!.total)}` : '';
      return `nftables at ${p.scenario}: full sync into an empty namespace ${seconds(a.full.total)} (\`nft -j -f\` alone ${seconds(a.alone.load)})${resync}; one endpoint change p99 ${ms(quantile(totals(a.endpoint), 0.99))} ms`;
    }
    case 'iptPartial': {
      const x = s?.iptables?.run;
      if (!x) return 'not measured in this run';
      if (x.partial.length) return `iptables at ${p.scenario}: one endpoint change by partial sync p50 / p99 ${p50p99(totals(x.partial))} ms, full sync p50 ${ms(quantile(totals(x.full), 0.5))} ms`;
      const alone = x.alone;
      return `iptables at ${p.scenario}: ${alone && !alone.finished ? `the ruleset did not load within ${seconds(alone.ms)}, so no sync was timed;` : ''} the partial sync's pure render + diff p50 ${ms(quantile(x.pure.renderDiff, 0.5))} ms, touching ${[...new Set(x.pure.chains)].join(', ')} chains`;
    }
    case 'firstPacket': {
      const n = dataplaneRatio(r.dataplane, 'nftables');
      const i = dataplaneRatio(r.dataplane, 'iptables');
      const part = (b: string, q: ReturnType<typeof dataplaneRatio>) => (q ? `${b} p50 ${q.p50.toFixed(2)}× from ${q.lo} to ${q.hi} other Services` : `${b}: not measured`);
      return `${part('nftables', n)}; ${part('iptables', i)} (the data-plane section)`;
    }
  }
}

export function publishedSection(L: string[], r: BenchResults): void {
  L.push('## kube-proxy\'s published figures beside ours', '');
  L.push('Quoted from their sources; their machines are far larger than this 2-core VM and run a whole cluster, ours');
  L.push('times one node\'s rules in a namespace: compare orders of magnitude and how each grows, not the digits.');
  L.push('');
  L.push('| published | figure | source | ours (this run) |');
  L.push('|---|---|---|---|');
  for (const p of PUBLISHED) L.push(`| ${p.what} | ${p.figure} | [${p.sourceTitle}](${p.source}) | ${ours(r, p)} |`);
  L.push('');
}
