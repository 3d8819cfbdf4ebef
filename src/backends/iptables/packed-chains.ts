// A Service's own chains (SVP-SVC/SVL/EXT/FW/SEP: no other piece adds to them) as the
// syncer keeps them between syncs: the rule lines of all of them deflated together, one
// string per Service and family, unpacked when someone reads a chain's rules. At 10k
// Services x 10 endpoints their text was most of the syncer's memory (44 M characters in
// 320k strings and 110k arrays, ~55 MB live); the shared chains (SVP-SERVICES,
// SVP-NODEPORTS, filter's), ~1.5 M characters, stay as they are. Pure.
//
// The nftables syncer's idea until session 14 (its packed-fragments.ts; it now keeps each
// Service's input and renders again instead): one Service's text (~4 kB) is too short
// for deflate to find much to repeat within itself, while every Service's rules share the
// same options, targets and comments: deflated against a preset dictionary (a sample of
// rule lines, then the first group packed in this process), which never changes once
// chosen, so whatever was packed unpacks. Kept as a one-byte string, not a Buffer (small
// Buffers share 8 KiB pool slabs, and one kept Buffer pins its slab: at 44k Services, 19 MB
// of packed text held 76 MB of ArrayBuffers when the nftables syncer kept Buffers).
//
// Reading: `rules` unpacks the group and slices the chain's lines out; the last two groups
// unpacked are remembered, so walking a Service's chains in order (a restore input, a
// read-back comparison), or its old and new chains side by side (a diff), inflates each
// group once. A chain object stands for its text: an unchanged Service's chains compare
// as the same chain of the same group without being unpacked (diff.ts, `sameAs`).
// Since session 16 a kept fragment holds no chain object per chain: one OwnChains record
// (the group, and the chains' names and rule counts in one string) from which `ownChains`
// makes them when a sync reads them.

import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import type { IptChain } from './render.js';

/** deflate's window: a longer dictionary is cut to its last 32 KiB. */
const MAX_DICTIONARY = 32 * 1024;

/** What every Service's rules are made of, so that the first groups deflate well too. */
const SAMPLE = [
  '-A SVP-SVC- -d /32 -p tcp -m comment --comment " cluster IP" -m tcp --dport  -j SVP-MARK-MASQ',
  '-A SVP-SVC- -m comment --comment " -> " -m statistic --mode random --probability 0.',
  '-A SVP-EXT- -m comment --comment " masquerade traffic for external destinations" -j SVP-MARK-MASQ',
  '-A SVP-EXT- -m comment --comment " masquerade LOCAL traffic for external destinations" -m addrtype --src-type LOCAL -j SVP-MARK-MASQ',
  '-A SVP-EXT- -m comment --comment " route LOCAL traffic for external destinations" -m addrtype --src-type LOCAL -j SVP-SVC-',
  '-A SVP-EXT- -m comment --comment " external destinations" -j SVP-SVL-',
  '-A SVP-FW- -s /32 -m comment --comment " loadbalancer IP" -j SVP-EXT-',
  '-A SVP-SEP- -s /32 -m comment --comment  -j SVP-MARK-MASQ',
  '-A SVP-SEP- -p udp -m comment --comment  -m recent --set --name SVP-SEP- --mask 255.255.255.255 --rsource -j DNAT --to-destination ',
  '-A SVP-SEP- -p tcp -m comment --comment  -j DNAT --to-destination ',
].join('\n');

let dictionary: Buffer | undefined;

/**
 * A group: its rule lines joined by '\n', deflated; '' when it has no rule. The chains hold
 * the string itself, not an object around it (~32 bytes a Service: 1.4 MB at 44k Services).
 */
type PackedGroup = string;

/** One chain of a packed group: rules `start` .. `start + count - 1` of the group's lines. */
export class PackedChain implements IptChain {
  constructor(
    readonly name: string,
    readonly group: PackedGroup,
    private readonly start: number,
    /** How many rules, known without unpacking. */
    readonly count: number,
  ) {}

  /** A fresh array each time: read it once per use. */
  get rules(): string[] {
    return this.count === 0 ? [] : linesOf(this.group).slice(this.start, this.start + this.count);
  }

  /**
   * Whether `other` stands for the same rules of the same group, without unpacking: chain
   * objects are made from a kept fragment each time they are read (ownChains), so an
   * unchanged Service's chains are two objects of one group.
   */
  sameAs(other: PackedChain): boolean {
    return this.group === other.group && this.start === other.start && this.count === other.count;
  }
}

// The last two groups unpacked, most recent first. Two, not one: a partial sync diffs a
// changed Service's new chains against its old ones, reading the two groups turn about, and
// with one remembered each read inflated a whole group again: at one Service of 10k
// endpoints (20k chains) that was ~113 s of inflating per endpoint change (BENCHMARKS.md,
// 1x10000, at 9fb4fe0).
const recent: Array<{ readonly group: PackedGroup; readonly lines: string[] }> = [];
let inflated = 0;

/** How many times a group was inflated in this process (for tests: reads that should reuse an unpacked group). */
export function inflations(): number {
  return inflated;
}

function linesOf(group: PackedGroup): string[] {
  // Two groups of equal text (compared as strings) unpack to the same lines.
  const i = recent.findIndex((r) => r.group === group);
  if (i >= 0) {
    const hit = recent[i]!;
    if (i > 0) recent.splice(i, 1), recent.unshift(hit);
    return hit.lines;
  }
  const lines = inflateRawSync(Buffer.from(group, 'latin1'), { dictionary }).toString('latin1').split('\n');
  inflated++;
  recent.unshift({ group, lines });
  if (recent.length > 2) recent.pop();
  return lines;
}

function pack(text: string): string {
  dictionary ??= Buffer.from(`${SAMPLE}\n${text}`.slice(-MAX_DICTIONARY), 'latin1');
  // The fastest level: the text is repetitive enough to shrink several times at it.
  return deflateRawSync(Buffer.from(text, 'latin1'), { level: constants.Z_BEST_SPEED, dictionary }).toString('latin1');
}

/**
 * A Service's one rule in a shared chain (its SVP-SERVICES rule, most often): the rule
 * itself, not a chain object around an array of one (96 bytes against 40: 2.5 MB at 44k
 * Services x 1). Its rules come as a fresh array, as a packed chain's do; the rule string
 * is the one the render made (the assembled shared chain holds it too).
 */
export class OneRule implements IptChain {
  constructor(
    readonly name: string,
    /** The rule itself: read it rather than `rules` where no array is wanted (an assembly's 10^4 pieces). */
    readonly rule: string,
  ) {}

  get rules(): string[] {
    return [this.rule];
  }
}

/** How many rules `chain` holds, without unpacking a packed one. */
export function ruleCount(chain: IptChain): number {
  return chain instanceof PackedChain ? chain.count : chain instanceof OneRule ? 1 : chain.rules.length;
}

/**
 * `chains` (of one or two tables: each list comes back in its order) with every chain not
 * in `shared` replaced by a PackedChain, all of them in one group, and a shared chain of one
 * rule by a OneRule. Rule lines are ASCII
 * (rule.ts: comments are sanitised), so latin1 keeps them as they are.
 */
export function packChains<T extends readonly (readonly IptChain[])[]>(lists: T, shared: ReadonlySet<string>): { [K in keyof T]: readonly IptChain[] } {
  const lines: string[] = [];
  for (const chains of lists) for (const c of chains) if (!shared.has(c.name)) for (const r of c.rules) lines.push(r);
  const group = lines.length ? pack(lines.join('\n')) : '';
  let start = 0;
  const out = lists.map((chains) =>
    chains.length === 0
      ? NO_CHAINS
      : chains.map((c) => {
          if (shared.has(c.name)) return c.rules.length === 1 ? new OneRule(c.name, c.rules[0]!) : c;
          const packed = new PackedChain(c.name, group, start, c.rules.length);
          start += c.rules.length;
          return packed;
        }),
  );
  return out as { [K in keyof T]: readonly IptChain[] };
}

/**
 * A Service's own chains as its kept fragment holds them: their rules in one packed group,
 * and which chains they are in one string, each table's `name count` pairs joined by ' ',
 * filter's then '|' then nat's. No chain object nor name string is kept per chain: at 10k
 * Services x 10 endpoints the 110k PackedChain objects and their names were ~10 MB of the
 * syncer's memory; they are made when read (ownChains), for the while of a sync.
 */
export interface OwnChains {
  readonly group: PackedGroup;
  readonly index: string;
}

/** The tables as `lists` (filter, nat) hold them with the Services' own chains taken out into one OwnChains. */
export interface PackedLists {
  readonly filter: readonly IptChain[];
  readonly nat: readonly IptChain[];
  /** Undefined when no chain is the Service's own. */
  readonly own?: OwnChains;
}

/**
 * `filter` and `nat` with every chain not in `shared` packed into one group (OwnChains),
 * and a shared chain of one rule kept as a OneRule. The chains' rules come back from
 * ownChains as packChains' PackedChains would give them.
 */
export function packOwnChains(filter: readonly IptChain[], nat: readonly IptChain[], shared: ReadonlySet<string>): PackedLists {
  const [pf, pn] = packChains([filter, nat] as const, shared);
  const index: string[] = [];
  const kept = (list: readonly IptChain[]) => {
    const out: IptChain[] = [];
    const pairs: string[] = [];
    for (const c of list) {
      if (c instanceof PackedChain) pairs.push(c.name, String(c.count));
      else out.push(c);
    }
    index.push(pairs.join(' '));
    // Copied to its exact length: a pushed-to array keeps room for 17.
    return out.length === 0 ? NO_CHAINS : out.slice();
  };
  const [f, n] = [kept(pf), kept(pn)];
  const first = pf.find((c) => c instanceof PackedChain) ?? pn.find((c) => c instanceof PackedChain);
  if (first === undefined) return { filter: f, nat: n };
  return { filter: f, nat: n, own: { group: (first as PackedChain).group, index: index.join('|') } };
}

/** The own chains of `table` in `own`, in order, as PackedChains (new objects each call). */
export function ownChains(own: OwnChains | undefined, table: 'filter' | 'nat'): PackedChain[] {
  if (own === undefined) return [];
  const bar = own.index.indexOf('|');
  // Rules of filter's chains come first in the group.
  let start = 0;
  const out: PackedChain[] = [];
  const parts = [own.index.slice(0, bar), own.index.slice(bar + 1)];
  for (let t = 0; t < 2; t++) {
    const tokens = parts[t] === '' ? [] : parts[t]!.split(' ');
    for (let i = 0; i < tokens.length; i += 2) {
      const count = Number(tokens[i + 1]);
      if ((t === 0) === (table === 'filter')) out.push(new PackedChain(tokens[i]!, own.group, start, count));
      start += count;
    }
  }
  return out;
}

/** How many rules the own chains of `table` in `own` hold: read off the index without making a string (every sync counts every Service's). */
export function ownRuleCount(own: OwnChains | undefined, table: 'filter' | 'nat'): number {
  if (own === undefined) return 0;
  const index = own.index;
  const bar = index.indexOf('|');
  const [from, to] = table === 'filter' ? [0, bar] : [bar + 1, index.length];
  let total = 0;
  let value = 0;
  // Tokens alternate name, count: the count is every second one.
  let token = 0;
  for (let i = from; i <= to; i++) {
    const ch = i < to ? index.charCodeAt(i) : 32;
    if (ch === 32) {
      if (i > from && token % 2 === 1) total += value;
      token++;
      value = 0;
    } else if (token % 2 === 1) value = value * 10 + ch - 48;
  }
  return from === to ? 0 : total;
}

/** How many own chains of `table` `own` holds: read off the index (name, count pairs) without making a string. */
export function ownChainCount(own: OwnChains | undefined, table: 'filter' | 'nat'): number {
  if (own === undefined) return 0;
  const index = own.index;
  const bar = index.indexOf('|');
  const [from, to] = table === 'filter' ? [0, bar] : [bar + 1, index.length];
  if (from === to) return 0;
  let tokens = 1;
  for (let i = from; i < to; i++) if (index.charCodeAt(i) === 32) tokens++;
  return tokens / 2;
}

/** A table a piece adds nothing to: one shared empty list, not one per Service (32 bytes each). */
const NO_CHAINS: readonly IptChain[] = Object.freeze([]);

/** A map of chains read as a map of their rules (unpacked on `get`): for code that takes rules by name. */
export class RulesByName implements ReadonlyMap<string, readonly string[]> {
  constructor(private readonly chains: ReadonlyMap<string, IptChain>) {}
  get size(): number {
    return this.chains.size;
  }
  get(name: string): readonly string[] | undefined {
    return this.chains.get(name)?.rules;
  }
  has(name: string): boolean {
    return this.chains.has(name);
  }
  keys(): MapIterator<string> {
    return this.chains.keys();
  }
  *values(): MapIterator<readonly string[]> {
    for (const c of this.chains.values()) yield c.rules;
  }
  *entries(): MapIterator<[string, readonly string[]]> {
    for (const [name, c] of this.chains) yield [name, c.rules];
  }
  [Symbol.iterator](): MapIterator<[string, readonly string[]]> {
    return this.entries();
  }
  forEach(fn: (rules: readonly string[], name: string, map: ReadonlyMap<string, readonly string[]>) => void): void {
    for (const [name, c] of this.chains) fn(c.rules, name, this);
  }
}
