// The real Exec: execa, loaded on first use (its ~280-file module graph costs ~0.1 s
// of start-up, and most processes that load a backend only render and never run a
// tool). Input text goes through a private temporary file whose descriptor is the
// child's stdin (see Command.input).

import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command, Exec, ExecResult } from './exec.js';
import { LineSplitter } from './lines.js';
import { collectOutput, OutputCap, streamOutput, stripFinalNewline } from './output-reader.js';

/**
 * Collected output (stdout and stderr together) beyond this many characters kills the tool
 * and fails the run: tools like `nft -j list ruleset` print hundreds of MB at 10k Services.
 */
const MAX_OUTPUT = 1 << 29;

async function runWithStdin(command: Command, stdin: number | 'ignore'): Promise<ExecResult> {
  const { execa } = await import('execa');
  const [file, args] = command.netns ? ['ip', ['netns', 'exec', command.netns, command.file, ...command.args]] : [command.file, [...command.args]];
  const child = execa(file, args, {
    reject: false,
    // The output is read here (output-reader.ts), not buffered by execa: its buffering
    // costs ~65 kB of short-lived objects per run (an async iterator over 'data' events
    // per stream, each with a 2048-slot queue), which outlive the young generation while
    // the tool runs; the idle agent's ~35 runs at start grew its heap by that much.
    buffer: false,
    // execa passes a numeric stdin straight to the child; its types omit that case.
    stdin: stdin as unknown as 'pipe',
    ...(command.timeoutMs ? { timeout: command.timeoutMs } : {}),
  });
  if (child.pid !== undefined) command.onSpawn?.(child.pid);
  const cap = new OutputCap(MAX_OUTPUT, () => void child.kill('SIGKILL'));
  const streamed = command.stdoutLines ?? command.stdoutChunks;
  const stdout = command.stdoutLines
    ? streamOutput(child.stdout, new LineSplitter(command.stdoutLines))
    : command.stdoutChunks
      ? streamOutput(child.stdout, { push: command.stdoutChunks, end: () => {} })
      : collectOutput(child.stdout, cap);
  const stderr = collectOutput(child.stderr, cap);
  const r = await child;
  const [out, err] = await Promise.all([stdout, stderr]);
  // A tool that could not start has no stderr: execa's message says why.
  const why = stripFinalNewline(err) || (r.exitCode === undefined ? (r.message ?? '') : '');
  return {
    exitCode: cap.exceeded === undefined ? (r.exitCode ?? 1) : 1,
    stdout: streamed ? '' : stripFinalNewline(out),
    stderr: cap.exceeded ?? why,
    ...(r.timedOut ? { timedOut: true } : {}),
  };
}

async function runWithInput(command: Command, input: string | Iterable<string>): Promise<ExecResult> {
  const dir = await mkdtemp(join(tmpdir(), 'svcplane-'));
  const path = join(dir, 'stdin');
  try {
    if (typeof input === 'string') await writeFile(path, input, { mode: 0o600 });
    else await writeChunks(path, input);
    const fh = await open(path, 'r');
    try {
      return await runWithStdin(command, fh.fd);
    } finally {
      await fh.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes the pieces in order, each pulled only once the previous one is written. */
async function writeChunks(path: string, chunks: Iterable<string>): Promise<void> {
  const fh = await open(path, 'w', 0o600);
  try {
    for (const c of chunks) await fh.write(c);
  } finally {
    await fh.close();
  }
}

export const systemExec: Exec = {
  run: (command) => {
    const input = command.inputChunks ?? command.input;
    return input === undefined ? runWithStdin(command, 'ignore') : runWithInput(command, input);
  },
};
