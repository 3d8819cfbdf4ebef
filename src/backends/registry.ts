// The backends this build knows, and the only place that knows their names: commands
// and the agent look a backend up here and call the object (backend.ts). Synth writes
// a precompiled ruleset for each ruleset backend. A backend registers by being listed,
// here and in backend-table.ts (by name, for commands that load only the one they use).

import { noRuleset, RULESET_BACKEND_NAMES, unknownBackend } from './backend-table.js';
import { userspaceBackend } from '../userspace/index.js';
import { hasRuleset, type AgentBackend, type Backend, type RulesetReader } from './backend.js';
import { iptablesBackend } from './iptables/index.js';
import { ipvsBackend } from './ipvs/index.js';
import { nftablesBackend } from './nftables/index.js';

/** Every ruleset backend, in the order synth writes them. */
const RULESET_BACKENDS: readonly Backend[] = [nftablesBackend, iptablesBackend, ipvsBackend];
/** Every backend the agent can run. */
const AGENT_BACKENDS: readonly AgentBackend[] = [...RULESET_BACKENDS, userspaceBackend];

/** The ruleset backends' names, for help texts: one list, backend-table.ts's (a test keeps it in the order above). */
export { RULESET_BACKEND_NAMES };
/** Every backend's name, for the agent's help text. */
export const AGENT_BACKEND_NAMES: readonly string[] = AGENT_BACKENDS.map((b) => b.name);

export function registeredBackends(): readonly Backend[] {
  return RULESET_BACKENDS;
}

export function agentBackends(): readonly AgentBackend[] {
  return AGENT_BACKENDS;
}

/** The ruleset backend called `name`; an InputError (exit 2) naming it when there is none. */
export function getBackend(name: string): Backend {
  const b = AGENT_BACKENDS.find((x) => x.name === name);
  if (b && !hasRuleset(b)) throw noRuleset(name);
  if (!b) throw unknownBackend(name, RULESET_BACKEND_NAMES);
  return b as Backend;
}

/**
 * The reading half of the ruleset backend called `name` (InputError when there is
 * none), for modules that read rulesets synchronously: they load every reader once,
 * at import (`await loadReaders()`), and take one from the map.
 */
export async function loadReaders(): Promise<(name: string) => RulesetReader> {
  const readers = new Map(await Promise.all(RULESET_BACKENDS.map(async (b) => [b.name, await b.reader()] as const)));
  return (name) => readers.get(getBackend(name).name)!;
}

/** The backend the agent runs as `name`; an InputError (exit 2) naming it when there is none. */
export function getAgentBackend(name: string): AgentBackend {
  const b = AGENT_BACKENDS.find((x) => x.name === name);
  if (!b) throw unknownBackend(name, AGENT_BACKEND_NAMES);
  return b;
}

/** Every backend in `svcplane cleanup`'s order (cleanupPriority, then registry order). */
export function cleanupOrder(): AgentBackend[] {
  return [...AGENT_BACKENDS].sort((a, b) => a.cleanupPriority - b.cleanupPriority);
}
