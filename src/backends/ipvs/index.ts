// The IPVS backend: render (pure). Apply runs IPVS in a kernel that has it; see README.md.

import type { Backend } from '../backend.js';
import { serializeIpvs } from './document.js';
import { renderIpvs } from './render.js';

export const ipvsBackend: Backend = {
  name: 'ipvs',
  rulesFile: 'ipvs.rules',
  render: (input) => serializeIpvs(renderIpvs(input)),
};
