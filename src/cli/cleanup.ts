// `svcplane cleanup`: remove everything of ours from the current network namespace, and nothing else.

import type { Command } from 'commander';
import { registeredBackends } from '../backends/registry.js';
import { cleanupRedirectTables } from '../userspace/redirect-apply.js';

export function registerCleanup(program: Command): void {
  program
    .command('cleanup')
    .description("remove svcplane's rules from the current network namespace (other tables and chains are untouched)")
    .action(async () => {
      // Every backend cleans up its own objects; one failing does not stop the others.
      // IPVS mode goes first: its hooks jump to SVP- chains that the iptables cleanup
      // (which removes every SVP- chain) could not delete while those hooks exist.
      const order = [...registeredBackends()].sort((a, b) => Number(b.name === 'ipvs') - Number(a.name === 'ipvs'));
      let failed = false;
      for (const b of order) {
        if (!b.cleanup) continue;
        try {
          const removed = await b.cleanup();
          process.stderr.write(`${b.name}: removed ${removed} object(s)\n`);
        } catch (e) {
          failed = true;
          process.stderr.write(`${b.name}: cleanup failed: ${(e as Error).message}\n`);
        }
      }
      // The userspace proxy's redirect table (the agent-only backend).
      try {
        const removed = await cleanupRedirectTables();
        process.stderr.write(`userspace: removed ${removed} object(s)\n`);
      } catch (e) {
        failed = true;
        process.stderr.write(`userspace: cleanup failed: ${(e as Error).message}\n`);
      }
      if (failed) process.exitCode = 1;
    });
}
