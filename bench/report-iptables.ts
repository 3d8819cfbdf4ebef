// The report's iptables part: rule counts beside kube-proxy's, the full load beside
// iptables-restore alone, one endpoint change by partial and by full sync, and the
// number of chains each change touched at every scale.

import type { IptablesResult, IptSample } from './iptables-scale.js';
import { mb, ms } from './report.js';
import type { BenchResults, ScenarioResult } from './results.js';
import type { NatCounts } from './rule-counts.js';
import { max, median, quantile } from './stats.js';

type Ipt = { counts: NatCounts; run: IptablesResult; id: string };
type Limits = BenchResults['settings']['limits'];
const ipts = (xs: readonly ScenarioResult[]): Ipt[] => xs.flatMap((s) => (s.iptables ? [{ ...s.iptables, id: s.scenario.id }] : []));
type Part = 'total' | 'save' | 'restore';
const col = (xs: readonly IptSample[], p: Part) => xs.map((x) => x[p]);
const pm = (xs: readonly number[]) => `${ms(median(xs))} / ${ms(max(xs))}`;
const p99 = (xs: readonly number[]) => `${ms(median(xs))} / ${ms(quantile(xs, 0.99))}`;
const distinct = (xs: readonly number[]) => [...new Set(xs)].sort((a, b) => a - b).join(', ');
/** Read-back and ipset times are measured since the syncer's read-back and the traffic sets were timed (`ipset` set); older results say so. */
const split = (xs: readonly IptSample[]) => xs.every((x) => x.ipset !== undefined);
const ipsetCell = (xs: readonly IptSample[]) => (split(xs) ? pm(xs.map((x) => x.ipset!)) : 'not measured');
const saveCell = (xs: readonly IptSample[]) => (split(xs) ? pm(col(xs, 'save')) : 'not measured');
/** The tools' share of a sync at p50: restore, and the traffic sets' ipset calls when measured. */
const tools = (xs: readonly IptSample[]) =>
  `restore ${ms(median(col(xs, 'restore')))} ms${split(xs) ? `, ipset ${ms(median(xs.map((x) => x.ipset!)))} ms` : ''}`;

export function iptablesSections(L: string[], o: Limits, scenarios: readonly ScenarioResult[]): void {
  const results = ipts(scenarios);
  L.push('## iptables', '');
  L.push('### nat rule counts beside kube-proxy', '');
  L.push('IPv4 nat rules of our render, sorted into kube-proxy\'s groups, beside its count for ClusterIP-only');
  L.push('Services, 5 + S × (2 + 3E): 5 static rules (NodePorts tail of the services chain, 3 in postrouting,');
  L.push('1 in mark-masq); per Service its ClusterIP rule and the masquerade rule of its policy chain; per');
  L.push('endpoint its jump in the policy chain and the two rules of its endpoint chain (hairpin mark, DNAT).');
  L.push('');
  L.push('| scenario | ours | kube-proxy | difference | static | ClusterIP | masq | jump | endpoint chains | other | nat chains | IPv4 filter rules | IPv6 rules | in the kernel (iptables-save) |');
  L.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const { counts: c, run, id } of results) {
    const g = c.groups;
    L.push(
      `| ${id} | ${c.total} | ${c.kubeProxy} | ${c.total - c.kubeProxy} | ${g.static} | ${g.clusterIP} | ${g.masq} | ${g.jump} | ${g.sep} | ${g.other} | ${c.chains} | ${c.filterV4} | ${c.ipv6} | ${run.savedNatLines ?? 'not loaded'} |`,
    );
  }
  L.push('');

  L.push('### Full load into an empty namespace', '');
  L.push(`\`iptables-restore --noflush -w\` then \`ip6tables-restore\` alone on the rendered sections, in a fresh namespace,`);
  L.push(`under a ${o.iptLoadMs / 1000} s limit; then \`applyIptables\` (iptables-save of both tables, diff, restore, built-in jumps`);
  L.push('checked and inserted) into another fresh namespace. Scales whose load did not finish in the limit');
  L.push('skip every later kernel step.');
  L.push('');
  L.push('| scenario | document | `*-restore` alone | applyIptables | its save | its restore | apply / alone | chains written |');
  L.push('|---|---|---|---|---|---|---|---|');
  for (const { run: r, id } of results) {
    const a = r.alone;
    if (!a) {
      L.push(`| ${id} | — | not tried (BENCH_IPT_KERNEL_MAX) | — | — | — | — | — |`);
      continue;
    }
    const alone = a.finished ? `${ms(a.ms)} ms` : `**did not finish in ${ms(a.ms)} ms** (stopped)`;
    const p = r.apply;
    L.push(
      `| ${id} | ${mb(a.bytes)} | ${alone} | ${p ? `${ms(p.total)} ms` : '—'} | ${p ? `${ms(p.save)} ms` : '—'} | ${p ? `${ms(p.restore)} ms` : '—'} | ${p && a.finished ? `${(p.total / a.ms).toFixed(2)}×` : '—'} | ${p ? p.chains : '—'} |`,
    );
  }
  L.push('');

  L.push('### One endpoint change: partial sync against full sync', '');
  L.push(`\`IptablesSyncer.sync(input')\` after the load: n rounds (the scenario table), each one endpoint added to (even rounds) or`);
  L.push('removed from (odd rounds) a Service, once through the partial sync (diff against what the syncer last');
  L.push('wrote, restore of the changed chains only) and once, on the neighbouring Service, through a full sync');
  L.push('(`iptables-save` of filter and nat for both families, diff of every chain, restore, jumps checked).');
  L.push('"save" (the read-back: `iptables-save` compared as it is read), "restore" and "ipset" (the traffic sets) are the tools\' time inside the sync (spawn included).');
  L.push('');
  L.push('Then, through the partial sync, Services added (as many endpoints as the others) and removed.');
  L.push('Cells: **p50 / p99** (nearest rank; with n < 100 the max).');
  L.push('');
  L.push('| | n | total | save | restore | ipset | chains touched | transaction |');
  L.push('|---|---|---|---|---|---|---|---|');
  for (const { run: r, id } of results) {
    for (const [label, xs] of [['partial', r.partial], ['full', r.full], ['Service added', r.serviceAdd ?? []], ['Service removed', r.serviceRemove ?? []]] as const) {
      if (xs.length === 0) continue;
      L.push(`| ${id}, ${label} | ${xs.length} | ${p99(col(xs, 'total'))} | ${saveCell(xs)} | ${pm(col(xs, 'restore'))} | ${ipsetCell(xs)} | ${distinct(xs.map((x) => x.chains))} | ${mb(median(xs.map((x) => x.transactionBytes)))} |`);
    }
  }
  L.push('');
  L.push('Chains touched at every scale, without the kernel: the same change sequence, each new render diffed');
  L.push('against the previous one (`diffFamily`), with that render + diff time in process: a whole render each');
  L.push('time, as a one-shot apply does (the syncer renders only the changed Service and reuses the others\' fragments).');
  L.push('');
  L.push('| scenario | n | chains touched | render + diff p50 / max | transaction |');
  L.push('|---|---|---|---|---|');
  for (const { run: r, id } of results) {
    L.push(`| ${id} | ${r.pure.chains.length} | ${distinct(r.pure.chains)} | ${pm(r.pure.renderDiff)} ms | ${mb(median(r.pure.transactionBytes))} |`);
  }
  L.push('');
}

export function iptablesSummary(L: string[], o: Limits, scenarios: readonly ScenarioResult[]): void {
  const results = ipts(scenarios);
  const touched = results.map((x) => distinct(x.run.pure.chains));
  const constant = new Set(touched).size === 1;
  L.push(
    `- **Chains per endpoint change:** ${results.map((x, i) => `${touched[i]} at ${x.id}`).join(', ')} — target "a constant number of chains": **${constant ? 'met' : 'missed'}**` +
      ` (an added endpoint rewrites the Service's policy chain and creates its endpoint chain; a removed one rewrites the policy chain and deletes the endpoint chain).`,
  );
  for (const { counts: c, run: r, id } of results) {
    const S = id;
    const d = c.total - c.kubeProxy;
    const g = c.groups;
    const line = [`- **${S}.**`];
    line.push(
      `nat rules: ${c.total} against kube-proxy's ${c.kubeProxy} (${d === 0 ? 'equal' : `${d > 0 ? '+' : ''}${d}`}):` +
        ` ${g.static} static, and per Service ${(g.clusterIP / c.services).toFixed(0)} ClusterIP + ${(g.masq / c.services).toFixed(0)} masquerade + ${(g.jump / c.services).toFixed(0)} jumps + ${(g.sep / c.services).toFixed(0)} endpoint-chain rules${g.other ? ` + ${g.other} other` : ''}, the same shape as kube-proxy's.` +
        ` The counts differ outside that formula: our IPv4 filter table holds a constant ${c.filterV4} rules (our own INPUT/FORWARD/OUTPUT entry chains and the localnet guard, where kube-proxy spreads its equivalents over KUBE-FORWARD, KUBE-FIREWALL and friends),` +
        ` and we always render an IPv6 skeleton (${c.ipv6} rules) so stale IPv6 rules go away; kube-proxy's formula counts IPv4 nat rules only.`,
    );
    const a = r.alone;
    if (!a) line.push('Not loaded into the kernel (BENCH_IPT_KERNEL_MAX).');
    else if (!a.finished) {
      line.push(
        `Loading it into an empty namespace with \`iptables-restore\` alone did not finish within ${o.iptLoadMs / 1000} s (${c.chains} nat chains in one iptables-nft transaction), so the apply and sync rounds were not run at this scale;` +
          ` the chains an endpoint change touches come from the pure diff above (a whole render + diff p50 ${ms(median(r.pure.renderDiff))} ms in process; the syncer renders only the changed Service).`,
      );
    } else if (r.apply) {
      line.push(`Full load: applyIptables ${ms(r.apply.total)} ms against ${ms(a.ms)} ms for \`iptables-restore\` alone (${(r.apply.total / a.ms).toFixed(2)}×; its restore ${ms(r.apply.restore)} ms, save ${ms(r.apply.save)} ms).`);
      const pt = median(col(r.partial, 'total'));
      const ft = median(col(r.full, 'total'));
      line.push(
        `One endpoint change: partial sync p50 ${ms(pt)} ms (${tools(r.partial)}; the rest is ${split(r.partial) ? '' : "the traffic sets' ipset calls (not timed apart in this run) and "}the syncer's own work: the changed Service rendered, the table reassembled from the cached fragments and diffed against what it last wrote),` +
          ` full sync p50 ${ms(ft)} ms (${split(r.full) ? `read-back ${ms(median(col(r.full, 'save')))} ms, ` : ''}${tools(r.full)}): the full one costs ${(ft / pt).toFixed(1)}×.` +
          ` Chains touched: ${distinct(r.partial.map((x) => x.chains))} (partial), ${distinct(r.full.map((x) => x.chains))} (full).`,
      );
      line.push(
        r.checkChanges === 0
          ? 'A full sync with nothing changed after the rounds rewrote no chain: the partial syncs left the kernel equal to a full render.'
          : `**A full sync with nothing changed after the rounds rewrote ${r.checkChanges} chains: the partial syncs had drifted from a full render.**`,
      );
    }
    L.push(line.filter(Boolean).join(' '));
  }
}
