// The nftables backend: render (pure) and apply (execa), registered by name.

import type { Backend } from '../backend.js';
import { applyNftables, cleanupNftables } from './apply.js';
import { serializeTables } from './document.js';
import { renderTables } from './render.js';

export const nftablesBackend: Backend = {
  name: 'nftables',
  rulesFile: 'nftables.json',
  render: (input) => serializeTables(renderTables(input)),
  apply: applyNftables,
  cleanup: cleanupNftables,
};
