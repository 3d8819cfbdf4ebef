// The real Exec: execa, loaded on first use (its ~280-file module graph costs ~0.1 s
// of start-up, and most processes that load a backend only render and never run a
// tool). Input text goes through a private temporary file whose descriptor is the
// child's stdin (see Command.input).

import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command, Exec, ExecResult } from './exec.js';
import { LineSplitter } from './lines.js';

/** Tools like `nft -j list ruleset` print hundreds of MB at 10k Services. */
const MAX_BUFFER = 1 << 30;

async function runWithStdin(command: Command, stdin: number | 'ignore'): Promise<ExecResult> {
  const { execa } = await import('execa');
  const [file, args] = command.netns ? ['ip', ['netns', 'exec', command.netns, command.file, ...command.args]] : [command.file, [...command.args]];
  const child = execa(file, args, {
    reject: false,
    maxBuffer: MAX_BUFFER,
    // Streamed stdout is read here, not collected (Command.stdoutLines, stdoutChunks).
    ...(command.stdoutLines || command.stdoutChunks ? { buffer: { stdout: false } } : {}),
    // execa passes a numeric stdin straight to the child; its types omit that case.
    stdin: stdin as unknown as 'pipe',
    ...(command.timeoutMs ? { timeout: command.timeoutMs } : {}),
  });
  if (child.pid !== undefined) command.onSpawn?.(child.pid);
  const stream = (command.stdoutLines || command.stdoutChunks) && child.stdout;
  let read: Promise<void> = Promise.resolve();
  if (stream) {
    const lines = command.stdoutLines ? new LineSplitter(command.stdoutLines) : undefined;
    const chunks = command.stdoutChunks;
    stream.setEncoding('utf8'); // a character cut between two chunks is decoded whole
    stream.on('data', (chunk: string) => (lines ? lines.push(chunk) : chunks!(chunk)));
    // Everything handed over before the run resolves; a tool that never started has no end.
    read = finished(stream).then(
      () => lines?.end(),
      () => undefined,
    );
  }
  const r = await child;
  await read;
  const stderr = typeof r.stderr === 'string' && r.stderr ? r.stderr : r.exitCode === undefined ? (r.message ?? '') : String(r.stderr ?? '');
  return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout ?? ''), stderr, ...(r.timedOut ? { timedOut: true } : {}) };
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
