// Kernel tools that read a transaction with `-f -` open /dev/stdin by path, which
// fails when stdin is a socket (what Node gives a child for a "pipe"). So the
// transaction goes through a private temporary file passed as stdin.

import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Calls fn with a file descriptor to pass as the child's stdin (execa's `stdin: fd`). */
export async function withStdinFile<T>(text: string, fn: (fd: number) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'svcplane-'));
  const path = join(dir, 'transaction');
  try {
    await writeFile(path, text, { mode: 0o600 });
    const fh = await open(path, 'r');
    try {
      return await fn(fh.fd);
    } finally {
      await fh.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
