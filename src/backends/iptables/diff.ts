// Desired chains vs chains read back from the kernel -> restore input holding only
// what changed (kube-proxy's partial sync): changed or new chains are declared
// (which flushes just them) and rewritten whole; chains of ours that are no longer
// wanted are flushed and deleted. Live chains that already match are not touched,
// and no built-in chain is ever named. Pure.

import { tableText } from './document.js';
import { PackedChain, ruleCount } from './packed-chains.js';
import type { IptChain, IptTables, TableName } from './render.js';

export interface TableDiff {
  readonly table: TableName;
  readonly changed: readonly IptChain[];
  readonly deleted: readonly string[];
}

function sameRules(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether `have` (live or as last written) holds the rules of `c`. */
function sameChain(have: readonly string[] | IptChain, c: IptChain): boolean {
  // The same object: the syncer's written chains are the cached fragments' chains, so an
  // unchanged Service's chains compare in one step, without unpacking them (10^5 chains
  // per sync at 10k Services).
  if (have === c) return true;
  // Chain objects of a kept fragment are made when read: two of them stand for the same group.
  if (have instanceof PackedChain && c instanceof PackedChain && have.sameAs(c)) return true;
  if (Array.isArray(have)) return sameRules(have, c.rules);
  const chain = have as IptChain;
  return ruleCount(chain) === ruleCount(c) && sameRules(chain.rules, c.rules);
}

/**
 * Our chains in the kernel (or as last written), by name: their rules, the chains
 * themselves (the syncer's memory of what it wrote), or, from a read-back compared as it
 * was read (saved-comparison.ts), whether each equals the desired chain of its name.
 */
export type LiveChains = ReadonlyMap<string, readonly string[] | IptChain | boolean>;

/**
 * What to send for one table; empty lists when the kernel already matches. With `gone`
 * (a partial sync's delta, fragments.ts: `desired` is then only the chains that may have
 * changed), the chains deleted are those of `gone` that `live` holds, not every live chain
 * `desired` leaves out.
 */
export function diffTable(table: TableName, desired: readonly IptChain[], live: LiveChains, gone?: ReadonlySet<string>): TableDiff {
  const changed: IptChain[] = [];
  let liveWanted = 0;
  for (const c of desired) {
    const have = live.get(c.name);
    if (have !== undefined) liveWanted++;
    if (have === undefined || have === false || (have !== true && !sameChain(have, c))) changed.push(c);
  }
  if (gone) return { table, changed, deleted: [...gone].filter((n) => live.has(n)).sort() };
  // Chain names are unique on both sides: when every live chain is wanted, none is
  // deleted, and a partial sync skips a Set of every name (10^5 at 10k Services).
  if (liveWanted === live.size) return { table, changed, deleted: [] };
  const wanted = new Set(desired.map((c) => c.name));
  const deleted = [...live.keys()].filter((n) => !wanted.has(n)).sort();
  return { table, changed, deleted };
}

export interface FamilyDiff {
  readonly tables: readonly TableDiff[];
  /** Chains written plus chains deleted. */
  readonly changes: number;
  /** restore --noflush input; '' when nothing changed. Made when first read (the syncer streams the tables instead). */
  readonly text: string;
}

export function diffFamily(desired: IptTables, live: { filter: LiveChains; nat: LiveChains }, gone?: { filter: ReadonlySet<string>; nat: ReadonlySet<string> }): FamilyDiff {
  const tables = (['filter', 'nat'] as const).map((t) => diffTable(t, desired[t], live[t], gone?.[t]));
  let changes = 0;
  for (const d of tables) changes += d.changed.length + d.deleted.length;
  let text: string | undefined;
  return {
    tables,
    changes,
    get text() {
      text ??= tables.map((d) => (d.changed.length || d.deleted.length ? tableText(d.table, d.changed, d.deleted) : '')).join('');
      return text;
    },
  };
}
