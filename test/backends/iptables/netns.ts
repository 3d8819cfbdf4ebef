// A throw-away network namespace for iptables tests: checks and applies run there,
// never in the host's tables. Fails loudly when ip, iptables or root is missing.

import { execa } from 'execa';
import { IptablesRunner } from '../../../src/backends/iptables/apply.js';

let counter = 0;

export interface TestNetns {
  readonly name: string;
  readonly run: IptablesRunner;
  exec(argv: readonly string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
}

export async function withNetns<T>(fn: (ns: TestNetns) => Promise<T>): Promise<T> {
  const name = `svp-ipt-${process.pid}-${counter++}`;
  await execa('ip', ['netns', 'add', name]);
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
  }
}
