// The `svcplane` command: one file per subcommand; this file wires them and maps
// errors to exit codes (0 ok, 1 runtime failure, 2 bad input or usage).
//
// Start-up cost is the module graph: client-node, execa and every backend together
// cost ~1 s before anything runs. So only the invoked command's module is imported;
// the top-level help and --version come from the table below, without loading any.

import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isInputError } from '../model/errors.js';
import { COMMANDS, type CommandEntry } from './commands.js';

const DESCRIPTION = 'Kubernetes Services as code, compiled to node rules for nftables, iptables and ipvs';

/** package.json's version, read at call time (lib/cli and src/cli are both two levels below it). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}

function baseProgram(): Command {
  return new Command('svcplane')
    .description(DESCRIPTION)
    // Listed for the help only: runCli answers --version itself, so package.json is read
    // only when asked (a bundled copy of the CLI, as the IPVS VM runs, has none beside it).
    .option('-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride();
}

/** The command `argv` invokes (`svcplane X ...` or `svcplane help X`), if any. */
export function invokedCommand(argv: readonly string[]): CommandEntry | undefined {
  // The program has no options of its own but --help and --version, so a command
  // is always the first word; `render -f plan` must not load plan.
  const name = argv[0] === 'help' ? argv[1] : argv[0];
  return COMMANDS.find((c) => c.name === name);
}

/**
 * The program for `argv`: the invoked command registered for real (its module
 * imported), every other command only as a name and a description for the help.
 */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = baseProgram();
  const invoked = invokedCommand(argv);
  for (const entry of COMMANDS) {
    if (entry === invoked) (await entry.load())(program);
    else program.command(entry.name).description(entry.description);
  }
  return program;
}

/** Every command registered for real (all modules loaded): for tests that compare the table with the modules. */
export async function buildFullProgram(): Promise<Command> {
  const program = baseProgram();
  for (const entry of COMMANDS) (await entry.load())(program);
  return program;
}

/** Runs the CLI and returns the exit code; never calls process.exit itself. */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    if (argv[0] === '-V' || argv[0] === '--version') {
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    }
    const program = await buildProgram(argv);
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
