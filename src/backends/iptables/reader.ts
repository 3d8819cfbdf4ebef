// The iptables backend's reading half (RulesetReader, ../backend.ts): parse a
// rendered document, compare, and trace through it. Pure; loaded by `reader()`.

import type { IPFamily } from '../../model/ip.js';
import type { RulesetReader } from '../backend.js';
import { perFamilyTracer } from '../document-tracer.js';
import { parseSide } from '../ruleset-side.js';
import { compareIptables, iptablesTablesOf, parseIptablesDocument, type LiveTables } from './check.js';
import type { IptTables } from './render.js';
import { traceIptables } from './trace.js';
import { iptablesDocumentDump } from './trace-document.js';

const parse = (text: string): IptTables[] => iptablesTablesOf(parseIptablesDocument(text));

export const iptablesReader: RulesetReader<IptTables[], Record<IPFamily, LiveTables>> = {
  parse,
  compare: compareIptables,
  compareRulesets: (before, after) => {
    const older = parseSide(before, parseIptablesDocument);
    return compareIptables(parseSide(after, parse), older);
  },
  documentTracer: (document, node) =>
    perFamilyTracer((family) => {
      const dump = iptablesDocumentDump(document, family);
      return (packet) => traceIptables(dump, packet, node);
    }),
};
