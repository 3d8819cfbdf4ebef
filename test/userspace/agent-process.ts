// The real `svcplane agent --backend userspace` in offline mode inside a namespace, with
// its log lines kept, for the e2e test and the benchmark.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnInNetns, type NetnsProcess } from '../e2e/lib/netns.js';
import { until } from '../e2e/lib/wait.js';

export const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface AgentProcess {
  readonly child: NetnsProcess;
  /** stderr lines (pino JSON) so far. */
  readonly logs: string[];
  syncedCount(): number;
  /** Waits until more than `after` syncs were logged. */
  waitSynced(after: number, what: string): Promise<void>;
}

/** `dir` holds plan.json, config.json and the endpoints/ folder. */
export function startUserspaceAgent(ns: string, dir: string): AgentProcess {
  const child = spawnInNetns(ns, [
    'node', '--import', 'tsx', CLI, 'agent',
    '--backend', 'userspace',
    '--plan', join(dir, 'plan.json'),
    '--config', join(dir, 'config.json'),
    '--endpoints-file', join(dir, 'endpoints'),
    '--node-name', 'node1',
    '--health-addr', '127.0.0.1:10256',
    '--metrics-addr', '127.0.0.1:10249',
  ]);
  const logs: string[] = [];
  let buf = '';
  child.stderr.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    logs.push(...lines);
  });
  const syncedCount = () => logs.filter((l) => l.includes('"msg":"synced"')).length;
  return {
    child,
    logs,
    syncedCount,
    waitSynced: (after, what) =>
      until(what, () => syncedCount() > after, 20_000, 50)
        .then(() => undefined)
        .catch((e: Error) => {
          throw new Error(`${e.message}\nagent log:\n${logs.slice(-20).join('\n')}`);
        }),
  };
}
