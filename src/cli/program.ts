// The `svcplane` command: one file per subcommand; this file wires them and maps
// errors to exit codes (0 ok, 1 runtime failure, 2 bad input or usage).

import { Command, CommanderError } from 'commander';
import { isInputError } from '../model/errors.js';
import { registerAgent } from './agent.js';
import { registerApply } from './apply.js';
import { registerCheck } from './check.js';
import { registerCleanup } from './cleanup.js';
import { registerDiff } from './diff.js';
import { registerPlan } from './plan.js';
import { registerRender } from './render.js';
import { registerTrace } from './trace.js';

export function buildProgram(): Command {
  const program = new Command('svcplane')
    .description('Kubernetes Services as code, compiled to node rules for nftables, iptables and ipvs')
    .showHelpAfterError()
    .exitOverride();
  registerPlan(program);
  registerRender(program);
  registerApply(program);
  registerCheck(program);
  registerDiff(program);
  registerCleanup(program);
  registerAgent(program);
  registerTrace(program);
  return program;
}

/** Runs the CLI and returns the exit code; never calls process.exit itself. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0; everything else commander refuses is usage: 2.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (isInputError(e)) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
