// `svcplane diff`'s three outputs: plain words (one line per change), markdown for a
// pull-request comment (a summary table, the details folded in <details>), and JSON.
// Same report, same bytes: no clock, no environment. Pure.

import { countWords } from './rulesets.js';
import { hasDifferences, type BackendChanges, type DiffReport, type ServiceDiff } from './report.js';

const NODE_WIDE = 'node-wide';

function ruleLines(rules: readonly BackendChanges[]): string[] {
  return rules.map((r) => `${r.backend}: ${countWords(r.objects)}`);
}

/** Every line of one Service (or of the node-wide part), without its name. */
function serviceLines(s: ServiceDiff): string[] {
  return [...s.changes, ...ruleLines(s.rules)];
}

/** One line per change: `ns/name: what`. Sorted by Service, node-wide last. */
export function formatText(r: DiffReport): string {
  const lines: string[] = [];
  for (const s of r.services) for (const l of serviceLines(s)) lines.push(`${s.service}: ${l}`);
  for (const l of ruleLines(r.nodeWide)) lines.push(`${NODE_WIDE}: ${l}`);
  return lines.length ? lines.join('\n') + '\n' : '';
}

/** Markdown table cells hold no pipe and no newline. */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** `+3 −1 ~2` for a table cell; empty when nothing changes. */
function countsCell(r: BackendChanges | undefined): string {
  if (!r) return '';
  return [r.added ? `+${r.added}` : '', r.removed ? `−${r.removed}` : '', r.changed ? `~${r.changed}` : ''].filter(Boolean).join(' ');
}

function statusCell(s: ServiceDiff): string {
  if (s.status !== 'changed') return s.status;
  return `changed: ${s.topics.join(', ')}`;
}

export function formatMarkdown(r: DiffReport): string {
  const out: string[] = [`### svcplane diff: \`${r.old}\` → \`${r.new}\``, ''];
  if (!hasDifferences(r)) {
    out.push('No Service changes, and the rendered rules are the same.', '');
    return out.join('\n');
  }
  const n = (st: string) => r.services.filter((s) => s.status === st).length;
  out.push(`${r.services.length} Service(s) change: ${n('added')} added, ${n('removed')} removed, ${n('changed')} changed.`);
  if (r.backends.length) out.push(`Rule columns: objects added (+), removed (−), changed (~) in each backend's ruleset.`);
  out.push('');
  out.push(`| Service | Change |${r.backends.map((b) => ` ${b} |`).join('')}`);
  out.push(`|---|---|${r.backends.map(() => '---:|').join('')}`);
  const row = (name: string, change: string, rules: readonly BackendChanges[]) =>
    `| ${name} | ${cell(change)} |${r.backends.map((b) => ` ${countsCell(rules.find((x) => x.backend === b))} |`).join('')}`;
  for (const s of r.services) out.push(row(`\`${s.service}\``, statusCell(s), s.rules));
  if (r.nodeWide.length) out.push(row(NODE_WIDE, 'rules only', r.nodeWide));
  out.push('', '<details><summary>Details</summary>', '');
  for (const s of r.services) {
    out.push(`#### \`${s.service}\` (${s.status})`, '');
    for (const l of serviceLines(s)) out.push(`- ${l}`);
    out.push('');
  }
  if (r.nodeWide.length) {
    out.push(`#### ${NODE_WIDE}`, '');
    for (const l of ruleLines(r.nodeWide)) out.push(`- ${l}`);
    out.push('');
  }
  out.push('</details>', '');
  return out.join('\n');
}

export function formatJson(r: DiffReport): string {
  return JSON.stringify(r, null, 2) + '\n';
}
