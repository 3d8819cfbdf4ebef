// The backends this build knows. Synth writes a precompiled ruleset for each; the
// CLI and agent look them up by name. A backend registers by being listed here.

import { inputError } from '../model/errors.js';
import type { Backend } from './backend.js';
import { iptablesBackend } from './iptables/index.js';
import { ipvsBackend } from './ipvs/index.js';
import { nftablesBackend } from './nftables/index.js';

const BACKENDS: readonly Backend[] = [nftablesBackend, iptablesBackend, ipvsBackend];

/** The names every backend will have, registered or not yet, for help texts. */
export const KNOWN_BACKEND_NAMES = ['nftables', 'iptables', 'ipvs'] as const;

export function registeredBackends(): readonly Backend[] {
  return BACKENDS;
}

/** The backend called `name`; an InputError (exit 2) naming it when there is none. */
export function getBackend(name: string): Backend {
  const b = BACKENDS.find((x) => x.name === name);
  if (!b && name === 'userspace') {
    // Not a ruleset backend: the relaying happens in the agent process (src/userspace/).
    throw inputError(undefined, '--backend', 'userspace has no ruleset to render or apply: it runs only in the agent (svcplane agent --backend userspace)');
  }
  if (!b) {
    const have = BACKENDS.map((x) => x.name);
    throw inputError(
      undefined,
      '--backend',
      `unknown backend ${JSON.stringify(name)}${have.length ? ` (available: ${have.join(', ')})` : ' (no backend is registered in this build yet)'}`,
    );
  }
  return b;
}
