// How a transaction is handed to iptables-nft-restore so that it loads in time that
// grows with its size, not with its square. Pure.
//
// Measured here (iptables v1.8.9 nf_tables, fresh namespace, `ip netns exec NS
// iptables-nft-restore --noflush -w < FILE`): a transaction that names N distinct chains
// costs O(N^2) in the tool's own user space (perf: ~57 % of it in strcmp), whatever the
// kernel already holds: 11k chain declarations alone 0.45 s, 22k 1.8 s, 44k 9.3 s; the
// 1k-Service ruleset 4.0 s, 2k 20.7 s, 10k never within 60 s. By all appearances, with
// --noflush the tool fetches only the chains the commands name and keeps their names in a
// list that each command walks. `-S` names no chain and makes it fetch the whole table
// instead (read-only: it prints the table as it is before this transaction): the 44k
// declarations then load in 0.58 s and the 10k-Service ruleset in 14.3 s.
//
// Its stdout is thrown away by the caller, but the exec layer holds it meanwhile, so it is
// sent only for large transactions. Below the threshold the square stays small (the
// 372-Service render, 4104 chains: 0.68 s as is, 0.42 s with the fetch), where printing a
// live table of 10k Services costs about as much and some 50 MB of memory (a partial sync of
// 1000 endpoint changes names ~2000 chains); a first sync into an empty table prints
// nearly nothing.

import type { TableDiff } from './diff.js';
import { tableLines } from './document.js';
import { linePieces } from './pieces.js';

/** From this many chain declarations on, a table's transaction gets the whole-table `-S`. */
export const WHOLE_TABLE_FROM_CHAINS = 4096;

/**
 * `text` (restore input, one or more `*TABLE … COMMIT` blocks) as pieces to write one
 * after the other, with `-S` right after each `*TABLE` line whose block declares at least
 * `fromChains` chains. Pieces are slices of `text`: no second copy of a 50 MB transaction.
 */
export function withWholeTableFetch(text: string, fromChains = WHOLE_TABLE_FROM_CHAINS): string[] {
  const starts = text.startsWith('*') ? [0] : [];
  for (let i = text.indexOf('\n*'); i >= 0; i = text.indexOf('\n*', i + 1)) starts.push(i + 1);
  const pieces: string[] = [];
  let from = 0; // start of the text not yet in `pieces`
  starts.forEach((t, k) => {
    const eol = text.indexOf('\n', t);
    const end = starts[k + 1] ?? text.length;
    if (eol < 0) return;
    let declared = 0;
    for (let i = text.indexOf('\n:', eol); i >= 0 && i < end && declared < fromChains; i = text.indexOf('\n:', i + 2)) declared++;
    if (declared < fromChains) return;
    pieces.push(text.slice(from, eol + 1), '-S\n');
    from = eol + 1;
  });
  pieces.push(text.slice(from));
  return pieces;
}

/**
 * The restore input of `tables` (document.ts's `tableLines` for each table that changed, the
 * whole-table fetch included when `fetch` and the table is large), joined a piece at a time
 * (pieces.ts) as the tool's stdin file pulls them: the syncer hands this over instead of a
 * 48 MB string at a first sync at 10k Services.
 */
export function restorePieces(tables: readonly TableDiff[], fetch: boolean, fromChains = WHOLE_TABLE_FROM_CHAINS): Generator<string> {
  return linePieces(restoreLinesOf(tables, fetch, fromChains));
}

function* restoreLinesOf(tables: readonly TableDiff[], fetch: boolean, fromChains: number): Generator<string> {
  for (const { table, changed, deleted } of tables) {
    if (changed.length === 0 && deleted.length === 0) continue;
    let fetchNext = fetch && changed.length + deleted.length >= fromChains; // right after `*TABLE`
    for (const line of tableLines(table, changed, deleted)) {
      yield line;
      if (fetchNext) yield '-S';
      fetchNext = false;
    }
  }
}
