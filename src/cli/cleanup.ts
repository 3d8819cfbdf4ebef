// `svcplane cleanup`: remove everything of ours from the current network namespace, and nothing else.

import type { Command } from 'commander';
import { cleanupNftables } from '../backends/nftables/apply.js';

export function registerCleanup(program: Command): void {
  program
    .command('cleanup')
    .description("remove svcplane's rules from the current network namespace (other tables are untouched)")
    .action(async () => {
      const removed = await cleanupNftables();
      process.stderr.write(`removed ${removed} nftables table(s)\n`);
    });
}
