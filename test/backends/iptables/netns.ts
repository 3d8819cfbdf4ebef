// A throw-away network namespace for iptables tests: checks and applies run there,
// never in the host's tables. Fails loudly when ip, iptables or root is missing.

import { execFileSync } from 'node:child_process';
import { execa } from 'execa';
import { IptablesRunner } from '../../../src/backends/iptables/apply.js';

let counter = 0;
const live = new Set<string>();

// `finally` below cleans up after a failed test, but not when the test process is killed
// (a runner's timeout, Ctrl-C): then the namespaces still open are deleted here, synchronously.
let signalsHooked = false;
function deleteLiveOnSignal(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const name of live) execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' });
      process.kill(process.pid, sig);
    });
  }
}

export interface TestNetns {
  readonly name: string;
  readonly run: IptablesRunner;
  exec(argv: readonly string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
}

export async function withNetns<T>(fn: (ns: TestNetns) => Promise<T>): Promise<T> {
  const name = `svp-ipt-${process.pid}-${counter++}`;
  deleteLiveOnSignal();
  await execa('ip', ['netns', 'add', name]);
  live.add(name);
  try {
    return await fn({
      name,
      run: new IptablesRunner(name),
      exec: async (argv) => {
        const r = await execa('ip', ['netns', 'exec', name, ...argv], { reject: false });
        return { exitCode: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr };
      },
    });
  } finally {
    await execa('ip', ['netns', 'delete', name], { reject: false });
    live.delete(name);
  }
}
