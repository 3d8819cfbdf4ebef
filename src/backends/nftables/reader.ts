// The nftables backend's reading half (RulesetReader, ../backend.ts): parse a
// rendered document, compare, and trace through it. Pure; loaded by `reader()`.

import type { RulesetReader } from '../backend.js';
import { perFamilyTracer } from '../document-tracer.js';
import { parseSide } from '../ruleset-side.js';
import { compareNftTables, parseNftablesDocument } from './check.js';
import type { NftTable } from './nft.js';
import { traceNftables } from './trace.js';
import { parseNftDocument } from './trace-document.js';

export const nftablesReader: RulesetReader<NftTable[], NftTable[]> = {
  parse: parseNftablesDocument,
  compare: compareNftTables,
  compareRulesets: (before, after) => {
    const older = parseSide(before, parseNftablesDocument);
    return compareNftTables(parseSide(after, parseNftablesDocument), older);
  },
  documentTracer: (document, node) =>
    perFamilyTracer((family) => {
      const tables = parseNftDocument(document, family === 'IPv4' ? 'ip' : 'ip6');
      return (packet) => traceNftables(tables, packet, node);
    }),
};
