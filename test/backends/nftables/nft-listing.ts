// Tables as `nft -j list table|ruleset` prints them (a handle on every object, each set's
// elements inside it, chains then their rules; one line), for tests of what reads it:
// read.ts, and the streamed read-back (listing-stream.ts) through a FakeExec.

import { uniqueElements } from '../../../src/backends/nftables/document.js';
import type { NftTable } from '../../../src/backends/nftables/nft.js';
import { chainObject, elementValue, ruleObject, setObject, tableObject } from '../../../src/backends/nftables/transaction.js';

export function nftListing(tables: readonly NftTable[]): string {
  let handle = 1;
  const withHandle = (o: object) => {
    const [[kind, body]] = Object.entries(o) as [[string, object]];
    return { [kind]: { ...body, handle: handle++ } };
  };
  const out: object[] = [{ metainfo: { version: '1.0.9', release_name: 'Old Doc Yak #3', json_schema_version: 1 } }];
  for (const t of tables) {
    out.push(withHandle(tableObject(t)));
    for (const s of t.sets) {
      const [[kind, body]] = Object.entries(setObject(t, s)) as [[string, object]];
      const elem = uniqueElements(s).map((e) => elementValue(s, e));
      out.push(withHandle({ [kind]: elem.length ? { ...body, elem } : body }));
    }
    for (const c of t.chains) out.push(withHandle(chainObject(t, c)));
    for (const c of t.chains) for (const r of c.rules) out.push(withHandle(ruleObject(t, c.name, r)));
  }
  return JSON.stringify({ nftables: out });
}
