// The report's render comparison: every selected backend on the same input, one run.

import type { BackendScale } from './report.js';
import { k, mb, ms } from './report.js';

export function renderSection(L: string[], results: readonly BackendScale[]): void {
  if (results.every((s) => s.renders.length === 0)) return;
  L.push('## Render, all backends (pure, in process)', '');
  L.push('`backend.render(input)` (render + serialize, what `svcplane render` does), median of the runs; the');
  L.push('backends take turns within each repetition. The ratio is to the nftables render of the same input');
  L.push('(the machine is shared and noisy: compare ratios, not absolute times, across runs).');
  L.push('');
  L.push('| Services × endpoints | backend | render (median) | runs (ms) | × nftables | document | lines |');
  L.push('|---|---|---|---|---|---|---|');
  for (const s of results) {
    const nft = s.renders.find((x) => x.backend === 'nftables');
    for (const x of s.renders) {
      const ratio = nft ? `${(x.ms / nft.ms).toFixed(2)}×` : '—';
      L.push(`| ${k(s.services)} × 10 | ${x.backend} | ${ms(x.ms)} ms | ${x.all.map(ms).join(', ')} | ${ratio} | ${mb(x.bytes)} | ${x.lines} |`);
    }
  }
  L.push('');
}

export function renderSummary(L: string[], results: readonly BackendScale[]): void {
  L.push('### Render', '');
  for (const s of results) {
    if (s.renders.length === 0) continue;
    const parts = s.renders.map((x) => `${x.backend} ${ms(x.ms)} ms / ${mb(x.bytes)}`).join(', ');
    const big = s.services === 10000;
    const targets = big ? ` Target under 1 s at 10k: ${s.renders.map((x) => `${x.backend} **${x.ms < 1000 ? 'met' : 'missed'}**${Math.abs(x.ms - 1000) < 100 ? ' (within 10% of the limit: on this shared machine, noise decides)' : ''}`).join(', ')}.` : '';
    L.push(`- ${k(s.services)} × 10: ${parts}.${targets}`);
  }
  // Growth per Service between the smallest and largest scale: what each backend writes per Service (10 endpoints).
  if (results.length > 1) {
    const lo = results[0]!;
    const hi = results[results.length - 1]!;
    const per = hi.renders.map((x) => {
      const y = lo.renders.find((z) => z.backend === x.backend);
      return y ? `${x.backend} ${((x.bytes - y.bytes) / (hi.services - lo.services) / 1000).toFixed(2)} kB and ${((x.lines - y.lines) / (hi.services - lo.services)).toFixed(1)} lines` : '';
    });
    L.push(`- Per added Service (10 endpoints), from ${k(lo.services)} to ${k(hi.services)}: ${per.filter(Boolean).join('; ')}.`);
  }
}
