// The nftables backend: render (pure) and apply (execa), registered by name.

import type { Backend } from '../backend.js';
import { serializeTables } from './document.js';
import { renderTables } from './render.js';

export const nftablesBackend: Backend = {
  name: 'nftables',
  rulesFile: 'nftables.json',
  render: (input) => serializeTables(renderTables(input)),
  // The apply half (and execa with it) loads on first use: synth and `import 'svcplane'` need only render.
  apply: async (input, options) => (await import('./apply.js')).applyNftables(input, options),
  cleanup: async () => (await import('./apply.js')).cleanupNftables(),
  readTraffic: async (exec, netns) => (await import('./counters.js')).readNftCounters(exec, netns),
};
