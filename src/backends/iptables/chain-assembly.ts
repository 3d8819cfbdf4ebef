// One table's chains assembled from pieces (fragments.ts), with the chains several pieces
// add to (the shared ones: SVP-SERVICES, SVP-NODEPORTS…) copied into arrays of their exact
// length. Pushing a Service's rule at a time, SVP-SERVICES' array at 44k Services grew
// through backing stores of 19.6k, 29.4k and 44.1k elements: each over V8's 128 KiB
// large-object size, so in the old generation at once and freed only by a full collection
// (~0.75 MB per family per sync, every partial sync of the agent's changes). Counted
// first (`count`, each piece's rules in shared chains), a copy is one array. Pure.

import { ruleCount, OneRule } from './packed-chains.js';
import type { IptChain } from './render.js';
import type { KeptShared } from './kept-fragment.js';

interface Copy {
  readonly name: string;
  readonly rules: string[];
  /** Where the next rule goes. */
  at: number;
}

export class ChainAssembly {
  /** The chains in the order first named: a piece's own object, or the copy made when a second piece adds to it. */
  readonly byName = new Map<string, IptChain>();
  private readonly copies = new Map<string, Copy>();
  /** Rules each counted chain ends with (every piece's added up), by name. */
  private readonly sizes = new Map<string, number>();

  /** Counts `chains`' rules toward their chains' final sizes; call for every piece's shared chains before any `add`. */
  count(chains: KeptShared): void {
    if (chains instanceof OneRule) return this.countChain(chains);
    for (let i = 0; i < chains.length; i++) this.countChain(chains[i]!);
  }

  private countChain(c: IptChain): void {
    this.sizes.set(c.name, (this.sizes.get(c.name) ?? 0) + ruleCount(c));
  }

  /**
   * Appends `chains` in order. A chain only one piece adds to (a Service's own) is that
   * piece's chain object, not a copy: at 10k Services copying every chain on each sync
   * cost more than rendering the changed Service, and a Service's own chains are kept packed
   * (packed-chains.ts): reading their rules here would unpack them all.
   */
  add(chains: KeptShared): void {
    // A kept fragment's lone rule comes without a list around it (kept-fragment.ts).
    if (chains instanceof OneRule) return this.addChain(chains);
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
    let copy = this.copies.get(c.name);
    if (copy === undefined) {
      const first = have.rules;
      // Not counted (a chain two pieces own: none does by construction): grown as it goes.
      const size = Math.max(this.sizes.get(c.name) ?? 0, first.length);
      const rules = new Array<string>(size);
      for (let i = 0; i < first.length; i++) rules[i] = first[i]!;
      copy = { name: c.name, rules, at: first.length };
      this.copies.set(c.name, copy);
      this.byName.set(c.name, copy);
    }
    if (c instanceof OneRule) copy.rules[copy.at++] = c.rule;
    else for (const r of c.rules) copy.rules[copy.at++] = r;
  }

  /** The chains in order, each copy cut to the rules it got (the count and the adds saw the same pieces: nothing to cut). */
  chains(): IptChain[] {
    for (const copy of this.copies.values()) if (copy.rules.length !== copy.at) copy.rules.length = copy.at;
    return [...this.byName.values()];
  }
}
