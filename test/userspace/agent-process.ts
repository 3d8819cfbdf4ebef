// The real `svcplane agent --backend userspace` in offline mode inside a namespace, for the
// e2e test and the benchmark: the shared agent helper (test/e2e/lib/agent-process.ts) with
// this folder's file layout.

import { join } from 'node:path';
import { AgentProcess } from '../e2e/lib/agent-process.js';
import type { Owner } from '../e2e/lib/processes.js';

export { CLI } from '../e2e/lib/agent-process.js';

/** `dir` holds plan.json, config.json and the endpoints/ folder; `owner` ends the agent in its after hook. */
export function startUserspaceAgent(ns: string, dir: string, owner?: Owner): AgentProcess {
  return AgentProcess.start({
    ns,
    owner,
    backend: 'userspace',
    plan: join(dir, 'plan.json'),
    config: join(dir, 'config.json'),
    endpointsFile: join(dir, 'endpoints'),
  });
}
