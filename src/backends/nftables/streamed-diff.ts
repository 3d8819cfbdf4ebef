// diffTable (diff.ts) for a full sync's read-back, computed while the live table's
// listing streams in (listing-stream.ts), set by set and chain by chain (issue 16 §1).
// Parsed whole, the main table's listing and its desired twin took a 44k-Service agent
// from 262 to 413 MiB; here what is alive is the elements of the one set being read, as
// two short strings each (key, then value and comment, canonical), a count and a verdict
// per chain (each rule is compared with its desired twin as it comes), and the desired
// elements of that one set, made from the Services' fragments as they are
// compared. Same semantics, same commands in the same order as diffTable; the
// differences are held as element objects (none when the kernel agrees).

import { canon, uniqueElements } from './document.js';
import { diffAgainst, elementKey, needsReplace, type NftTransaction } from './diff.js';
import { elementId } from './element-refs.js';
import type { NftListingSink } from './listing-stream.js';
import type { NftChain, NftElement, NftRule, NftSet, NftTable } from './nft.js';
import { readChain, readElement, readRule, readSet, type Body } from './read.js';

export interface DesiredTable {
  /** The table's chains and sets, each set with only its own elements (the skeleton's). */
  readonly table: NftTable;
  /** The elements a set holds beyond its own, in order, each once (the Services'), made as they are pulled. */
  more(set: NftSet): Iterable<NftElement>;
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
  /** The elements of the set being listed (they come before the set's own item). */
  private reading: { name: string; have: Map<string, string> } | undefined;
  private replace = false;

  constructor(private readonly makeDesired: () => DesiredTable) {}

  private wanted(): { desired: DesiredTable; sets: Map<string, NftSet>; chains: Map<string, NftChain> } {
    if (!this.want) {
      const desired = this.makeDesired();
      this.want = { desired, sets: new Map(desired.table.sets.map((s) => [s.name, s])), chains: new Map(desired.table.chains.map((c) => [c.name, c])) };
    }
    return this.want;
  }

  element(owner: { readonly kind: 'set' | 'map'; readonly name: string }, raw: unknown): void {
    if (this.replace) return;
    if (this.reading?.name !== owner.name) this.reading = { name: owner.name, have: new Map() };
    const e = readElement(owner.kind, raw);
    this.reading.have.set(elementKey(e), valueAndComment(e));
  }

  object(item: Record<string, Body>): void {
    const setBody = item.set ?? item.map;
    if (setBody) {
      const live = readSet(item.set ? 'set' : 'map', setBody);
      const have = this.reading?.name === live.name ? this.reading.have : new Map<string, string>();
      this.reading = undefined;
      this.liveSets.set(live.name, live);
      this.compareSet(live, have);
    } else if (item.chain) {
      const c = readChain(item.chain);
      this.liveChains.set(c.name, c);
      this.liveRules.set(c.name, { count: 0, same: true });
    } else if (item.rule) {
      const chain = String(item.rule.chain);
      const rules = this.liveRules.get(chain);
      if (!rules) return; // a rule of a chain not listed: as read.ts, ignored
      if (rules.same) {
        const want = this.wanted().chains.get(chain)?.rules[rules.count];
        rules.same = want !== undefined && ruleKey(want) === ruleKey(readRule(item.rule));
      }
      rules.count++;
    }
  }

  private compareSet(live: NftSet, have: Map<string, string>): void {
    const { desired, sets } = this.wanted();
    const want = sets.get(live.name);
    if (!want || this.replace) return; // not wanted: removed whole (finish)
    if (needsReplace({ ...desired.table, sets: [want], chains: [] }, () => live, () => undefined)) {
      this.replace = true;
      this.elementDiffs.clear();
      return;
    }
    if (!want.dynamic) this.elementDiffs.set(live.name, diffElements(desired, want, have));
  }

  /** diffTable(desired, live)'s transaction; undefined: replace the table whole. */
  finish(): NftTransaction | undefined {
    const { desired: d } = this.wanted();
    const desired = d.table;
    if (this.replace || needsReplace(desired, (n) => this.liveSets.get(n), (n) => this.liveChains.get(n))) return undefined;
    return diffAgainst(desired, {
      hasSet: (name) => this.liveSets.has(name),
      sameRules: (c) => {
        const rules = this.liveRules.get(c.name);
        return rules && rules.same && rules.count === c.rules.length;
      },
      elements: (s) => (this.liveSets.has(s.name) ? this.elementDiffs.get(s.name)! : diffElements(d, s, new Map())),
      chains: [...this.liveChains.values()].map((chain) => ({ chain, rules: this.liveRules.get(chain.name)!.count })),
      sets: this.liveSets.values(),
    });
  }
}
