// The userspace backend: an agent-only backend (AgentBackend in
// src/backends/backend.ts). It has no ruleset to precompile, check, trace or diff:
// README.md says why. Its relays and redirect code load at the first sync.

import type { AgentBackend } from '../backends/backend.js';
import { lazySyncer } from '../backends/syncer.js';

/** What the proxy logs when the agent gave no logger (it always does). */
const SILENT = { info: () => {}, warn: () => {} };

export const userspaceBackend: AgentBackend = {
  name: 'userspace',
  rulesFile: undefined,
  // Its redirect table is its own: any order works; last, after the kernel backends.
  cleanupPriority: 30,
  // It relays traffic itself; without NET_ADMIN it warns and serves without redirect rules.
  capabilities: [],
  metricsMode: undefined,
  relaysUdp: true,
  dnatsInNatHooks: true,
  sysctls: () => ({}),
  createSyncer: (options) =>
    lazySyncer('userspace', async () =>
      (await import('./syncer.js')).userspaceRulesSyncer({
        log: options.log ?? SILENT,
        ...(options.udpIdleTimeoutMs ? { udp: { idleMs: options.udpIdleTimeoutMs } } : {}),
        ...(options.netns ? { redirect: (await import('./redirect-apply.js')).redirectRunner(options.netns) } : {}),
      }),
    ),
  cleanup: async () => (await import('./redirect-apply.js')).cleanupRedirectTables(),
};
