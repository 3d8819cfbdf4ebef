// diffTable (diff.ts) for a full sync's read-back, computed while the live table's
// listing streams in (listing-stream.ts), set by set and chain by chain (issue 16 §1).
// Parsed whole, the main table's listing and its desired twin took a 44k-Service agent
// from 262 to 413 MiB. Here what is alive is:
// - for the set being listed, one number per desired element not yet met (a hash of its
//   key, value and comment), made from the Services' fragments when the set's first live
//   element comes; each live element is looked up as it comes and kept only when it
//   differs (nothing when the kernel agrees). The desired elements still unmet at the
//   set's end are made again and added;
// - a count and a verdict per live chain: each rule is compared with its desired twin as
//   it comes, and the Services' desired chains are made one Service at a time, when the
//   listing reaches them (DesiredTable.groups), never the table's whole. A Service whose
//   chains all agree (rules and hook) is not made again at the end: each Service made
//   costs an inflate and a JSON.parse of its fragments (~88k of them at 44k Services,
//   when the end walked them twice: diff 1.0 -> 17.3 s);
// - the declarations of chains and sets, and whatever differs.
// Same semantics, same commands in the same order as diffTable.

import { canon, uniqueElements } from './document.js';
import { baseDiffers, diffAgainst, elementKey, needsReplace, type NftTransaction } from './diff.js';
import { elementId } from './element-refs.js';
import type { NftListingSink } from './listing-stream.js';
import { hash53 } from './string-hash.js';
import type { NftChain, NftElement, NftRule, NftSet, NftTable } from './nft.js';
import { readChain, readElement, readRule, readSet, type Body } from './read.js';

/**
 * Chains made a group at a time (a shard's: one group a Service, made from its packed
 * fragments), never all at once.
 */
export interface ChainGroups {
  /** The groups, in order. */
  readonly keys: readonly string[];
  /** A group's chains, in order, made anew at each call. */
  chains(key: string): readonly NftChain[];
  /** The group a chain's name says it is of (one of keys), or undefined. */
  of(chainName: string): string | undefined;
}

export interface DesiredTable {
  /**
   * The table's declarations: its sets, each with only its own elements (the skeleton's),
   * and its chains, all of them or the first ones (the skeleton's: see groups).
   */
  readonly table: NftTable;
  /** The elements a set holds beyond its own, in order, each once (the Services'), made as they are pulled. */
  more(set: NftSet): Iterable<NftElement>;
  /** The chains after table.chains, group by group. */
  readonly groups?: ChainGroups;
}

/** The chains of `groups`, in order, one group made at a time (each call walks them anew). */
export function* groupedChains(groups: ChainGroups): Generator<NftChain> {
  for (const key of groups.keys) yield* groups.chains(key);
}

/** Every element a desired set holds, in order, each key once: its own, then `more`'s (as table-load.ts writes them). */
export function* wantedElements(d: DesiredTable, s: NftSet): Generator<NftElement> {
  const own = uniqueElements(s);
  yield* own;
  const ids = new Set(own.map(elementId));
  for (const e of d.more(s)) if (!ids.has(elementId(e))) yield e;
}

/** One rule as diff.ts rulesKey writes each of a chain's. */
function ruleKey(r: NftRule): string {
  return canon({ expr: r.expr, comment: r.comment ?? null });
}

/** What of an element is not its key (elementFull = key + this): '' for a bare key, the commonest kind. */
function valueAndComment(e: NftElement): string {
  const v = e.value ?? null;
  const c = e.comment ?? null;
  return v === null && c === null ? '' : canon([v, c]);
}

/** A live element again, from its key and valueAndComment (to delete it). */
function liveElement(key: string, rest: string): NftElement {
  const [value, comment] = rest === '' ? [null, null] : (JSON.parse(rest) as [NftElement['value'] | null, string | null]);
  return { key: JSON.parse(key) as unknown, ...(value !== null ? { value } : {}), ...(comment !== null ? { comment } : {}) };
}

interface ElementDiff {
  readonly remove: NftElement[];
  readonly add: NftElement[];
}

/** The desired set's elements against the live ones (`have`: elementKey -> valueAndComment; emptied of those that agree). */
function diffElements(d: DesiredTable, s: NftSet, have: Map<string, string>): ElementDiff {
  const toAdd: NftElement[] = [];
  for (const e of wantedElements(d, s)) {
    const k = elementKey(e);
    if (have.get(k) === valueAndComment(e)) have.delete(k);
    else toAdd.push(e);
  }
  // What is left is live and either not wanted or wanted otherwise: deleted (and re-added).
  return { remove: [...have].map(([k, rest]) => liveElement(k, rest)), add: toAdd };
}

/** What identifies an element whole (elementFull's equality): its key, value and comment. */
export function elementText(e: NftElement): string {
  return `${elementKey(e)}\u0000${valueAndComment(e)}`;
}

/**
 * A desired set's elements, compared with the live ones as they come. `pending` holds a
 * hash of each desired element not met yet; a live element whose hash is pending is met,
 * any other is kept to be deleted. Should two desired elements hash alike (odds ~n^2 /
 * 2^54), the set is compared exactly instead, the live elements' text kept (`exact`).
 */
class SetComparison {
  private readonly pending: Set<number> | undefined;
  private readonly exact: Map<string, string> | undefined;
  private readonly remove: NftElement[] = [];

  constructor(
    private readonly desired: DesiredTable,
    private readonly want: NftSet,
    private readonly hash: (text: string) => number,
  ) {
    const pending = new Set<number>();
    for (const e of wantedElements(desired, want)) {
      const h = hash(elementText(e));
      if (pending.has(h)) {
        this.exact = new Map();
        return;
      }
      pending.add(h);
    }
    this.pending = pending;
  }

  live(e: NftElement): void {
    if (this.exact) this.exact.set(elementKey(e), valueAndComment(e));
    else if (!this.pending!.delete(this.hash(elementText(e)))) this.remove.push(e);
  }

  /** How many live elements are held (the ones that differ; every one when exact). */
  get held(): number {
    return this.exact ? this.exact.size : this.remove.length;
  }

  /** The deletions (live elements, in the listing's order) and additions (desired, in order). */
  finish(): ElementDiff {
    if (this.exact) return diffElements(this.desired, this.want, this.exact);
    const pending = this.pending!;
    const add: NftElement[] = [];
    if (pending.size) for (const e of wantedElements(this.desired, this.want)) if (pending.has(this.hash(elementText(e)))) add.push(e);
    return { remove: this.remove, add };
  }
}

/** Options of StreamedTableDiff (tests). */
export interface StreamedDiffOptions {
  /** The hash of an element's text (default hash53, seeded at random): tests give a weaker one to reach the exact path. */
  readonly hash?: (text: string) => number;
}

/**
 * The sink of one table's listing. After the listing, `finish` gives diffTable's
 * transaction, or undefined when a declaration cannot change in place (a set's type, a
 * base chain's hook): then the table is replaced whole, as diffTable does.
 */
export class StreamedTableDiff implements NftListingSink {
  /** Made at the listing's first item: a table the kernel lacks (a first sync) never makes it. */
  private want: { desired: DesiredTable; sets: Map<string, NftSet>; chains: Map<string, NftChain> } | undefined;
  private readonly liveSets = new Map<string, NftSet>();
  private readonly liveChains = new Map<string, NftChain>();
  /**
   * Each live chain's rules, compared one by one with the desired chain's as they come
   * (rulesKey equal = as many rules, each canonically equal): nothing of them is kept.
   */
  private readonly liveRules = new Map<string, { count: number; same: boolean }>();
  private readonly elementDiffs = new Map<string, ElementDiff>();
  /** The group whose chains were made last (a listing gives a group's chains, and their rules, one after another). */
  private lastGroup: { key: string; chains: Map<string, NftChain> } | undefined;
  /** Each group made while listing: its chains' names, rule counts and hooks (what finish needs to tell it agrees). */
  private readonly madeGroups = new Map<string, { name: string; rules: number; base: string }[]>();
  /** The stand-ins finish walks for a group that agrees: a name, no rules (diffAgainst needs nothing else of a chain that agrees). */
  private readonly agreeing = new WeakSet<NftChain>();
  /** The set whose elements are being listed (they come before the set's own item); no comparison: not wanted, or the kernel's own (dynamic). */
  private reading: { name: string; comparison: SetComparison | undefined } | undefined;
  private replace = false;
  private readonly hash: (text: string) => number;

  constructor(
    private readonly makeDesired: () => DesiredTable,
    options: StreamedDiffOptions = {},
  ) {
    // A seed of its own: two texts that meet in this read-back do not meet in the next.
    const seed = (Math.random() * 0x100000000) | 0;
    this.hash = options.hash ?? ((text) => hash53(text, seed));
  }

  private wanted(): { desired: DesiredTable; sets: Map<string, NftSet>; chains: Map<string, NftChain> } {
    if (!this.want) {
      const desired = this.makeDesired();
      this.want = { desired, sets: new Map(desired.table.sets.map((s) => [s.name, s])), chains: new Map(desired.table.chains.map((c) => [c.name, c])) };
    }
    return this.want;
  }

  /** The desired chain named so: the table's own, else its group's (made once a group, what finish needs of it noted). */
  private desiredChain(name: string): NftChain | undefined {
    const { desired, chains } = this.wanted();
    const own = chains.get(name);
    if (own || !desired.groups) return own;
    const key = desired.groups.of(name);
    if (key === undefined) return undefined;
    if (this.lastGroup?.key !== key) {
      const made = desired.groups.chains(key);
      this.lastGroup = { key, chains: new Map(made.map((c) => [c.name, c])) };
      this.madeGroups.set(
        key,
        made.map((c) => ({ name: c.name, rules: c.rules.length, base: canon(c.base ?? null) })),
      );
    }
    return this.lastGroup.chains.get(name);
  }

  /**
   * Stand-ins for a group's chains when every one of them is live with the desired rules
   * and hook (as compared while listing); undefined when one differs or the group was
   * never made (it had no live rule): then finish makes it.
   */
  private agreeingGroup(key: string): NftChain[] | undefined {
    const made = this.madeGroups.get(key);
    if (!made) return undefined;
    for (const c of made) {
      const rules = this.liveRules.get(c.name);
      if (!rules?.same || rules.count !== c.rules || canon(this.liveChains.get(c.name)!.base ?? null) !== c.base) return undefined;
    }
    return made.map(({ name }) => {
      const standIn: NftChain = { name, rules: [] };
      this.agreeing.add(standIn);
      return standIn;
    });
  }

  /**
   * The desired chains for diffAgainst's one walk: the table's own, then each group's,
   * made again only if it does not agree; a hook that differs stops the walk (`replace`).
   */
  private *finalChains(d: DesiredTable): Generator<NftChain> {
    yield* d.table.chains; // their hooks: checked by finish's needsReplace
    if (!d.groups) return;
    for (const key of d.groups.keys) {
      const agreeing = this.agreeingGroup(key);
      if (agreeing) {
        yield* agreeing;
        continue;
      }
      for (const c of d.groups.chains(key)) {
        if (baseDiffers(this.liveChains.get(c.name), c)) {
          this.replace = true;
          return;
        }
        yield c;
      }
    }
  }

  /** A comparison for the desired set `name`, or none (not wanted, or dynamic: its elements are the kernel's). */
  private comparisonFor(name: string): SetComparison | undefined {
    const { desired, sets } = this.wanted();
    const want = sets.get(name);
    return want && !want.dynamic ? new SetComparison(desired, want, this.hash) : undefined;
  }

  /** How many live elements the diff holds now (tests: none while the kernel agrees). */
  get heldElements(): number {
    let n = this.reading?.comparison?.held ?? 0;
    for (const d of this.elementDiffs.values()) n += d.remove.length;
    return n;
  }

  element(owner: { readonly kind: 'set' | 'map'; readonly name: string }, raw: unknown): void {
    if (this.replace) return;
    if (this.reading?.name !== owner.name) this.reading = { name: owner.name, comparison: this.comparisonFor(owner.name) };
    this.reading.comparison?.live(readElement(owner.kind, raw));
  }

  object(item: Record<string, Body>): void {
    const setBody = item.set ?? item.map;
    if (setBody) {
      const live = readSet(item.set ? 'set' : 'map', setBody);
      // A set listed with no elements was never compared: every desired element is added.
      const comparison = this.reading?.name === live.name ? this.reading.comparison : undefined;
      this.reading = undefined;
      this.liveSets.set(live.name, live);
      this.compareSet(live, comparison);
    } else if (item.chain) {
      const c = readChain(item.chain);
      this.liveChains.set(c.name, c);
      this.liveRules.set(c.name, { count: 0, same: true });
    } else if (item.rule) {
      const chain = String(item.rule.chain);
      const rules = this.liveRules.get(chain);
      if (!rules) return; // a rule of a chain not listed: as read.ts, ignored
      if (rules.same) {
        const want = this.desiredChain(chain)?.rules[rules.count];
        rules.same = want !== undefined && ruleKey(want) === ruleKey(readRule(item.rule));
      }
      rules.count++;
    }
  }

  private compareSet(live: NftSet, comparison: SetComparison | undefined): void {
    const { desired, sets } = this.wanted();
    const want = sets.get(live.name);
    if (!want || this.replace) return; // not wanted: removed whole (finish)
    if (needsReplace({ ...desired.table, sets: [want], chains: [] }, () => live, () => undefined)) {
      this.replace = true;
      this.elementDiffs.clear();
      return;
    }
    if (!want.dynamic) this.elementDiffs.set(live.name, comparison ? comparison.finish() : diffElements(desired, want, new Map()));
  }

  /** diffTable(desired, live)'s transaction; undefined: replace the table whole. */
  finish(): NftTransaction | undefined {
    const { desired: d } = this.wanted();
    const desired = d.table;
    // The sets' and the table's own chains' declarations here; the groups' chains' hooks
    // in diffAgainst's walk (finalChains), so that each group is walked once.
    if (this.replace || needsReplace(desired, (n) => this.liveSets.get(n), (n) => this.liveChains.get(n))) return undefined;
    this.lastGroup = undefined;
    const tx = diffAgainst(
      desired,
      {
        hasSet: (name) => this.liveSets.has(name),
        sameRules: (c) => {
          if (this.agreeing.has(c)) return true;
          const rules = this.liveRules.get(c.name);
          return rules && rules.same && rules.count === c.rules.length;
        },
        elements: (s) => (this.liveSets.has(s.name) ? this.elementDiffs.get(s.name)! : diffElements(d, s, new Map())),
        chains: [...this.liveChains.values()].map((chain) => ({ chain, rules: this.liveRules.get(chain.name)!.count })),
        sets: this.liveSets.values(),
      },
      this.finalChains(d),
    );
    return this.replace ? undefined : tx;
  }
}
