// The options of an offline Agent under test: plan.json and web.json in `dir`, a fast
// scheduler, no periodic sync, metrics on an ephemeral port, no kernel reads (fixed
// local addresses, no conntrack). Each test adds its backend, syncer, log and readers.

import { join } from 'node:path';
import type { AgentOptions } from '../../src/agent/agent.js';
import { DEFAULT_PROXY_CONFIG } from '../../src/model/config.js';

export function offlineAgentOptions(dir: string, localAddress: string) {
  return {
    mode: 'coexist',
    nodeName: 'node1',
    planFile: join(dir, 'plan.json'),
    endpointsFiles: [join(dir, 'web.json')],
    config: { ...DEFAULT_PROXY_CONFIG, syncPeriodSeconds: 3600, minSyncPeriodSeconds: 0.05 },
    metricsAddr: { host: '127.0.0.1', port: 0 },
    localAddresses: async () => [localAddress],
    conntrack: async () => [],
    filePollMs: 50,
  } satisfies Partial<AgentOptions>;
}
