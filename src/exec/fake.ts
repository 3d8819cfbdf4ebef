// A recording Exec for unit tests: every command is kept (with its stdin text), and
// answers come from handlers matched in order. An unmatched command fails the test
// loudly rather than pretending the tool succeeded.

import { commandLine, type Command, type Exec, type ExecResult } from './exec.js';
import { LineSplitter } from './lines.js';

/** How a FakeExec cuts stdout for Command.stdoutChunks (a prime: pieces end anywhere). */
const FAKE_CHUNK = 97;

export type FakeAnswer = Partial<ExecResult> | ((command: Command) => Partial<ExecResult>);

interface Handler {
  readonly matches: (command: Command) => boolean;
  readonly answer: FakeAnswer;
}

export class FakeExec implements Exec {
  /** Every command run, in order. */
  readonly commands: Command[] = [];
  private readonly handlers: Handler[] = [];

  /**
   * Answers commands whose file is `file` and whose arguments start with `argsPrefix`
   * (later registrations win). The answer defaults to exit 0 with empty output.
   */
  on(file: string, argsPrefix: readonly string[], answer: FakeAnswer = {}): this {
    this.handlers.unshift({ matches: (c) => c.file === file && argsPrefix.every((a, i) => c.args[i] === a), answer });
    return this;
  }

  /** The process id the last command was told it had (Command.onSpawn): fake ids count up from 10000. */
  lastPid = 9999;

  async run(command: Command): Promise<ExecResult> {
    command.onSpawn?.(++this.lastPid);
    // Pieces of stdin are recorded as the one text the tool reads.
    this.commands.push(command.inputChunks ? { ...command, input: [...command.inputChunks].join('') } : command);
    const h = this.handlers.find((x) => x.matches(command));
    if (!h) throw new Error(`FakeExec: no answer registered for ${commandLine(command)}`);
    const a = typeof h.answer === 'function' ? h.answer(command) : h.answer;
    let stdout = a.stdout ?? '';
    if (command.stdoutLines) {
      const lines = new LineSplitter(command.stdoutLines);
      lines.push(stdout);
      lines.end();
      stdout = '';
    } else if (command.stdoutChunks) {
      // Cut in small pieces, as a pipe may: the reader must not assume whole objects.
      for (let at = 0; at < stdout.length; at += FAKE_CHUNK) command.stdoutChunks(stdout.slice(at, at + FAKE_CHUNK));
      stdout = '';
    }
    return { exitCode: a.exitCode ?? 0, stdout, stderr: a.stderr ?? '', ...(a.timedOut ? { timedOut: true } : {}) };
  }

  /** The command lines run so far, as `commandLine` prints them. */
  lines(): string[] {
    return this.commands.map(commandLine);
  }

  /** The stdin texts sent to `file` (the transactions), in order. */
  inputsTo(file: string): string[] {
    return this.commands.filter((c) => c.file === file && c.input !== undefined).map((c) => c.input!);
  }
}
