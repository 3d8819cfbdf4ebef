// The IPVS backend's reading half (RulesetReader, ../backend.ts): parse a rendered
// document, compare, and trace through it. Pure; loaded by `reader()`.

import type { RulesetReader } from '../backend.js';
import { perFamilyTracer } from '../document-tracer.js';
import { parseSide } from '../ruleset-side.js';
import { compareIpvs, ipvsOwners, parseIpvsDocument, type IpvsLive } from './check.js';
import { SECTION, splitSections } from './document.js';
import type { IpvsRuleset } from './ruleset.js';
import { ipvsDocumentView, traceIpvs } from './trace.js';

/** Our document, read back; a text without every section of ours is refused (parseIpvsDocument would read it as empty). */
function parseDocument(text: string): ReturnType<typeof parseIpvsDocument> {
  const sections = splitSections(text);
  const missing = Object.values(SECTION).filter((s) => !sections.has(s));
  if (missing.length) throw new Error(`not an IPVS ruleset of svcplane: no section ${missing.map((s) => JSON.stringify(s)).join(', ')}`);
  return parseIpvsDocument(text);
}

export const ipvsReader: RulesetReader<IpvsRuleset, IpvsLive> = {
  parse: (text) => parseDocument(text).ruleset,
  // Without a node's context every live virtual server counts as ours, attributed
  // by the desired ones' labels (check adds the node's addresses and the plan).
  compare: (desired, live) => compareIpvs(desired, live, ipvsOwners([], desired.families.flatMap((f) => f.virtualServers)), () => true),
  compareRulesets: (before, after) => {
    const o = parseSide(before, parseDocument);
    const n = parseSide(after, parseDocument);
    const owners = ipvsOwners([after.plan, before.plan], [...n.ruleset.families, ...o.ruleset.families].flatMap((f) => f.virtualServers));
    return compareIpvs(n.ruleset, o.live, owners, () => true);
  },
  documentTracer: (document, node) =>
    perFamilyTracer((family) => {
      const view = ipvsDocumentView(document, family);
      return (packet) => traceIpvs(view, packet, node);
    }),
};
