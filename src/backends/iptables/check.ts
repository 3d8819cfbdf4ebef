// Read-only comparison of our iptables chains with what they should hold. The
// backend's diff (diff.ts) says which chains apply would rewrite or delete; this
// file names them, and inside the shared chains (SVP-SERVICES, SVP-NODEPORTS, ...)
// the single rules that are missing or extra, each with the Service its comment
// names. The jumps from the built-in chains are checked with `-C` (read-only).
// Also reads a rendered document (dist/rules/iptables.rules) back into chains.

import type { IPFamily } from '../../model/ip.js';
import type { RenderInput } from '../../model/render-input.js';
import type { ApplyOptions } from '../backend.js';
import { serviceOfLabel, withService, type RulesetDifference } from '../difference.js';
import { withNodeFacts } from '../node-facts.js';
import { parseIpsetSave, type Ipset, type LiveIpset } from '../ipset.js';
import { builtinJumps, IptablesRunner } from './apply.js';
import { renderTrafficSet } from './traffic-set.js';
import { diffFamily } from './diff.js';
import { documentSection, parseSavedChains } from './document.js';
import { preserveServices, ruleComment } from './preserve.js';
import { BUILTIN_JUMPS, renderIptables, type IptChain, type IptTables, type TableName } from './render.js';

/** Chains named by a hash of one Service port or endpoint (names.ts): they belong to one Service whole. */
const PER_SERVICE_CHAIN = /^SVP-(?:SVC|SVL|EXT|FW|SEP)-/;

export type LiveTables = Record<TableName, ReadonlyMap<string, readonly string[]>>;

function serviceOfRules(rules: readonly string[] | undefined): string | undefined {
  for (const r of rules ?? []) {
    const s = serviceOfLabel(ruleComment(r));
    if (s) return s;
  }
  return undefined;
}

/** Each line of `a` not matched by one of `b` (as multisets), in `a`'s order. */
function linesNotIn(a: readonly string[], b: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const l of b) left.set(l, (left.get(l) ?? 0) + 1);
  return a.filter((l) => {
    const n = left.get(l) ?? 0;
    if (n > 0) left.set(l, n - 1);
    return n === 0;
  });
}

/** The differences between one family's desired chains and the live (or older) ones. */
export function compareIptablesFamily(desired: IptTables, live: LiveTables): RulesetDifference[] {
  const tool = desired.family === 'IPv4' ? 'iptables' : 'ip6tables';
  const out: RulesetDifference[] = [];
  const diff = diffFamily(desired, live);
  for (const t of diff.tables) {
    const where = `${tool} ${t.table}`;
    for (const c of t.changed) out.push(...chainDifferences(where, c, live[t.table].get(c.name)));
    for (const name of t.deleted) {
      out.push(withService({ kind: 'chain', object: `${where} ${name}`, change: 'extra' }, serviceOfRules(live[t.table].get(name))));
    }
  }
  return out;
}

/** The traffic set's elements as differences (counters and comments aside: counted traffic is not a difference). */
function compareTrafficSet(want: Ipset, sets: ReadonlyMap<string, LiveIpset>, keep: readonly string[]): RulesetDifference[] {
  const live = sets.get(want.name);
  if (!live) return [{ kind: 'set', object: want.name, change: 'missing' }];
  const wanted = new Set(want.entries);
  const out: RulesetDifference[] = [];
  for (const e of want.entries) if (!live.entries.has(e)) out.push(withService({ kind: 'set element', object: `${want.name} ${e}`, change: 'missing' }, serviceOfLabel(want.comments?.get(e) ?? '')));
  for (const e of live.entries) {
    const owner = serviceOfLabel(live.comments.get(e) ?? '');
    if (!wanted.has(e) && !(owner !== undefined && keep.includes(owner))) out.push(withService({ kind: 'set element', object: `${want.name} ${e}`, change: 'extra' }, owner));
  }
  return out;
}

function chainDifferences(where: string, c: IptChain, have: readonly string[] | undefined): RulesetDifference[] {
  const object = `${where} ${c.name}`;
  if (have === undefined) return [withService({ kind: 'chain', object, change: 'missing' }, serviceOfRules(c.rules))];
  if (PER_SERVICE_CHAIN.test(c.name)) {
    const detail = `rules differ: ${c.rules.length} wanted, ${have.length} present`;
    return [withService({ kind: 'chain', object, change: 'different', detail }, serviceOfRules(c.rules) ?? serviceOfRules(have))];
  }
  // A shared chain: name each rule, so that a Service's missing portal is its own line.
  const missing = linesNotIn(c.rules, have).map((r) => withService({ kind: 'rule', object: r, change: 'missing' }, serviceOfLabel(ruleComment(r))));
  const extra = linesNotIn(have, c.rules).map((r) => withService({ kind: 'rule', object: r, change: 'extra' }, serviceOfLabel(ruleComment(r))));
  if (missing.length || extra.length) return [...missing, ...extra];
  return [{ kind: 'chain', object, change: 'different', detail: 'the same rules in another order' }];
}

export function compareIptables(desired: readonly IptTables[], live: Readonly<Record<IPFamily, LiveTables>>): RulesetDifference[] {
  return desired.flatMap((d) => compareIptablesFamily(d, live[d.family]));
}

/** A rendered document (both families' restore input) as the chains iptables-save would show. */
export function parseIptablesDocument(text: string): Record<IPFamily, LiveTables> {
  const family = (f: IPFamily): LiveTables => {
    const section = documentSection(text, f);
    return { filter: parseSavedChains(section, 'filter'), nat: parseSavedChains(section, 'nat') };
  };
  return { IPv4: family('IPv4'), IPv6: family('IPv6') };
}

/** The document's chains as IptTables (what a render would have returned). */
export function iptablesTablesOf(parsed: Record<IPFamily, LiveTables>): IptTables[] {
  const chains = (m: ReadonlyMap<string, readonly string[]>): IptChain[] => [...m].map(([name, rules]) => ({ name, rules: [...rules] }));
  return (['IPv4', 'IPv6'] as const).map((family) => ({ family, filter: chains(parsed[family].filter), nat: chains(parsed[family].nat) }));
}

/** What `svcplane check` reports for iptables: this namespace (or `run`'s) against the render. Reads only. */
export async function checkIptables(
  input: RenderInput,
  options: Pick<ApplyOptions, 'preserveServices'> = {},
  run = new IptablesRunner(),
): Promise<RulesetDifference[]> {
  const full = { ...input, node: await withNodeFacts(input.node) };
  const keep = options.preserveServices ?? [];
  const out: RulesetDifference[] = [];
  const saved = await run.ipsetSave();
  const sets = saved === undefined ? undefined : parseIpsetSave(saved);
  for (const desired of renderIptables(full)) {
    const f = desired.family;
    const live = { filter: await run.savedChains(f, 'filter'), nat: await run.savedChains(f, 'nat') };
    const wanted = { ...desired, filter: preserveServices(desired.filter, live.filter, keep), nat: preserveServices(desired.nat, live.nat, keep) };
    out.push(...compareIptablesFamily(wanted, live));
    const tool = f === 'IPv4' ? 'iptables' : 'ip6tables';
    if (sets) out.push(...compareTrafficSet(renderTrafficSet(full, f), sets, keep));
    for (const j of sets ? builtinJumps(f) : BUILTIN_JUMPS) {
      if ((await run.rule(f, j.table, '-C', j.chain, j.rule)).code === 0) continue;
      out.push({ kind: 'jump', object: `${tool} ${j.table} ${j.chain} -> ${j.rule[j.rule.length - 1]}`, change: 'missing' });
    }
  }
  return out;
}
