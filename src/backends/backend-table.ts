// Which backends there are, by name, and how to load each one's module, without
// loading any: `svcplane render --backend B` needs one backend, and the registry
// (registry.ts) imports all of them (its callers, the agent and synth, use them
// synchronously). registry.ts builds its lists from the same objects; a test checks
// that this table and the registry name the same backends in the same order.

import { inputError } from '../model/errors.js';
import type { AgentBackend, Backend } from './backend.js';

interface TableEntry {
  readonly name: string;
  /** Whether it renders a ruleset (a Backend), as AgentBackend.rulesFile tells once loaded. */
  readonly ruleset: boolean;
  readonly load: () => Promise<AgentBackend>;
}

/** In the registry's order: the ruleset backends as synth writes them, then the agent-only ones. */
export const BACKEND_TABLE: readonly TableEntry[] = [
  { name: 'nftables', ruleset: true, load: async () => (await import('./nftables/index.js')).nftablesBackend },
  { name: 'iptables', ruleset: true, load: async () => (await import('./iptables/index.js')).iptablesBackend },
  { name: 'ipvs', ruleset: true, load: async () => (await import('./ipvs/index.js')).ipvsBackend },
  { name: 'userspace', ruleset: false, load: async () => (await import('../userspace/index.js')).userspaceBackend },
];

/** The ruleset backends' names, for help texts. */
export const RULESET_BACKEND_NAMES: readonly string[] = BACKEND_TABLE.filter((e) => e.ruleset).map((e) => e.name);

/** The error for a name that is no backend of this kind (`have`: the names there are). */
export function unknownBackend(name: string, have: readonly string[]): Error {
  return inputError(undefined, '--backend', `unknown backend ${JSON.stringify(name)} (available: ${have.join(', ')})`);
}

/** The error for an agent-only backend asked for a ruleset. */
export function noRuleset(name: string): Error {
  return inputError(undefined, '--backend', `${name} has no ruleset to render or apply: it runs only in the agent (svcplane agent --backend ${name})`);
}

/** The ruleset backend called `name`, only its module loaded; the same InputErrors as registry.getBackend. */
export async function loadRulesetBackend(name: string): Promise<Backend> {
  const entry = BACKEND_TABLE.find((e) => e.name === name);
  if (!entry) throw unknownBackend(name, RULESET_BACKEND_NAMES);
  if (!entry.ruleset) throw noRuleset(name);
  return (await entry.load()) as Backend;
}
