// `svcplane apply --backend B -f ...`: make the current network namespace match.
// Applying twice changes nothing the second time.

import type { Command } from 'commander';
import { getBackend, RULESET_BACKEND_NAMES } from '../backends/registry.js';
import { addInputFlags, FORWARDING, loadFromFlags, reportProblems, type InputFlags } from './inputs.js';

export function registerApply(program: Command): void {
  addInputFlags(
    program
      .command('apply')
      .description('make the kernel of the current network namespace match the ruleset (only the difference is sent)')
      .requiredOption('--backend <name>', `the backend: ${RULESET_BACKEND_NAMES.join(' | ')}`)
      .option('--dry-run', 'print the transaction instead of sending it'),
  ).action(async (flags: InputFlags & { backend: string; dryRun?: boolean }) => {
    const backend = getBackend(flags.backend);
    const loaded = await loadFromFlags(flags, FORWARDING);
    reportProblems(loaded);
    // Rules of Services whose input is malformed stay as the kernel has them.
    const result = await backend.apply(loaded.input, { dryRun: flags.dryRun ?? false, preserveServices: loaded.skippedServices });
    if (flags.dryRun) process.stdout.write(result.transaction);
    process.stderr.write(`${flags.dryRun ? 'would change' : 'changed'} ${result.changes} object(s)\n`);
    if (loaded.errors.length) process.exitCode = 2;
  });
}
