// The report's nftables detail: where the time of each apply path goes (render, read-back,
// diff, nft), per scenario, and what it says against the targets.

import type { Sample } from './apply-scale.js';
import { mb, ms } from './report.js';
import type { ScenarioResult } from './results.js';
import { max, median, quantile } from './stats.js';

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

/** The read-back command the results used (results before it was recorded: the single table). */
export function listCommand(results: readonly ScenarioResult[]): string {
  return results.find((s) => s.nft?.alone.listCommand)?.nft?.alone.listCommand ?? 'nft -j list table ip svcplane';
}

export function nftSections(L: string[], results: readonly ScenarioResult[]): void {
  L.push('## nftables, where the time goes', '');
  L.push('Tables give **p50 / max** over n rounds, in ms. "nft (send)" is `transactionText` + `nft -j -f -` of the');
  L.push('transaction; "read-back" is `nft -j list table` of both families + parse. "total" is wall time around');
  L.push('the call (it also holds small steps not listed).');
  L.push('');
  L.push('### Full load into an empty namespace', '');
  L.push('The syncer\'s first `sync(input)` (render, read back — nothing there —, diff, load), beside');
  L.push('`nft -j -f FILE` alone loading the rendered document into another fresh namespace.');
  L.push('');
  L.push('| scenario | syncer full sync | render | read-back | diff | nft (send) | `nft -j -f` alone | sync / alone | transaction |');
  L.push('|---|---|---|---|---|---|---|---|---|');
  for (const s of results) {
    const a = s.nft!.full;
    const alone = s.nft!.alone.load;
    if (!a) {
      L.push(`| ${s.scenario.id} | — (\`nft -j -f\` alone did not finish in ${ms(alone)} ms) | | | | | | | |`);
      continue;
    }
    L.push(`| ${s.scenario.id} | ${ms(a.total)} ms | ${ms(a.render)} ms | ${ms(a.readBack ?? NaN)} ms | ${ms(a.diff)} ms | ${ms(a.nft)} ms | ${ms(alone)} ms | ${(a.total / alone).toFixed(2)}× | ${mb(a.transactionBytes)}, ${a.changes} objects |`);
  }
  L.push('');

  L.push('### One endpoint change (the agent\'s path)', '');
  L.push(`\`syncer.sync(input', new Set([key]))\` after the full load: n rounds, alternately one endpoint added to and`);
  L.push('one removed from a Service, a different Service each round (spread over the list). The agent sends these');
  L.push('through a long-lived `nft -j -i` (src/exec/session.ts); the "one-shot" rows send the same kind of change as');
  L.push('`nft -j -f -` (a process per transaction), in pairs alternating with the session\'s, so both see the same load.');
  L.push('');
  samplesTable(
    L,
    results.flatMap((s) => [
      { label: `${s.scenario.id}: session`, xs: s.nft!.endpoint },
      ...(s.nft!.endpointOneShot?.length ? [{ label: `${s.scenario.id}: one-shot`, xs: s.nft!.endpointOneShot }] : []),
    ]),
    false,
  );
  const lost = results.filter((s) => s.nft!.session && s.nft!.session.lost + s.nft!.session.tooBig > 0);
  for (const s of lost) L.push(`${s.scenario.id}: ${s.nft!.session!.lost} session transactions lost and ${s.nft!.session!.tooBig} too big, each sent one-shot instead.`, '');

  L.push('### One Service added, one removed', '');
  L.push(`Through the syncer with the Service's key as the change list: n rounds, each adding a new Service (as many endpoints as the others) and`);
  L.push('removing an existing one.');
  L.push('');
  samplesTable(
    L,
    results.flatMap((s) => [
      { label: `${s.scenario.id}: Service added`, xs: s.nft!.serviceAdd },
      { label: `${s.scenario.id}: Service removed`, xs: s.nft!.serviceRemove },
    ]),
    false,
  );

  L.push('### Resync with nothing changed', '');
  L.push('`syncer.sync(input)` without a change list after all the changes above: a full render, read-back and');
  L.push('diff (what a periodic resync costs). It must find nothing to change: the first one also checks');
  L.push('that the incremental syncs left the kernel equal to a full render.');
  L.push('');
  samplesTable(L, results.map((s) => ({ label: s.scenario.id, xs: s.nft!.resync })), true);

  L.push('### One endpoint change through the one-shot apply path', '');
  L.push('What `applyNftables` (the CLI `apply`) does for any change: render everything, read both tables back,');
  L.push('`diffTables`, one transaction. Timed step by step in the namespace; it leaves out the two steps');
  L.push('`applyNftables` does in the caller\'s own namespace (local addresses, sysctls).');
  L.push('');
  samplesTable(L, results.map((s) => ({ label: s.scenario.id, xs: s.nft!.oneShot })), true);

  L.push('### `nft` alone', '');
  L.push(`After \`nft -j -f\` alone, in its namespace: \`${listCommand(results)}\` (every table of ours; the ip6 side is a small`);
  L.push('skeleton), and a transaction of one set element (`hairpin`) added or deleted — no chain touched —,');
  L.push('the floor of any transaction on a table this size. Process spawn (`ip netns exec`) included.');
  L.push('');
  L.push('| scenario | read-back p50 / max | n | JSON size | one-element transaction p50 / max | n |');
  L.push('|---|---|---|---|---|---|');
  for (const s of results) {
    const a = s.nft!.alone;
    if (!a.finished) continue;
    L.push(`| ${s.scenario.id} | ${ms(median(a.listJson))} / ${ms(max(a.listJson))} ms | ${a.listJson.length} | ${mb(a.listJsonBytes)} | ${ms(median(a.elementOnly))} / ${ms(max(a.elementOnly))} ms | ${a.elementOnly.length} |`);
  }
  L.push('');

}

export function nftSummary(L: string[], results: readonly ScenarioResult[]): void {
  for (const s of results) {
    const a = s.nft!;
    const id = s.scenario.id;
    if (!a.full) {
      L.push(`- **${id}.** \`nft -j -f\` alone did not load the ruleset within ${ms(a.alone.load)} ms (${mb(a.alone.documentBytes)} of JSON); the syncer steps were skipped.`);
      continue;
    }
    const ep = a.endpoint;
    const epP50 = median(col(ep, 'total'));
    const epP99 = quantile(col(ep, 'total'), 0.99);
    const line = [`- **${id}.**`];
    line.push(`One endpoint change through the syncer: p50 ${ms(epP50)} ms, p99 ${ms(epP99)} ms (n=${ep.length}); where it goes (p50): ${where(ep, ['nft', 'render', 'diff'])}.`);
    const one = a.endpointOneShot ?? [];
    if (one.length) line.push(`The same changes sent one-shot (\`nft -j -f -\`, interleaved): p50 ${ms(median(col(one, 'total')))} ms, p99 ${ms(quantile(col(one, 'total'), 0.99))} ms; the session's nft step is ${(median(col(ep, 'nft')) / median(col(one, 'nft'))).toFixed(2)}× the one-shot's at p50.`);
    if (a.alone.elementOnly.length) {
      line.push(
        `A one-element transaction alone costs ${ms(median(a.alone.elementOnly))} ms at this size; an endpoint change also rewrites the Service's chain, and the gap to its nft step (${ms(median(col(ep, 'nft')))} ms) is what touching a chain costs nft on a table this size.`,
      );
    }
    line.push(`Full load: syncer ${ms(a.full.total)} ms (${where([a.full], ['nft', 'render', 'diff', 'readBack'])}) against ${ms(a.alone.load)} ms for \`nft -j -f\` alone (${(a.full.total / a.alone.load).toFixed(2)}×).`);
    if (a.serviceAdd.length) line.push(`Service added / removed (p50): ${ms(median(col(a.serviceAdd, 'total')))} / ${ms(median(col(a.serviceRemove, 'total')))} ms.`);
    if (a.resync.length) line.push(`Resync with nothing changed: p50 ${ms(median(col(a.resync, 'total')))} ms (${where(a.resync, ['readBack', 'render', 'diff'])}), objects changed: ${distinct(a.resync.map((x) => x.changes))}.`);
    if (a.oneShot.length) {
      line.push(
        `One-shot apply of one endpoint change: p50 ${ms(median(col(a.oneShot, 'total')))} ms (${where(a.oneShot, ['render', 'readBack', 'diff', 'nft'])}), ${(median(col(a.oneShot, 'total')) / epP50).toFixed(0)}× the syncer's: it renders, reads back and diffs the whole table for any change.`,
      );
    }
    if (a.resync.some((x) => x.changes !== 0)) line.push('**A resync with nothing changed found changes: the incremental syncs had left the kernel different from a full render.**');
    L.push(line.join(' '));
  }
}
