// The IPVS backend: render (pure), apply and cleanup (ipvsadm, ipset, iptables, ip).
// This machine's kernel has no IPVS: its kernel tests run in a VM (test/vm/).

import type { Backend } from '../backend.js';
import { serializeIpvs } from './document.js';
import { renderIpvs } from './render.js';

export const ipvsBackend: Backend = {
  name: 'ipvs',
  rulesFile: 'ipvs.rules',
  render: (input) => serializeIpvs(renderIpvs(input)),
  // The apply half (and execa with it) loads on first use: synth and `import 'svcplane'` need only render.
  apply: async (input, options) => (await import('./apply.js')).applyIpvs(input, options),
  cleanup: async () => (await import('./apply.js')).cleanupIpvs(),
};
