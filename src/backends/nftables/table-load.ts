// The commands that load one table into a kernel that holds none of it, made one at a
// time as the transaction's text is written. A full load lists each element in a
// command of its own (diff.ts fullReplace, document.ts tableObjects): at 10k Services
// the main table's ~10^5 one-element commands, built as a list first, were ~20 MB of
// objects alive together while the table was written; made lazily, a few hundred are.

import { uniqueElements } from './document.js';
import { elementId } from './element-refs.js';
import type { NftChain, NftElement, NftSet, NftTable } from './nft.js';
import { add, chainObject, elementObject, ruleObject, setObject, tableObject, type NftCommand } from './transaction.js';

/**
 * The commands diffTable(t, undefined) returns, in the same order; `onCommand` counts
 * them (its `changes`). `more`: elements a set has beyond its `elements`, made as they
 * are written (each key once, after the set's own: one of those with the same key wins).
 * `moreChains`: chains after `t.chains`, made as they are written (walked twice: their
 * declarations, then their rules), so a shard's Service chains are never alive together.
 */
export function* tableLoadCommands(
  t: NftTable,
  onCommand: () => void,
  more?: (s: NftSet) => Iterable<NftElement>,
  moreChains?: () => Iterable<NftChain>,
): Generator<NftCommand> {
  const out = (c: NftCommand): NftCommand => (onCommand(), c);
  const chains = function* (): Generator<NftChain> {
    yield* t.chains;
    if (moreChains) yield* moreChains();
  };
  yield out(add(tableObject(t)));
  for (const s of t.sets) yield out(add(setObject(t, s)));
  for (const c of chains()) yield out(add(chainObject(t, c)));
  for (const c of chains()) for (const r of c.rules) yield out(add(ruleObject(t, c.name, r)));
  for (const s of t.sets) {
    const own = uniqueElements(s);
    for (const e of own) yield out(add(elementObject(t, s, [e])));
    if (!more) continue;
    const ownIds = new Set(own.map(elementId));
    for (const e of more(s)) if (!ownIds.has(elementId(e))) yield out(add(elementObject(t, s, [e])));
  }
}
