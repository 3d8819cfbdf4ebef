// The report's data-plane part: first-packet latency to one Service while N others exist.

import type { CountedProof, CountersCostRow, DataplaneRow } from './dataplane.js';
import { k, seconds } from './report.js';
import type { BenchResults } from './results.js';
import { median, medianInterval, quantile } from './stats.js';

const us = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '—');

/** p50/p99 at the largest level against the smallest, for one backend (undefined without both). */
export function dataplaneRatio(rows: readonly DataplaneRow[], backend: string) {
  const xs = rows.filter((r) => r.backend === backend && r.service.length > 0).sort((a, b) => a.others - b.others);
  if (xs.length < 2) return undefined;
  const lo = xs[0]!;
  const hi = xs[xs.length - 1]!;
  return {
    lo: lo.others,
    hi: hi.others,
    loP50: median(lo.service),
    hiP50: median(hi.service),
    p50: median(hi.service) / median(lo.service),
    p99: quantile(hi.service, 0.99) / quantile(lo.service, 0.99),
    directLo: median(lo.direct),
    directHi: median(hi.direct),
  };
}

export function dataplaneSection(L: string[], r: BenchResults): void {
  const rows = r.dataplane;
  if (rows.length === 0) return;
  const d = r.settings.dataplane;
  L.push('## Data plane: first-packet latency', '');
  L.push('Three throw-away namespaces (bench/dataplane.ts): a client, a node holding the rules, a server. The node');
  L.push('holds N other Services (1 endpoint each — pods that do not exist, never contacted; the lookup cost depends on');
  L.push('the Services, not their endpoints) plus the target `default/zz-target`, ClusterIP 10.100.0.1:80 → the server.');
  L.push('Its name sorts last, so in iptables mode its ClusterIP rule is the *last* of the services chain (the worst');
  L.push('case of the linear lookup); nftables finds it in a map. Rules are loaded with the kernel tool alone');
  L.push('(`nft -j -f`, or `iptables-restore` + our jumps). A Node client in the client namespace opens connections one');
  L.push('after the other and times each from `connect()` to the `connect` event (SYN through the node\'s NAT rules, SYN-ACK');
  L.push(`back), then resets it. ${d.batches} batches of ${d.connections} connections (after ${d.warmup} warm-up ones) through the ClusterIP alternate`);
  L.push('with as many straight to the server\'s address. A direct connection is no rules-free baseline: it');
  L.push('crosses the same node, so in iptables mode it too walks the whole services chain (and matches nothing),');
  L.push('in nftables mode it misses the map; what it removes is the DNAT and masquerade of a match. So the');
  L.push('growth with N is read from the ClusterIP column itself; "ClusterIP − direct" is the cost of the match.');
  L.push('Times in µs; p99 by nearest rank (its tail is the shared machine\'s scheduling more than the rules).');
  L.push('');
  L.push('| backend | other Services | rule load | n | via ClusterIP p50 | p99 | direct p50 | p99 | ClusterIP − direct (p50) | ClusterIP p50 × the smallest N |');
  L.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const b of ['nftables', 'iptables']) {
    const xs = rows.filter((x) => x.backend === b).sort((a, c) => a.others - c.others);
    const base = xs.find((x) => x.service.length > 0);
    for (const x of xs) {
      const load = x.load.finished ? `${(x.load.ms / 1000).toFixed(1)} s` : `**did not finish in ${seconds(x.load.ms)}**`;
      if (x.service.length === 0) {
        L.push(`| ${b} | ${k(x.others)} | ${load} | — | — | — | — | — | — | — |`);
        continue;
      }
      const ratio = base ? (median(x.service) / median(base.service)).toFixed(2) : '—';
      L.push(
        `| ${b} | ${k(x.others)} | ${load} | ${x.service.length} | ${us(median(x.service))} | ${us(quantile(x.service, 0.99))} | ${us(median(x.direct))} | ${us(quantile(x.direct, 0.99))} | ${us(median(x.service) - median(x.direct))} | ${ratio}× |`,
      );
    }
  }
  L.push('');
  for (const b of ['nftables', 'iptables']) {
    const q = dataplaneRatio(rows, b);
    if (!q) continue;
    L.push(
      `- **${b}**: at ${k(q.hi)} other Services the p50 is ${q.p50.toFixed(2)}× and the p99 ${q.p99.toFixed(2)}× that at ${k(q.lo)};` +
        ` direct connections (which cross the same rules without a match) go from ${us(q.directLo)} µs to ${us(q.directHi)} µs at p50.`,
    );
  }
  const missing = rows.filter((x) => !x.load.finished);
  for (const x of missing) L.push(`- ${x.backend} at ${k(x.others)} other Services: the rules did not load within ${seconds(x.load.ms)}, so that point is missing.`);
  L.push('');
}

/** Issue 18 §2: the traffic counters may cost the data plane at most this fraction. */
export const COUNTERS_COST_LIMIT = 0.05;

type CountersBackend = 'nftables' | 'iptables';

const countersRow = (r: BenchResults, backend: CountersBackend) => (backend === 'nftables' ? r.countersCost : r.countersCostIptables);

/** What each backend's counters add to every packet of a Service connection. */
const COUNTERS_WORK: Record<CountersBackend, { what: string; ruleset: string }> = {
  nftables: {
    what: 'two set lookups with counter updates (count-traffic, from filter-prerouting-post-dnat), and its first packet a map element counter and a DNAT rule counter',
    ruleset: 'the same ruleset without them (bench/no-counters.ts: no counting chain or jumps, no counters on elements or DNAT rules)',
  },
  iptables: { what: 'conntrack status tests and one set lookup and counter update (mangle POSTROUTING/INPUT, traffic-set.ts)', ruleset: 'the same chains and filled set without the four counting rules in mangle' },
};

/** A per-batch change: its median over the batches and the median's distribution-free interval (stats.ts medianInterval). */
export interface PairedChange {
  /** Each batch's change, with counters against without, in batch order (+0.05: 5 % more). */
  batches: number[];
  median: number;
  lo: number;
  hi: number;
  coverage: number;
}

function paired(batches: number[]): PairedChange {
  return { batches, median: median(batches), ...medianInterval(batches) };
}

/** met: the whole interval within the limit; missed: the whole interval past it; else unclear. */
export type CountersVerdict = 'met' | 'missed' | 'unclear';

/** How the two variants shared the machine (CountersCostRow.pairing; older results: 'rulesets'). */
function methodText(c: CountersCostRow, backend: CountersBackend, batches: number): string[] {
  const alternation = [
    'The client alternates between its two addresses connection by connection, and its bulk transfers pair by pair (A B, B A, …),',
    `so each pair shares the machine's load of that instant; ${batches} batches${pinText(c)}.`,
  ];
  if (c.pairing === 'sources' && backend === 'iptables')
    return [
      'One ruleset, counters included, serves both: ahead of the counting rules, mangle POSTROUTING accepts the packets of the',
      "client's second address (`-s`, and `-d` for the replies), so they skip the counting; the first address's packets test those two",
      'rules too (native compares) and go on to the counting rules.',
      ...alternation,
    ];
  if (c.pairing === 'sources')
    return [
      "One ruleset serves both (bench/no-counters.ts `pairedTrafficCounters`): each base chain that reaches any counting starts with",
      "`ct original ip saddr B goto nc-<chain>` then `goto counted-<chain>`; the counted path is the rendered rules, the `nc-` path the",
      'same rules stripped as the unpaired "without" ruleset strips them (no jump to count-traffic, no counters on DNAT rules, uncounted',
      "copies of the counted maps and sets). Both addresses pay that test and one goto per base chain; B's packets still pass the",
      "hook of filter-prerouting-post-dnat, whose base chain exists only for the counting (an empty chain for them).",
      ...alternation,
    ];
  const how = backend === 'iptables' ? 'the four counting rules are inserted or removed' : 'the ruleset is reloaded';
  return [`The node's rules alternate between the two (${how}) before each of ${batches} batches (the order swapped every batch), so machine load drifts over both alike.`];
}

/**
 * Whether the node's own counters saw the counted address's traffic and not the other's:
 * its bytes (both directions, headers included) at least what A sent, and less than A's
 * plus half of B's; and its new connections exactly A's where only A's path counts them
 * (nftables: the map element and DNAT rule), else A's and B's (iptables' nat rule counters).
 */
export function countedCheck(p: CountedProof): { ok: boolean; text: string } {
  const bytes = p.values.bytes ?? 0;
  const conns = p.values.new_connections;
  const aCounted = bytes >= p.sent.with.bytes;
  const bUncounted = bytes < p.sent.with.bytes + p.sent.without.bytes / 2;
  const connsExact = conns === undefined || conns === p.sent.with.connections + (p.connectionsPerAddress ? 0 : p.sent.without.connections);
  const ok = aCounted && bUncounted && connsExact;
  const mb = (x: number) => (x / (1 << 20)).toFixed(1);
  return {
    ok,
    text:
      `The node's own counters of the target Service after the run (read with the agent's reader, counters.ts): ${mb(bytes)} MiB, ${p.values.packets ?? 0} packets` +
      `${conns === undefined ? '' : `, ${conns} new connections`}; the counted address sent ${mb(p.sent.with.bytes)} MiB of payload over ${p.sent.with.connections} connections, the uncounted one as much. ` +
      (ok ? "So the first address's traffic was counted and the second's was not." : '**The counters do not match one address alone: the pairing did not work as described.**'),
  };
}

export function countersCost(r: BenchResults, backend: CountersBackend = 'nftables') {
  const c = countersRow(r, backend);
  const batches = r.settings.countersCost?.batches ?? 1;
  if (!c || c.withCounters.length === 0 || c.throughputWith.length === 0) return undefined;
  const latency = median(c.withCounters) / median(c.withoutCounters) - 1;
  const throughput = 1 - median(c.throughputWith) / median(c.throughputWithout);
  const change = (w: number[], o: number[]) => median(w) / median(o) - 1;
  const latencyPaired = paired(perBatch(c.withCounters, c.withoutCounters, batches, change));
  // Paired runs: transfer i of one address and transfer i of the other ran back to back, so each batch's change is the
  // median of those pairs' ratios; older runs: the ratio of the batch's medians.
  const bulkChange = c.pairing === 'sources' ? (w: number[], o: number[]) => median(w.map((x, i) => x / o[i]!)) - 1 : change;
  const throughputPaired = paired(perBatch(c.throughputWith, c.throughputWithout, batches, bulkChange));
  // CPU per MB (paired runs since session 12): what a transfer costs the two cores, which bounds a CPU-bound veth
  // transfer's throughput, without the wall clock's share of a loaded machine. When measured it decides the
  // throughput half of the verdict (+x % CPU per byte is −x/(1+x) throughput with the cores to itself); MB/s stays beside.
  const cpuPaired = c.cpuWith?.length && c.cpuWithout?.length ? paired(perBatch(c.cpuWith, c.cpuWithout, batches, bulkChange)) : undefined;
  const check = c.counted ? countedCheck(c.counted) : undefined;
  const limit = COUNTERS_COST_LIMIT;
  const bulkMet = cpuPaired ? cpuPaired.hi < limit : throughputPaired.lo > -limit;
  const bulkMissed = cpuPaired ? cpuPaired.lo > limit : throughputPaired.hi < -limit;
  // Under 90 % coverage (fewer than 5 batches) the interval decides nothing; nor does a pairing the counters contradict.
  const verdict: CountersVerdict =
    latencyPaired.coverage < 0.9 || check?.ok === false
      ? 'unclear'
      : latencyPaired.hi < limit && bulkMet
        ? 'met'
        : latencyPaired.lo > limit || bulkMissed
          ? 'missed'
          : 'unclear';
  // Every pair of transfers at once (not the verdict's unit, the batch): the finest paired comparison the run has.
  const cpuAllPairs = cpuPaired ? paired(c.cpuWith!.map((x, i) => x / c.cpuWithout![i]! - 1)) : undefined;
  return { others: c.others, latency, throughput, latencyPaired, throughputPaired, cpuPaired, cpuAllPairs, check, verdict };
}

const pct = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)} %`;
const interval = (p: PairedChange) => `${pct(p.lo)} to ${pct(p.hi)}`;
const coverage = (p: PairedChange) => `${(p.coverage * 100).toFixed(0)} %`;

/** The targets-table row of the counters' cost, or undefined when the part did not run. */
export function countersCostTargetRow(r: BenchResults, backend: CountersBackend = 'nftables') {
  const q = countersCost(r, backend);
  if (!q) return undefined;
  const { latencyPaired: l, throughputPaired: t, cpuPaired: cpu } = q;
  const n = l.batches.length;
  const bulk = cpu
    ? `bulk CPU per MB ${pct(cpu.median)} (${interval(cpu)}; decides), bulk MB/s ${pct(t.median)} (${interval(t)})`
    : `bulk throughput ${pct(t.median)} (${interval(t)})`;
  return {
    target: `traffic counters cost the data plane under ${COUNTERS_COST_LIMIT * 100} % (${backend}, ${k(q.others)} other Services, with against without in one topology)`,
    measured:
      `${methodName(r, backend)}: median of ${n} per-batch ratios: first-packet latency p50 ${pct(l.median)} (${coverage(l)} interval ${interval(l)}), ${bulk};` +
      ` pooled: latency p50 ${pct(q.latency)}, throughput ${pct(-q.throughput)}`,
    met: q.verdict === 'unclear' ? ('unclear' as const) : q.verdict === 'met',
    limits:
      q.verdict === 'met'
        ? ''
        : q.verdict === 'unclear'
          ? q.check?.ok === false
            ? "the node's counters contradict the pairing (see the section)"
            : `${l.coverage < 0.9 ? `too few batches for an interval (${n})` : `an interval straddles ${COUNTERS_COST_LIMIT * 100} %: the batch-to-batch noise is wider than the target`}; more batches (BENCH_COUNTERS_BATCHES) or a quieter machine narrow it`
          : `every packet of a Service connection does ${COUNTERS_WORK[backend].what}; see "Data plane: what the traffic counters cost" for the spread between batches`,
  };
}

const pinText = (c: CountersCostRow) =>
  c.pinned === 'split' ? ', client and sink pinned to one core each (taskset)' : c.pinned === 'same' ? ', client and sink pinned to the same core (taskset)' : '';

/** Which method produced a backend's figures, in a few words. */
function methodName(r: BenchResults, backend: CountersBackend): string {
  const c = countersRow(r, backend);
  return c?.pairing === 'sources' ? `paired by client address${c.pinned && c.pinned !== 'none' ? `, pinned (${c.pinned})` : ''}` : 'rulesets switched per batch';
}

export function countersCostSection(L: string[], r: BenchResults, backend: CountersBackend = 'nftables'): void {
  const c = countersRow(r, backend);
  const s = r.settings.countersCost;
  if (!c || !s) return;
  L.push(`## Data plane: what the traffic counters cost (${backend})`, '');
  L.push(`The per-Service traffic counters (issue 18 §2) in the ${backend} ruleset, against ${COUNTERS_WORK[backend].ruleset},`);
  L.push(`on the topology of the first-packet part with ${k(c.others)} other Services.`);
  L.push(...methodText(c, backend, s.batches));
  L.push(`Per batch and variant: ${s.connections} connections (after ${s.warmup} warm-up ones) timed as in the first-packet part, and ${s.bulkRounds} bulk transfers of ${s.bulkMB} MB`);
  L.push('over one TCP connection each through the ClusterIP (MB/s per transfer).');
  if (c.cpuWith?.length)
    L.push(
      "Each transfer's CPU too, µs per MB: the client's, the sink's and the softirq threads' run time (schedstat) over the transfer; this kernel has no IRQ time accounting, so the packets' softirq work, the rules included, is charged to the task it interrupted, one of these (bench/dataplane-peer.ts).",
    );
  L.push('');
  const cpuCell = (xs: number[] | undefined) => (xs?.length ? median(xs).toFixed(0) : '—');
  L.push('| ruleset | n | first packet p50 (µs) | p99 | bulk throughput median (MB/s) | bulk CPU median (µs/MB) | transfers |');
  L.push('|---|---|---|---|---|---|---|');
  L.push(`| with counters | ${c.withCounters.length} | ${us(median(c.withCounters))} | ${us(quantile(c.withCounters, 0.99))} | ${median(c.throughputWith).toFixed(0)} | ${cpuCell(c.cpuWith)} | ${c.throughputWith.length} |`);
  L.push(`| without | ${c.withoutCounters.length} | ${us(median(c.withoutCounters))} | ${us(quantile(c.withoutCounters, 0.99))} | ${median(c.throughputWithout).toFixed(0)} | ${cpuCell(c.cpuWithout)} | ${c.throughputWithout.length} |`);
  L.push('');
  if (c.counted) L.push(countedCheck(c.counted).text, '');
  const q = countersCost(r, backend);
  if (!q) return;
  const { latencyPaired: l, throughputPaired: t, cpuPaired: cpu } = q;
  L.push(`Pooled over the batches, with the counters first-packet latency at p50 moves ${pct(q.latency)} and bulk throughput ${pct(-q.throughput)} (target: under ${COUNTERS_COST_LIMIT * 100} % each).`);
  L.push('The verdict rests instead on each batch\'s own ratio (both variants ran in it, so the ratio cancels the load of');
  L.push(`that moment): the median of the ${l.batches.length} per-batch changes, with a distribution-free interval for that median (order statistics`);
  L.push(`of the batches, ${coverage(l)} coverage): first-packet latency p50 ${pct(l.median)} (${interval(l)}), bulk throughput ${pct(t.median)} (${interval(t)})${cpu ? `, bulk CPU per MB ${pct(cpu.median)} (${interval(cpu)})` : ''}.`);
  if (cpu) L.push('The bulk half of the verdict rests on CPU per MB (what the counters add to each byte\'s work); MB/s also moves with the share of the cores the shared machine leaves the transfer.');
  const all = q.cpuAllPairs;
  if (all)
    L.push(
      `Not the verdict's unit, for scale: the CPU per MB change of all ${all.batches.length} pairs of transfers taken at once, median ${pct(all.median)} (${coverage(all)} interval ${interval(all)}).`,
    );
  L.push(
    q.verdict === 'met'
      ? `Both intervals lie inside ${COUNTERS_COST_LIMIT * 100} %: **met**.`
      : q.verdict === 'missed'
        ? `An interval lies wholly past ${COUNTERS_COST_LIMIT * 100} %: **missed**.`
        : q.check?.ok === false
          ? "The node's counters contradict the pairing: **unclear**."
          : l.coverage < 0.9
          ? `Too few batches for an interval of 90 % coverage: **unclear**.`
          : `An interval straddles ${COUNTERS_COST_LIMIT * 100} %: **unclear**: this run's noise does not decide the target either way.`,
  );
  L.push('');
  L.push(`| batch | ${l.batches.map((_, i) => `${i + 1}${i % 2 ? '′' : ''}`).join(' | ')} |`);
  L.push(`|---|${l.batches.map(() => '---').join('|')}|`);
  L.push(`| first packet p50 change | ${l.batches.map(pct).join(' | ')} |`);
  L.push(`| bulk throughput change | ${t.batches.map(pct).join(' | ')} |`);
  if (cpu) L.push(`| bulk CPU per MB change | ${cpu.batches.map(pct).join(' | ')} |`);
  L.push('');
  L.push(`′: the variant without the counters ran first in that batch (in paired runs: went first in its pairs' alternation). The spread of one row is what the shared machine alone does to one batch's ratio.`);
  L.push('');
}

/** `f` of each batch's share of the two sample lists (each batch added the same number to both). */
function perBatch(a: readonly number[], b: readonly number[], batches: number, f: (a: number[], b: number[]) => number): number[] {
  const size = (xs: readonly number[]) => Math.floor(xs.length / batches);
  const slice = (xs: readonly number[], i: number) => xs.slice(i * size(xs), (i + 1) * size(xs));
  if (size(a) === 0 || size(b) === 0) return [];
  return Array.from({ length: batches }, (_, i) => f(slice(a, i), slice(b, i)));
}
