// The IPVS backend as one object (Backend in ../backend.ts). Render is loaded with
// it; the reading half (reader.ts: parse, compare, trace interpreter) and the half
// that runs ipvsadm, ipset, iptables and ip (apply, check, live reads and traces, the
// agent's syncer, cleanup) load on first use. This machine's kernel has no IPVS: its
// kernel tests run in a VM (test/vm/).

import type { Backend } from '../backend.js';
import { lazySyncer } from '../syncer.js';
import type { IpvsLive } from './check.js';
import { serializeIpvs } from './document.js';
import { ipvsSysctls } from './kernel-settings.js';
import { renderIpvs } from './render.js';
import type { IpvsRuleset } from './ruleset.js';

export const ipvsBackend: Backend<IpvsRuleset, IpvsLive> = {
  name: 'ipvs',
  rulesFile: 'ipvs.rules',
  // First: its hooks jump to SVP- chains that the iptables cleanup (which removes
  // every SVP- chain) could not delete while those hooks exist.
  cleanupPriority: 10,
  capabilities: ['CAP_NET_ADMIN'],
  metricsMode: 'ipvs',
  relaysUdp: false,
  dnatsInNatHooks: false,
  sysctls: (input) => ipvsSysctls(input.config),
  render: (input) => serializeIpvs(renderIpvs(input)),
  // One piece: the document is 10 MB at 10k × 10, a fifth of the others'.
  renderPieces: (input) => [serializeIpvs(renderIpvs(input))],
  renderDocument: renderIpvs,
  serialise: serializeIpvs,
  reader: async () => (await import('./reader.js')).ipvsReader,
  readLive: async (options) => {
    const { readIpvsLive } = await import('./check.js');
    return options?.exec ? readIpvsLive(options.exec, options.netns) : readIpvsLive(undefined, options?.netns);
  },
  check: async (input, options) => (await import('./check.js')).checkIpvs(input, options),
  apply: async (input, options) => (await import('./apply.js')).applyIpvs(input, options),
  trafficNamedByInput: true,
  readTraffic: async (exec, netns, input, endpoints) => (await import('./stats-reader.js')).readIpvsTraffic(exec, netns, input, endpoints),
  traceLive: async (packet, options) => (await import('./trace-live.js')).traceIpvsLive(packet, options),
  createSyncer: (options) => lazySyncer('ipvs', async () => (await import('./create-syncer.js')).createIpvsSyncer(options)),
  cleanup: async () => (await import('./apply.js')).cleanupIpvs(),
};
