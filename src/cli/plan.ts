// `svcplane plan -f ...`: the normalised plan, as synth would write it.
// Without --strict it reads like render (forwarding: accept what a live cluster
// holds, skip and name what cannot be forwarded, exit 2 then); with --strict it
// checks every API-server rule, with the plan's node port range and the
// ServiceCIDRs given, and stops at the first refused object (authoring).

import type { Command } from 'commander';
import { serializePlan } from '../model/plan.js';
import { addInputFlags, FORWARDING, loadFromFlags, reportProblems, type InputFlags } from './inputs.js';
import { writeOutput } from './write-output.js';

export function registerPlan(program: Command): void {
  addInputFlags(
    program
      .command('plan')
      .description('print the normalised plan (every Service as a proxy sees it) for the given manifests')
      .option('--strict', "authoring: every API-server rule (node port range, service CIDRs, fields that do not apply); fail on the first refused object"),
  ).action(async (flags: InputFlags & { strict?: boolean }) => {
    const loaded = await loadFromFlags(flags, flags.strict ? { strict: true, purpose: 'authoring' } : FORWARDING);
    reportProblems(loaded);
    writeOutput(serializePlan(loaded.input.plan));
    if (loaded.errors.length) process.exitCode = 2;
  });
}
