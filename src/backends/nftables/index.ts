// The nftables backend as one object (Backend in ../backend.ts). Render is loaded
// with it; the reading half (reader.ts: parse, compare, trace interpreter) and the
// half that runs nft (apply, check, live reads and traces, the agent's syncer,
// cleanup) load on first use, so synth and `import 'svcplane'` load neither.

import type { Backend } from '../backend.js';
import type { NftCountersReader } from './counters.js';
import { lazySyncer } from '../syncer.js';
import { serializeTables } from './document.js';
import type { NftTable } from './nft.js';
import { renderTables } from './render.js';
import { renderDocumentPieces, renderDocumentText } from './render-text.js';
import { NFTABLES_SYSCTLS } from './sysctls.js';

let countersReader: NftCountersReader | undefined;

/** SVCPLANE_ENDPOINT_COUNTERS_EVERY_SECONDS (default 60): how stale per-endpoint counts may be; 0 lists the rules at every read. */
function endpointCountersEveryMs(): number {
  const s = Number(process.env.SVCPLANE_ENDPOINT_COUNTERS_EVERY_SECONDS ?? 60);
  return Number.isFinite(s) && s >= 0 ? s * 1000 : 60_000;
}

export const nftablesBackend: Backend<NftTable[], NftTable[]> = {
  name: 'nftables',
  rulesFile: 'nftables.json',
  cleanupPriority: 20,
  capabilities: ['CAP_NET_ADMIN'],
  metricsMode: 'nftables',
  relaysUdp: false,
  dnatsInNatHooks: true,
  sysctls: () => ({ ...NFTABLES_SYSCTLS }),
  // One Service port at a time, straight to text: same bytes as serialise(renderDocument(input)).
  render: (input) => renderDocumentText(input),
  renderPieces: (input) => renderDocumentPieces(input),
  renderDocument: (input) => renderTables(input),
  serialise: serializeTables,
  reader: async () => (await import('./reader.js')).nftablesReader,
  readLive: async (options) => (await import('./apply.js')).readLiveTables(options?.netns),
  check: async (input, options) => (await import('./check.js')).checkNftables(input, options),
  apply: async (input, options) => (await import('./apply.js')).applyNftables(input, options),
  traceLive: async (packet, options) => (await import('./trace-live.js')).traceNftablesLive(packet, options),
  createSyncer: (options) => lazySyncer('nftables', async () => (await import('./create-syncer.js')).createNftablesSyncer(options)),
  cleanup: async () => (await import('./apply.js')).cleanupNftables(),
  // One reader per process: it remembers when it last listed the rules (per-endpoint counts).
  readTraffic: async (exec, netns, _input, endpoints) => (countersReader ??= new (await import('./counters.js')).NftCountersReader(endpointCountersEveryMs())).read(exec, netns, endpoints),
};
