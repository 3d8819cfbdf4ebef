// The iptables backend: render (pure) and apply (execa), registered by name.

import type { Backend } from '../backend.js';
import { serializeIptables } from './document.js';
import { renderIptables } from './render.js';

export const iptablesBackend: Backend = {
  name: 'iptables',
  rulesFile: 'iptables.rules',
  render: (input) => serializeIptables(renderIptables(input)),
  // The apply half (and execa with it) loads on first use: synth and `import 'svcplane'` need only render.
  apply: async (input, options) => (await import('./apply.js')).applyIptables(input, options),
  cleanup: async () => (await import('./apply.js')).cleanupIptables(),
  readTraffic: async (exec, netns) => (await import('./counters.js')).readIptablesCounters(exec, netns),
};
