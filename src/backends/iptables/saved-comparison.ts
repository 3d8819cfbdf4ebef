// A full sync's read-back of one table, compared with the render as iptables-save prints
// it, line by line: no save text held (~48 MB for nat at 10k Services) and no live chains
// built (~36 MB of rule strings and arrays), only, per chain of ours, how far it matched;
// the desired chains' rules are read one chain at a time (packed-chains.ts).
// Pure: the runner feeds it the lines (IptablesRunner.compareSaved).

import { CHAIN_PREFIX } from './names.js';
import { ruleCount } from './packed-chains.js';
import type { AnyTable, IptChain } from './render.js';

interface LiveChain {
  readonly name: string;
  /** The desired chain of that name; undefined when none is wanted. */
  readonly desired: IptChain | undefined;
  /**
   * Its rules while its lines are being read (iptables-save prints a chain's rules
   * together): read from the chain at its first line and let go at the next chain's, so a
   * packed chain (packed-chains.ts) is unpacked once and the render is never whole.
   */
  rules: readonly string[] | undefined;
  /** Live rules seen so far. */
  seen: number;
  /** Every live rule so far equals the desired one at its place. */
  same: boolean;
}

/** Our chains in one table of iptables-save output, each told equal or not to the desired chain of its name. */
export class SavedTableComparison {
  private readonly desired: ReadonlyMap<string, IptChain>;
  private readonly live = new Map<string, LiveChain>();
  private readonly header: string;
  private inTable = false;
  /** The chain of the last rule: iptables-save prints a chain's rules together. */
  private current: LiveChain | undefined;

  /** `desired`: the chains, or the render's own map of them by name (a second map of 110k chains at 10k Services otherwise). */
  constructor(table: AnyTable, desired: readonly IptChain[] | ReadonlyMap<string, IptChain>) {
    this.header = `*${table}`;
    this.desired = Array.isArray(desired) ? new Map(desired.map((c) => [c.name, c])) : (desired as ReadonlyMap<string, IptChain>);
  }

  /** One line of `iptables-save -t TABLE` (without its newline). */
  line(line: string): void {
    if (line.startsWith('*')) {
      this.inTable = line === this.header;
    } else if (!this.inTable) {
      return;
    } else if (line.startsWith(':')) {
      const name = firstWord(line, 1);
      if (!name.startsWith(CHAIN_PREFIX)) return;
      const desired = this.desired.get(name);
      this.live.set(name, { name, desired, rules: undefined, seen: 0, same: desired !== undefined });
    } else if (line.startsWith('-A ')) {
      let c = this.current;
      if (c === undefined || !ruleOf(line, c.name)) {
        if (c !== undefined) c.rules = undefined;
        c = this.current = this.live.get(firstWord(line, 3));
      }
      if (c === undefined) return; // not ours
      if (c.same) {
        const rules = (c.rules ??= c.desired!.rules);
        c.same = c.seen < rules.length && rules[c.seen] === line;
      }
      c.seen++;
    }
  }

  /** Our live chains by name: true when the chain equals the desired one of its name, rule for rule. */
  result(): Map<string, boolean> {
    const out = new Map<string, boolean>();
    for (const c of this.live.values()) out.set(c.name, c.same && c.seen === ruleCount(c.desired!));
    return out;
  }
}

/** `-A NAME …`: the line is a rule of chain `name` (without cutting the name out). */
function ruleOf(line: string, name: string): boolean {
  return line.startsWith(name, 3) && line.charCodeAt(3 + name.length) === 32;
}

function firstWord(line: string, from: number): string {
  const space = line.indexOf(' ', from);
  return line.slice(from, space < 0 ? undefined : space);
}
