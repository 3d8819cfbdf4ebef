// The real Exec: node:child_process (child-run.ts). Input text goes through a private
// temporary file whose descriptor is the child's stdin (see Command.input).

import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runChild } from './child-run.js';
import type { Command, Exec, ExecResult } from './exec.js';

/** Tools like `nft -j list ruleset` print hundreds of MB at 10k Services. */
const MAX_BUFFER = 1 << 30;

function runWithStdin(command: Command, stdin: number | 'ignore'): Promise<ExecResult> {
  const [file, args] = command.netns ? ['ip', ['netns', 'exec', command.netns, command.file, ...command.args]] : [command.file, [...command.args]];
  return runChild({ file, args, stdin, maxBuffer: MAX_BUFFER, ...(command.timeoutMs ? { timeoutMs: command.timeoutMs } : {}) });
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
