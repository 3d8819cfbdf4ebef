// One table's chains assembled from pieces (fragments.ts), with the chains several pieces
// add to (the shared ones: SVP-SERVICES, SVP-NODEPORTS…) copied into arrays of their exact
// length. Pushing a Service's rule at a time, SVP-SERVICES' array at 44k Services grew
// through backing stores of 19.6k, 29.4k and 44.1k elements: each over V8's 128 KiB
// large-object size, so in the old generation at once and freed only by a full collection
// (~0.75 MB per family per sync, every partial sync of the agent's changes). Counted
// first (`count`, each piece's rules in shared chains), a copy is one array. Given the
// chains as last written (`like`: a partial sync's), a shared chain is read against the
// written one as it is added to, and is that very chain while every rule matches (nearly
// always: an endpoint change leaves a Service's SVP-SERVICES rule as it was), so nothing is
// copied and the diff finds it unchanged at once. Pure.

import { OneRule, PackedChain, ruleCount } from './packed-chains.js';
import type { IptChain } from './render.js';
import { chainOfRule, type KeptShared } from './kept-fragment.js';

interface Copy {
  readonly name: string;
  /** The copy's rules; while it follows a written chain, that chain's (read, never written to). */
  rules: string[];
  /** Where the next rule goes. */
  at: number;
  /** The written chain whose first `at` rules are this chain's so far; undefined once they differ. */
  following: IptChain | undefined;
}

export class ChainAssembly {
  /** The chains in the order first named: a piece's own object, or the copy made when a second piece adds to it. */
  readonly byName = new Map<string, IptChain>();
  private readonly copies = new Map<string, Copy>();
  /** Rules each counted chain ends with (every piece's added up), by name. */
  private readonly sizes = new Map<string, number>();

  /** `like`: the table's chains as last written, by name (a shared chain equal to its written one is that chain). */
  constructor(private readonly like?: ReadonlyMap<string, IptChain>) {}

  /** Counts `chains`' rules toward their chains' final sizes; call for every piece's shared chains before any `add`. */
  count(chains: KeptShared): void {
    if (typeof chains === 'string') return this.countRules(this.chainOf(chains), 1);
    for (let i = 0; i < chains.length; i++) this.countRules(chains[i]!.name, ruleCount(chains[i]!));
  }

  private countRules(name: string, n: number): void {
    this.sizes.set(name, (this.sizes.get(name) ?? 0) + n);
  }

  /** The last chain a lone rule was in: the next one's is nearly always the same (SVP-SERVICES). */
  private lastRuleChain: string | undefined;

  /** The chain of a kept lone rule (kept-fragment.ts), read off its line without making a name each time. */
  private chainOf(rule: string): string {
    return (this.lastRuleChain = chainOfRule(rule, this.lastRuleChain));
  }

  /**
   * Appends `chains` in order. A chain only one piece adds to (a Service's own) is that
   * piece's chain object, not a copy: at 10k Services copying every chain on each sync
   * cost more than rendering the changed Service, and a Service's own chains are kept packed
   * (packed-chains.ts): reading their rules here would unpack them all.
   */
  add(chains: KeptShared): void {
    // A kept fragment's lone rule comes as its line alone (kept-fragment.ts).
    if (typeof chains === 'string') return this.addRule(chains);
    // Indexed: run once per piece per sync, for...of's iterator objects were garbage of every sync.
    for (let i = 0; i < chains.length; i++) this.addChain(chains[i]!);
  }

  private addChain(c: IptChain): void {
    const have = this.byName.get(c.name);
    if (have === undefined) {
      this.byName.set(c.name, c);
      return;
    }
    if (ruleCount(c) === 0) return;
    const copy = this.copyOf(c.name, have);
    if (c instanceof OneRule) this.push(copy, c.rule);
    else for (const r of c.rules) this.push(copy, r);
  }

  /** A lone rule line: appended to its chain as a OneRule of it would be, with no object made once the chain is named. */
  private addRule(rule: string): void {
    const name = this.chainOf(rule);
    const have = this.byName.get(name);
    if (have === undefined) this.byName.set(name, new OneRule(name, rule));
    else this.push(this.copyOf(name, have), rule);
  }

  /** The copy a second piece's rules for the chain `name` go into (`have`: the chain as first named), made at the first. */
  private copyOf(name: string, have: IptChain): Copy {
    let copy = this.copies.get(name);
    if (copy === undefined) {
      const first = have.rules;
      copy = this.follow(name, first) ?? { name, rules: this.sized(name, first, first.length), at: first.length, following: undefined };
      this.copies.set(name, copy);
      this.byName.set(name, copy);
    }
    return copy;
  }

  /** A copy following the written chain `name` when it starts with `first`; undefined otherwise. */
  private follow(name: string, first: readonly string[]): Copy | undefined {
    const prior = this.like?.get(name);
    // Only a chain that holds its array (a packed chain or a OneRule makes one per read).
    if (prior === undefined || prior instanceof PackedChain || prior instanceof OneRule) return undefined;
    const rules = prior.rules;
    if (rules.length < first.length) return undefined;
    for (let i = 0; i < first.length; i++) if (rules[i] !== first[i]) return undefined;
    return { name, rules, at: first.length, following: prior };
  }

  /** An array for the chain `name`'s rules, of its counted size, holding `from`'s first `n`. */
  private sized(name: string, from: readonly string[], n: number): string[] {
    // Not counted (a chain two pieces own: none does by construction): grown as it goes.
    const rules = new Array<string>(Math.max(this.sizes.get(name) ?? 0, n));
    for (let i = 0; i < n; i++) rules[i] = from[i]!;
    return rules;
  }

  private push(copy: Copy, rule: string): void {
    if (copy.following !== undefined) {
      if (copy.at < copy.rules.length && copy.rules[copy.at] === rule) {
        copy.at++;
        return;
      }
      // The first rule that differs from the written chain: copied from here on.
      copy.rules = this.sized(copy.name, copy.rules, copy.at);
      copy.following = undefined;
    }
    copy.rules[copy.at++] = rule;
  }

  /** The chains in order, each copy cut to the rules it got (the count and the adds saw the same pieces: nothing to cut). */
  chains(): IptChain[] {
    for (const copy of this.copies.values()) {
      if (copy.following === undefined) {
        if (copy.rules.length !== copy.at) copy.rules.length = copy.at;
      } else if (copy.at === copy.rules.length) {
        // Every rule as written, no more: the written chain itself (its place in the map kept).
        this.byName.set(copy.name, copy.following);
      } else {
        copy.rules = copy.rules.slice(0, copy.at);
        copy.following = undefined;
      }
    }
    return [...this.byName.values()];
  }
}
