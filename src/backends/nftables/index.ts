// The nftables backend as one object (Backend in ../backend.ts). Render, parse,
// compare and the document tracer are pure and loaded with it; everything that runs
// nft (apply, check, live reads and traces, the agent's syncer, cleanup) loads on
// first use, so synth and `import 'svcplane'` never load it.

import type { Backend } from '../backend.js';
import { perFamilyTracer } from '../document-tracer.js';
import { parseSide } from '../ruleset-side.js';
import { lazySyncer } from '../syncer.js';
import { NFTABLES_SYSCTLS } from './apply.js';
import { compareNftTables, parseNftablesDocument } from './check.js';
import { serializeTables } from './document.js';
import type { NftTable } from './nft.js';
import { renderTables } from './render.js';
import { traceNftables } from './trace.js';
import { parseNftDocument } from './trace-document.js';

export const nftablesBackend: Backend<NftTable[], NftTable[]> = {
  name: 'nftables',
  rulesFile: 'nftables.json',
  cleanupPriority: 20,
  capabilities: ['CAP_NET_ADMIN'],
  metricsMode: 'nftables',
  relaysUdp: false,
  sysctls: () => ({ ...NFTABLES_SYSCTLS }),
  render: (input) => serializeTables(renderTables(input)),
  renderDocument: (input) => renderTables(input),
  serialise: serializeTables,
  parse: parseNftablesDocument,
  readLive: async (options) => (await import('./apply.js')).readLiveTables(options?.netns),
  compare: compareNftTables,
  compareRulesets: (before, after) => {
    const older = parseSide(before, parseNftablesDocument);
    return compareNftTables(parseSide(after, parseNftablesDocument), older);
  },
  check: async (input, options) => (await import('./check.js')).checkNftables(input, options),
  apply: async (input, options) => (await import('./apply.js')).applyNftables(input, options),
  documentTracer: (document, node) =>
    perFamilyTracer((family) => {
      const tables = parseNftDocument(document, family === 'IPv4' ? 'ip' : 'ip6');
      return (packet) => traceNftables(tables, packet, node);
    }),
  traceLive: async (packet, options) => (await import('./trace-live.js')).traceNftablesLive(packet, options),
  createSyncer: (options) => lazySyncer('nftables', async () => (await import('./create-syncer.js')).createNftablesSyncer(options)),
  cleanup: async () => (await import('./apply.js')).cleanupNftables(),
};
