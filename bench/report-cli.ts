// The report's CLI part: `svcplane plan -f` / `render -f` of the synthetic List as whole
// processes (bench/cli.ts), and one Service's render beside `node -e 0`.

import { cliMedianMs, isOneServiceRow, type CliResult, type CliRow } from './cli.js';
import type { BenchResults } from './results.js';
import { mb, ms } from './report.js';
import { median } from './stats.js';

export const CLI_TARGETS = { renderFileMs: 2000, oneServiceRatio: 3 } as const;

const mib = (kib: number) => (Number.isFinite(kib) ? `${(kib / 1024).toFixed(0)} MiB` : '—');

/** `N× (node -e 0: M ms)` of a row run beside `node -e 0`; undefined for an older row without a baseline. */
function versusNode(row: CliRow): string | undefined {
  if (!row.ratios?.length || !row.baseline?.length) return undefined;
  return `${median(row.ratios).toFixed(2)}× (node -e 0: ${ms(median(row.baseline.map((x) => x.ms)))} ms)`;
}

export function cliSection(L: string[], r: BenchResults, notRun: (part: string) => string | undefined): void {
  L.push('## The CLI, end to end', '');
  const why = notRun('cli');
  if (why || !r.cli) {
    L.push(why ?? 'Not measured in this run.', '');
    return;
  }
  const c = r.cli;
  L.push(`\`node lib/cli/main.js …\` (the compiled CLI, built by the run) timed from spawn to exit, ${c.rows[0]?.runs.length ?? 0} runs each; peak`);
  L.push(`is the process's VmHWM. Input: the ${c.services / 1000}k × ${c.endpointsPerService} synthetic cluster as one JSON List (${mb(c.inputBytes)}: Services,`);
  L.push('EndpointSlices, node1, a ServiceCIDR and a KubeProxyConfiguration; bench/synthetic-manifests.ts), so each figure is');
  L.push('reading, validating, rendering and writing. Every command runs in turn with `node -e 0` (A B A B, after one');
  L.push('uncounted pair): the ratio is the median of the per-pair ratios, and `node -e 0`\'s own time says how fast the');
  L.push('machine was while the row ran (this host is shared: its speed moves by 2× between runs).');
  L.push('');
  L.push('| command | wall (median) | min – max | peak (median) | output | vs `node -e 0` |');
  L.push('|---|---|---|---|---|---|');
  for (const row of c.rows) {
    const xs = row.runs.map((x) => x.ms);
    const vs = versusNode(row) ?? '—';
    L.push(`| \`${row.command}\` | ${ms(cliMedianMs(row))} ms | ${ms(Math.min(...xs))} – ${ms(Math.max(...xs))} ms | ${mib(median(row.runs.map((x) => x.peakKiB)))} | ${mb(row.outputBytes)} | ${vs} |`);
  }
  L.push('');
}

/** The Targets table's CLI rows. */
export function cliTargetRows(c: CliResult | undefined): Array<{ target: string; measured: string; met: boolean | undefined; limits: string }> {
  if (!c) return [];
  const out = [];
  for (const row of c.rows.filter((x) => x.backend === 'nftables' || x.backend === 'iptables')) {
    if (isOneServiceRow(row)) continue;
    const m = cliMedianMs(row);
    const vs = versusNode(row);
    out.push({
      target: `\`svcplane render -f\` of a ${c.services / 1000}k × ${c.endpointsPerService} JSON List under ${CLI_TARGETS.renderFileMs / 1000} s (${row.backend})`,
      measured: `${ms(m)} ms (median of ${row.runs.length}${vs ? `; ${vs}` : ''})`,
      met: m < CLI_TARGETS.renderFileMs,
      limits: m < CLI_TARGETS.renderFileMs
        ? ''
        : `reading and validating every object, then the render of the whole document in one thread (see "The CLI, end to end")${vs ? '; how fast the machine was then: the `node -e 0` beside it' : ''}`,
    });
  }
  const one = c.rows.find(isOneServiceRow);
  if (one) {
    const ratio = median(one.ratios!);
    out.push({
      target: `render of one Service within ${CLI_TARGETS.oneServiceRatio}× \`node -e 0\``,
      measured: `${ratio.toFixed(2)}× (${ms(cliMedianMs(one))} ms)`,
      met: ratio <= CLI_TARGETS.oneServiceRatio,
      limits: ratio <= CLI_TARGETS.oneServiceRatio ? '' : 'module loading: zod (the plan and config schemas, built at import), yaml, commander and every backend',
    });
  }
  return out;
}
