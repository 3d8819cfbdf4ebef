// The IPVS backend as one object (Backend in ../backend.ts). Render, parse, compare
// and the document tracer are pure and loaded with it; everything that runs ipvsadm,
// ipset, iptables or ip (apply, check, live reads and traces, the agent's syncer,
// cleanup) loads on first use. This machine's kernel has no IPVS: its kernel tests
// run in a VM (test/vm/).

import type { Backend } from '../backend.js';
import { perFamilyTracer } from '../document-tracer.js';
import { parseSide } from '../ruleset-side.js';
import { lazySyncer } from '../syncer.js';
import { compareIpvs, ipvsOwners, parseIpvsDocument, type IpvsLive } from './check.js';
import { SECTION, serializeIpvs, splitSections } from './document.js';
import { ipvsSysctls } from './kernel-settings.js';
import { renderIpvs } from './render.js';
import type { IpvsRuleset } from './ruleset.js';
import { ipvsDocumentView, traceIpvs } from './trace.js';

/** Our document, read back; a text without every section of ours is refused (parseIpvsDocument would read it as empty). */
function parseDocument(text: string): ReturnType<typeof parseIpvsDocument> {
  const sections = splitSections(text);
  const missing = Object.values(SECTION).filter((s) => !sections.has(s));
  if (missing.length) throw new Error(`not an IPVS ruleset of svcplane: no section ${missing.map((s) => JSON.stringify(s)).join(', ')}`);
  return parseIpvsDocument(text);
}

export const ipvsBackend: Backend<IpvsRuleset, IpvsLive> = {
  name: 'ipvs',
  rulesFile: 'ipvs.rules',
  // First: its hooks jump to SVP- chains that the iptables cleanup (which removes
  // every SVP- chain) could not delete while those hooks exist.
  cleanupPriority: 10,
  capabilities: ['CAP_NET_ADMIN'],
  metricsMode: 'ipvs',
  relaysUdp: false,
  sysctls: (input) => ipvsSysctls(input.config),
  render: (input) => serializeIpvs(renderIpvs(input)),
  renderDocument: renderIpvs,
  serialise: serializeIpvs,
  parse: (text) => parseDocument(text).ruleset,
  readLive: async (options) => {
    // readIpvsLive reads the current namespace only (the IPVS tests run in a VM, not in namespaces).
    if (options?.netns !== undefined) throw new Error(`ipvs reads the current network namespace only, not ${JSON.stringify(options.netns)}`);
    return (await import('./check.js')).readIpvsLive();
  },
  // Without a node's context every live virtual server counts as ours, attributed
  // by the desired ones' labels (check adds the node's addresses and the plan).
  compare: (desired, live) => compareIpvs(desired, live, ipvsOwners([], desired.families.flatMap((f) => f.virtualServers)), () => true),
  compareRulesets: (before, after) => {
    const o = parseSide(before, parseDocument);
    const n = parseSide(after, parseDocument);
    const owners = ipvsOwners([after.plan, before.plan], [...n.ruleset.families, ...o.ruleset.families].flatMap((f) => f.virtualServers));
    return compareIpvs(n.ruleset, o.live, owners, () => true);
  },
  check: async (input, options) => (await import('./check.js')).checkIpvs(input, options),
  apply: async (input, options) => (await import('./apply.js')).applyIpvs(input, options),
  documentTracer: (document, node) =>
    perFamilyTracer((family) => {
      const view = ipvsDocumentView(document, family);
      return (packet) => traceIpvs(view, packet, node);
    }),
  traceLive: async (packet, options) => (await import('./trace-live.js')).traceIpvsLive(packet, options),
  createSyncer: (options) => lazySyncer('ipvs', async () => (await import('./create-syncer.js')).createIpvsSyncer(options)),
  cleanup: async () => (await import('./apply.js')).cleanupIpvs(),
};
