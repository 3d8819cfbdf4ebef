// Kernel tools that read a transaction with `-f -` open /dev/stdin by path, which
// fails (ENXIO) when stdin is a socket, which is what Node gives a child for a
// "pipe". So the transaction goes through a private temporary file whose
// descriptor is the child's stdin.

import { execa } from './lazy-execa.js';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs `file args` with `text` on stdin (as a regular file); never rejects on exit status. */
export interface ToolResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function execWithInput(file: string, args: readonly string[], text: string): Promise<ToolResult> {
  const dir = await mkdtemp(join(tmpdir(), 'svcplane-'));
  const path = join(dir, 'transaction');
  try {
    await writeFile(path, text, { mode: 0o600 });
    const fh = await open(path, 'r');
    try {
      // execa passes a numeric stdin straight to the child; its types omit that case.
      const stdin = fh.fd as unknown as 'pipe';
      const r = await execa(file, args, { stdin, reject: false });
      return { exitCode: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr };
    } finally {
      await fh.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
