// The iptables backend as one object (Backend in ../backend.ts). Render is loaded
// with it; the reading half (reader.ts: parse, compare, trace interpreter) and the
// half that runs the iptables tools (apply, check, live reads and traces, the
// agent's syncer, cleanup) load on first use, so synth and `import 'svcplane'` load
// neither.

import type { IPFamily } from '../../model/ip.js';
import type { Backend } from '../backend.js';
import { lazySyncer } from '../syncer.js';
import type { LiveTables } from './check.js';
import { serializeIptables } from './document.js';
import { renderIptables, type IptTables } from './render.js';
import { renderIptablesPieces, renderIptablesText } from './render-text.js';
import { iptablesSysctls } from './sysctls.js';

export const iptablesBackend: Backend<IptTables[], Record<IPFamily, LiveTables>> = {
  name: 'iptables',
  rulesFile: 'iptables.rules',
  cleanupPriority: 20,
  capabilities: ['CAP_NET_ADMIN'],
  metricsMode: 'iptables',
  relaysUdp: false,
  dnatsInNatHooks: true,
  sysctls: iptablesSysctls,
  render: renderIptablesText,
  renderPieces: renderIptablesPieces,
  renderDocument: renderIptables,
  serialise: serializeIptables,
  reader: async () => (await import('./reader.js')).iptablesReader,
  readLive: async (options) => (await import('./live.js')).readIptablesLive(options),
  check: async (input, options) => (await import('./check.js')).checkIptables(input, options),
  apply: async (input, options) => (await import('./apply.js')).applyIptables(input, options),
  traceLive: async (packet, options) => (await import('./trace-live.js')).traceIptablesLive(packet, options),
  createSyncer: (options) => lazySyncer('iptables', async () => (await import('./create-syncer.js')).createIptablesSyncer(options)),
  cleanup: async () => (await import('./apply.js')).cleanupIptables(),
  readTraffic: async (exec, netns, _input, endpoints) => (await import('./counters.js')).readIptablesCounters(exec, netns, endpoints),
};
