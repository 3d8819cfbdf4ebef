// `svcplane cleanup`: remove everything of ours from the current network namespace, and nothing else.

import type { Command } from 'commander';
import { cleanupOrder } from '../backends/registry.js';

export function registerCleanup(program: Command): void {
  program
    .command('cleanup')
    .description("remove svcplane's rules from the current network namespace (other tables and chains are untouched)")
    .action(async () => {
      // Every backend (the agent-only userspace relay's redirect table too) cleans up
      // its own objects, in cleanupPriority order; one failing does not stop the others.
      let failed = false;
      for (const b of cleanupOrder()) {
        try {
          const removed = await b.cleanup();
          process.stderr.write(`${b.name}: removed ${removed} object(s)\n`);
        } catch (e) {
          failed = true;
          process.stderr.write(`${b.name}: cleanup failed: ${(e as Error).message}\n`);
        }
      }
      if (failed) process.exitCode = 1;
    });
}
