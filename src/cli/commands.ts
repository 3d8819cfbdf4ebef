// The table of subcommands: name, one-line description (for the top-level help) and
// how to import the module that registers it. Importing a command's module is what
// costs start-up time, so nothing here imports one until it is invoked.
// test/cli/startup.test.ts checks each description equals the one its module registers.

import type { Command } from 'commander';

export interface CommandEntry {
  readonly name: string;
  readonly description: string;
  readonly load: () => Promise<(program: Command) => void>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'plan',
    description: 'print the normalised plan (every Service as a proxy sees it) for the given manifests',
    load: async () => (await import('./plan.js')).registerPlan,
  },
  { name: 'render', description: 'print the complete ruleset for one node', load: async () => (await import('./render.js')).registerRender },
  {
    name: 'apply',
    description: 'make the kernel of the current network namespace match the ruleset (only the difference is sent)',
    load: async () => (await import('./apply.js')).registerApply,
  },
  {
    name: 'check',
    description:
      'compare the kernel of the current network namespace with the ruleset and name every difference (changes nothing; exit 1 on drift)',
    load: async () => (await import('./check.js')).registerCheck,
  },
  {
    name: 'diff',
    description:
      'per Service, what changes on the nodes between two dist/ trees (folders, or git revisions: REV reads REV:dist, REV:PATH that folder)',
    load: async () => (await import('./diff.js')).registerDiff,
  },
  {
    name: 'cleanup',
    description: "remove svcplane's rules from the current network namespace (other tables and chains are untouched)",
    load: async () => (await import('./cleanup.js')).registerCleanup,
  },
  {
    name: 'agent',
    description: "keep this node's rules equal to plan + current endpoints (runs until SIGTERM)",
    load: async () => (await import('./agent.js')).registerAgent,
  },
  {
    name: 'trace',
    description: 'follow a new connection through the ruleset (hooks, chains, maps, verdicts) and print where it goes',
    load: async () => (await import('./trace.js')).registerTrace,
  },
  {
    name: 'top',
    description: "show the busiest Services on this node (packets, bytes, new connections, refusals per second) from the rules' own counters",
    load: async () => (await import('./top.js')).registerTop,
  },
];
