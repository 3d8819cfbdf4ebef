// The report's render part: every backend on every scenario, each in a child process
// (render-memory.ts), with the render's own peak memory.

import type { BenchResults, ScenarioResult } from './results.js';
import { mb, ms } from './report.js';

const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;

export function renderSection(L: string[], results: readonly ScenarioResult[], rerender?: BenchResults['rerender']): void {
  if (results.every((s) => s.renders.length === 0)) return;
  L.push('## Render, all backends', '');
  if (rerender) {
    L.push(`Measured again after the run (\`BENCH_RERENDER=1\`), ${rerender.date}, 1-minute load ${rerender.load[0].toFixed(2)} → ${rerender.load[1].toFixed(2)}: the full run's`);
    L.push('renders ran while the shared machine was busy and took up to 3× longer.');
    L.push('');
  }
  L.push('`backend.render(input)` (render + serialise, what `svcplane render` prints) in a child process of its own');
  L.push('per backend and scenario: the input is built, a GC runs, the kernel\'s RSS high-water mark is reset');
  L.push('(`echo 5 > /proc/self/clear_refs`), the first render runs and `VmHWM` is read; the remaining runs time only.');
  L.push('"peak − before" is what the render itself took on top of the process with its input; "peak" is the whole');
  L.push('process (node + tsx + input + render). The median is over the runs, the first of which is cold (JIT).');
  L.push('IPVS: render only — this kernel has no IPVS module, so nothing is applied for it here.');
  L.push('');
  L.push('| scenario | backend | render (median) | first run | runs | × nftables | document | lines | peak − before | peak (VmHWM) |');
  L.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const s of results) {
    const nft = s.renders.find((x) => x.backend === 'nftables');
    for (const x of s.renders) {
      const ratio = nft ? `${(x.ms / nft.ms).toFixed(2)}×` : '—';
      L.push(`| ${s.scenario.id} | ${x.backend} | ${ms(x.ms)} ms | ${ms(x.runs[0]!)} ms | ${x.runs.length} | ${ratio} | ${mb(x.bytes)} | ${x.lines} | ${mib(x.peakKiB - x.rssBeforeKiB)} | ${mib(x.peakKiB)} |`);
    }
  }
  L.push('');
}
