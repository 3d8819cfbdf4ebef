// The nftables ruleset as it was before the traffic counters (issue 18 §2), for measuring
// what the counters cost the data plane (dataplane.ts, benchCountersCost). Bench only.
//
// `withoutTrafficCounters`: the same tables with no per-element counters, no counting chain or
// jumps (so no per-Service or per-endpoint counted sets) and no counter on the endpoints' DNAT
// rules (new connections per endpoint): the "without" ruleset of the unpaired method.
//
// `pairedTrafficCounters`: one ruleset serving both variants at once (the paired method). Every
// IPv4 base chain whose rules reach any counting (a counter, a counted set or map, the counting
// chain) keeps two rules only, `ct original ip saddr B goto nc-<chain>` then `goto counted-<chain>`:
// `counted-<chain>` holds its rendered rules, `nc-<chain>` the same rules stripped as above, and
// every regular chain and counted set or map has an uncounted copy (`nc-<chain>`, `<set>-nc`,
// their verdicts pointing at `nc-` chains) for the stripped rules to use. So the connections of
// the client's address B run the "without" ruleset and every other connection the rendered one,
// both after the same test and one goto per base chain. `ct original` is the connection's first
// source: the replies of B's connections take B's path too, whatever masquerade did.

import { NFT_NAMES as N } from '../src/backends/nftables/render.js';
import type { Expr, NftChain, NftRule, NftSet, NftTable } from '../src/backends/nftables/nft.js';
import { ENDPOINT_TRAFFIC_SETS } from '../src/backends/nftables/endpoint-traffic.js';

const COUNTING_BASE_CHAIN = 'filter-prerouting-post-dnat';
/** The sets only the counting chain uses: per Service and per endpoint. */
const COUNTING_SETS: ReadonlySet<string> = new Set([N.serviceTraffic, N.nodePortTraffic, ...Object.values(ENDPOINT_TRAFFIC_SETS)]);

const jumpsToCounting = (expr: readonly Expr[]) => expr.some((e) => (e.jump as { target?: string } | undefined)?.target === N.countTraffic);

/** A chain's rules without the jumps to the counting chain and without rule counters. */
const stripRules = (rules: readonly NftRule[]): NftRule[] =>
  rules.filter((r) => !jumpsToCounting(r.expr)).map((r) => ({ ...r, expr: r.expr.filter((e) => !('counter' in e)) }));

const uncountedSet = ({ counter: _c, ...s }: NftSet): NftSet => s;

export function withoutTrafficCounters(tables: readonly NftTable[]): NftTable[] {
  return tables.map((t) => ({
    ...t,
    sets: t.sets.filter((s) => !COUNTING_SETS.has(s.name)).map(uncountedSet),
    chains: t.chains.filter((c) => c.name !== N.countTraffic && c.name !== COUNTING_BASE_CHAIN).map((c) => ({ ...c, rules: stripRules(c.rules) })),
  }));
}

/** Prefix of the uncounted copy of a chain; suffix of the uncounted copy of a set or map. */
export const UNCOUNTED_CHAIN = 'nc-';
export const UNCOUNTED_SET = '-nc';
/** Prefix of the regular chain that holds a dispatched base chain's rendered rules. */
export const COUNTED_CHAIN = 'counted-';

/** Every jump/goto target and every `@set` named anywhere in `x` (rules' expressions, map verdicts). */
function refs(x: unknown, out: { chains: Set<string>; sets: Set<string> }): void {
  if (typeof x === 'string') {
    if (x.startsWith('@')) out.sets.add(x.slice(1));
  } else if (Array.isArray(x)) for (const y of x) refs(y, out);
  else if (x && typeof x === 'object') {
    for (const [k, v] of Object.entries(x)) {
      if ((k === 'jump' || k === 'goto') && v && typeof v === 'object') out.chains.add((v as { target: string }).target);
      else refs(v, out);
    }
  }
}

/** `x` with jump/goto targets moved to their `nc-` copies and counted sets to their `-nc` copies. */
function toUncounted(x: unknown, counted: ReadonlySet<string>): unknown {
  if (typeof x === 'string') return x.startsWith('@') && counted.has(x.slice(1)) ? `${x}${UNCOUNTED_SET}` : x;
  if (Array.isArray(x)) return x.map((y) => toUncounted(y, counted));
  if (!x || typeof x !== 'object') return x;
  return Object.fromEntries(
    Object.entries(x).map(([k, v]) =>
      (k === 'jump' || k === 'goto') && v && typeof v === 'object'
        ? [k, { ...(v as object), target: `${UNCOUNTED_CHAIN}${(v as { target: string }).target}` }]
        : [k, toUncounted(v, counted)],
    ),
  );
}

/** The chains of `t` whose rules count, directly or through a chain or map they reach. */
function countingChains(t: NftTable): Set<string> {
  const counted = new Set(t.sets.filter((s) => s.counter).map((s) => s.name));
  const setTargets = new Map(t.sets.map((s) => [s.name, (() => { const o = { chains: new Set<string>(), sets: new Set<string>() }; refs(s.elements.map((e) => e.value), o); return o.chains; })()]));
  const reach = new Map(
    t.chains.map((c) => {
      const o = { chains: new Set<string>(), sets: new Set<string>() };
      refs(c.rules.map((r) => r.expr), o);
      for (const s of o.sets) for (const target of setTargets.get(s) ?? []) o.chains.add(target);
      const direct = c.name === N.countTraffic || c.rules.some((r) => r.expr.some((e) => 'counter' in e)) || [...o.sets].some((s) => counted.has(s));
      return [c.name, { direct, chains: o.chains }];
    }),
  );
  const out = new Set([...reach].filter(([, v]) => v.direct).map(([k]) => k));
  for (let grew = true; grew; ) {
    grew = false;
    for (const [name, v] of reach) if (!out.has(name) && [...v.chains].some((c) => out.has(c))) (out.add(name), (grew = true));
  }
  return out;
}

/** The rule a dispatched base chain starts with: the uncounted source's connections go to the copy. */
export function uncountedDispatch(source: string, base: string): NftRule {
  return { expr: [{ match: { op: '==', left: { ct: { key: 'ip saddr', dir: 'original' } }, right: source } }, { goto: { target: `${UNCOUNTED_CHAIN}${base}` } }] };
}

/**
 * One ruleset for both variants, the connections of IPv4 address `source` uncounted (see the head of this file). ip6
 * tables stay as rendered. `control`: the method's own control, `source` takes a twin of the counted path (every
 * chain and counted set copied with its counters), so both addresses do the same work and any difference is the method's.
 */
export function pairedTrafficCounters(tables: readonly NftTable[], source: string, control = false): NftTable[] {
  return tables.map((t) => {
    if (t.family !== 'ip') return t;
    const counted = new Set(t.sets.filter((s) => s.counter).map((s) => s.name));
    const counting = countingChains(t);
    const copy = (c: NftChain, name: string): NftChain => ({ name, rules: (control ? c.rules : stripRules(c.rules)).map((r) => ({ ...r, expr: toUncounted(r.expr, counted) as Expr[] })) });
    const chains: NftChain[] = [];
    for (const c of t.chains) {
      if (!c.base) {
        chains.push(c);
        if (control || c.name !== N.countTraffic) chains.push(copy(c, `${UNCOUNTED_CHAIN}${c.name}`));
      } else if (counting.has(c.name)) {
        chains.push({ ...c, rules: [uncountedDispatch(source, c.name), { expr: [{ goto: { target: `${COUNTED_CHAIN}${c.name}` } }] }] });
        chains.push({ name: `${COUNTED_CHAIN}${c.name}`, rules: c.rules }, copy(c, `${UNCOUNTED_CHAIN}${c.name}`));
      } else chains.push(c);
    }
    const copies = t.sets
      .filter((s) => s.counter && (control || !COUNTING_SETS.has(s.name)))
      .map((s) => ({ ...(control ? s : uncountedSet(s)), name: `${s.name}${UNCOUNTED_SET}`, elements: s.elements.map((e) => (e.value ? { ...e, value: toUncounted(e.value, counted) as NftSet['elements'][number]['value'] } : e)) }));
    return { ...t, sets: [...t.sets, ...copies], chains };
  });
}
