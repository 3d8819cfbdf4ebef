// Our nftables document (`svcplane render --backend nftables`, dist/rules/nftables.json)
// back into tables, through the backend's one reader of nft JSON (read.ts). Every
// table of ours in the family is read (the main table and any shard tables).

import type { NftFamily, NftTable } from './nft.js';
import { NftDocumentError, readNftDocument } from './read.js';
import { isOurTable } from './trace.js';
import { TraceError } from '../trace-result.js';

export function parseNftDocument(text: string, family: NftFamily): NftTable[] {
  try {
    return readNftDocument(text, (f, name) => f === family && isOurTable(name));
  } catch (e) {
    // A broken document is bad input to the trace, named as such.
    if (e instanceof NftDocumentError) throw new TraceError(e.message);
    throw e;
  }
}
