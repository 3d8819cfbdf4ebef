// The comparison behind differential.test.ts: one generated input rendered by the
// three backends, every probe traced through each rendering, and the answers
// compared except where known-differences.ts excuses a backend.

import { getBackend } from '../../src/backends/registry.js';
import { documentTracer, renderNodeFacts } from '../../src/trace/index.js';
import type { TraceResult } from '../../src/backends/trace-result.js';
import type { BackendName } from './cases.js';
import { KNOWN_DIFFERENCES, probeView } from './known-differences.js';
import type { Scenario } from './scenarios.js';

export const BACKENDS: readonly BackendName[] = ['nftables', 'iptables', 'ipvs'];

/** What must agree: verdict and endpoints, and masquerade for DNATed packets. */
const summary = (r: TraceResult) => JSON.stringify({ verdict: r.verdict, endpoints: r.endpoints, ...(r.verdict === 'dnat' ? { masquerade: r.masquerade } : {}) });

/**
 * Every disagreement no known difference explains, as readable text. `used`
 * counts, per known difference, the packets where it excused a real difference.
 */
export function unexplained(sc: Scenario, used?: Map<string, number>): string[] {
  const node = renderNodeFacts(sc.input);
  const tracers = new Map(BACKENDS.map((b) => [b, documentTracer(b, getBackend(b).render(sc.input), node)]));
  const out: string[] = [];
  for (const p of sc.probes) {
    const v = probeView(sc.input, p);
    const reasons = KNOWN_DIFFERENCES.filter((d) => d.applies(p, v));
    const excluded = new Set(reasons.flatMap((d) => d.excludes));
    const answers = new Map(BACKENDS.map((b) => [b, summary(tracers.get(b)!(p.packet))]));
    const compared = new Set(BACKENDS.filter((b) => !excluded.has(b)).map((b) => answers.get(b)));
    if (compared.size > 1) {
      out.push(`${p.target} from ${p.source} ${JSON.stringify(p.packet)} (Service ${p.service?.name ?? '-'}):\n` +
        BACKENDS.map((b) => `  ${b}${excluded.has(b) ? ' (excused)' : ''}: ${answers.get(b)}`).join('\n'));
    } else if (used && new Set(answers.values()).size > 1) {
      for (const d of reasons) used.set(d.id, (used.get(d.id) ?? 0) + 1);
    }
  }
  return out;
}
