// `svcplane check --backend B -f ...`: on a node, compare what the kernel holds with
// what the plan and endpoints say it should hold, and name every difference. Reads
// only: it never changes the kernel. Exit 0 when equal, 1 on drift, 2 on bad input
// (bad input wins: with a skipped object the comparison is incomplete).

import type { Command } from 'commander';
import { compareDifferences, formatDifference } from '../backends/difference.js';
import { getBackend, RULESET_BACKEND_NAMES } from '../backends/registry.js';
import { addInputFlags, FORWARDING, loadFromFlags, reportProblems, type InputFlags } from './inputs.js';

export function registerCheck(program: Command): void {
  addInputFlags(
    program
      .command('check')
      .description('compare the kernel of the current network namespace with the ruleset and name every difference (changes nothing; exit 1 on drift)')
      .requiredOption('--backend <name>', `the backend: ${RULESET_BACKEND_NAMES.join(' | ')}`)
      .option('--json', 'print the differences as a JSON array'),
  ).action(async (flags: InputFlags & { backend: string; json?: boolean }) => {
    const backend = getBackend(flags.backend);
    const loaded = await loadFromFlags(flags, FORWARDING);
    reportProblems(loaded);
    // Services with skipped input: their kernel state is whatever it was, not drift.
    const diffs = (await backend.check(loaded.input, { preserveServices: loaded.skippedServices })).sort(compareDifferences);
    if (flags.json) process.stdout.write(JSON.stringify(diffs, null, 2) + '\n');
    else for (const d of diffs) process.stdout.write(`${formatDifference(d)}\n`);
    process.stderr.write(diffs.length ? `drift: ${diffs.length} difference(s) between the kernel and the ruleset\n` : 'no drift: the kernel matches the ruleset\n');
    process.exitCode = loaded.errors.length ? 2 : diffs.length ? 1 : 0;
  });
}
