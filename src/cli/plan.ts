// `svcplane plan -f ...`: the normalised plan, as synth would write it.

import type { Command } from 'commander';
import { serializePlan } from '../model/plan.js';
import { addInputFlags, loadFromFlags, reportProblems, type InputFlags } from './inputs.js';

export function registerPlan(program: Command): void {
  addInputFlags(
    program.command('plan').description('print the normalised plan (every Service as a proxy sees it) for the given manifests'),
  ).action(async (flags: InputFlags) => {
    const loaded = await loadFromFlags(flags, true);
    reportProblems(loaded);
    process.stdout.write(serializePlan(loaded.input.plan));
  });
}
