// `svcplane render --backend B -f ...`: the complete ruleset for one node, on stdout.

import type { Command } from 'commander';
import { loadRulesetBackend, RULESET_BACKEND_NAMES } from '../backends/backend-table.js';
import { addInputFlags, FORWARDING, loadFromFlags, reportProblems, type InputFlags } from './inputs.js';
import { writePieces } from './write-output.js';

export function registerRender(program: Command): void {
  addInputFlags(
    program
      .command('render')
      .description('print the complete ruleset for one node')
      .requiredOption('--backend <name>', `the backend: ${RULESET_BACKEND_NAMES.join(' | ')}`),
  ).action(async (flags: InputFlags & { backend: string }) => {
    // Only the chosen backend's module: the other two are start-up time render never uses.
    const backend = await loadRulesetBackend(flags.backend);
    // A malformed object is skipped and named; the rest still renders; exit 2 at the end.
    const loaded = await loadFromFlags(flags, FORWARDING);
    reportProblems(loaded);
    // In pieces: the whole document (up to 74 MB at 10k × 10) is never joined into one string.
    writePieces(backend.renderPieces(loaded.input));
    if (loaded.errors.length) process.exitCode = 2;
  });
}
