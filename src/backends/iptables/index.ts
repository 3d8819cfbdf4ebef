// The iptables backend: render (pure) and apply (execa), registered by name.

import type { Backend } from '../backend.js';
import { applyIptables, cleanupIptables } from './apply.js';
import { serializeIptables } from './document.js';
import { renderIptables } from './render.js';

export const iptablesBackend: Backend = {
  name: 'iptables',
  rulesFile: 'iptables.rules',
  render: (input) => serializeIptables(renderIptables(input)),
  apply: applyIptables,
  cleanup: cleanupIptables,
};
