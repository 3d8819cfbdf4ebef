// The iptables backend as one object (Backend in ../backend.ts). Render, parse,
// compare and the document tracer are pure and loaded with it; everything that runs
// the iptables tools (apply, check, live reads and traces, the agent's syncer,
// cleanup) loads on first use, so synth and `import 'svcplane'` never load it.

import type { Backend } from '../backend.js';
import { perFamilyTracer } from '../document-tracer.js';
import { parseSide } from '../ruleset-side.js';
import { lazySyncer } from '../syncer.js';
import type { IPFamily } from '../../model/ip.js';
import { iptablesSysctls } from './apply.js';
import { compareIptables, iptablesTablesOf, parseIptablesDocument, type LiveTables } from './check.js';
import { serializeIptables } from './document.js';
import { renderIptables, type IptTables } from './render.js';
import { traceIptables } from './trace.js';
import { iptablesDocumentDump } from './trace-document.js';

const parse = (text: string): IptTables[] => iptablesTablesOf(parseIptablesDocument(text));

export const iptablesBackend: Backend<IptTables[], Record<IPFamily, LiveTables>> = {
  name: 'iptables',
  rulesFile: 'iptables.rules',
  cleanupPriority: 20,
  capabilities: ['CAP_NET_ADMIN'],
  metricsMode: 'iptables',
  relaysUdp: false,
  sysctls: iptablesSysctls,
  render: (input) => serializeIptables(renderIptables(input)),
  renderDocument: renderIptables,
  serialise: serializeIptables,
  parse,
  readLive: async (options) => (await import('./live.js')).readIptablesLive(options),
  compare: compareIptables,
  compareRulesets: (before, after) => {
    const older = parseSide(before, parseIptablesDocument);
    return compareIptables(parseSide(after, parse), older);
  },
  check: async (input, options) => (await import('./check.js')).checkIptables(input, options),
  apply: async (input, options) => (await import('./apply.js')).applyIptables(input, options),
  documentTracer: (document, node) =>
    perFamilyTracer((family) => {
      const dump = iptablesDocumentDump(document, family);
      return (packet) => traceIptables(dump, packet, node);
    }),
  traceLive: async (packet, options) => (await import('./trace-live.js')).traceIptablesLive(packet, options),
  createSyncer: (options) => lazySyncer('iptables', async () => (await import('./create-syncer.js')).createIptablesSyncer(options)),
  cleanup: async () => (await import('./apply.js')).cleanupIptables(),
};
