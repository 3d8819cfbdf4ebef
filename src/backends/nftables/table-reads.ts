// A full sync's read-back, one table at a time (issue 16 §1). Reading every table
// back before diffing any (`NftRunner.list`) held them all parsed at once: at 44k
// Services x 1 endpoint that took the agent from ~360 to ~560 MiB. Here the tables
// come in the order asked, and the next one is read while the caller diffs the
// current one (nft's listing is another process's and the kernel's time), so at most
// two are alive parsed.

import type { NftFamily, NftTable } from './nft.js';

export type ReadTable = (family: NftFamily, name: string) => Promise<NftTable | undefined>;

/** The live twin of each of `tables` (undefined: the kernel has none), in order, one read ahead. */
export async function* readTablesInOrder(read: ReadTable, tables: readonly Pick<NftTable, 'family' | 'name'>[]): AsyncGenerator<NftTable | undefined> {
  const start = (i: number): Promise<NftTable | undefined> | undefined => {
    const t = tables[i];
    if (!t) return undefined;
    const p = read(t.family, t.name);
    // Should the caller stop (its diff threw) before awaiting it, a failed read ahead
    // must not become an unhandled rejection; awaited, it still throws below.
    p.catch(() => undefined);
    return p;
  };
  let next = start(0);
  for (let i = 0; next; i++) {
    const live = await next;
    next = start(i + 1);
    yield live;
  }
}
