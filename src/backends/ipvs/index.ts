// The IPVS backend: render (pure), apply and cleanup (ipvsadm, ipset, iptables, ip).
// This machine's kernel has no IPVS: its kernel tests run in a VM (test/vm/).

import type { Backend } from '../backend.js';
import { applyIpvs, cleanupIpvs } from './apply.js';
import { serializeIpvs } from './document.js';
import { renderIpvs } from './render.js';

export const ipvsBackend: Backend = {
  name: 'ipvs',
  rulesFile: 'ipvs.rules',
  render: (input) => serializeIpvs(renderIpvs(input)),
  apply: applyIpvs,
  cleanup: cleanupIpvs,
};
