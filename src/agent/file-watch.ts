// Notices when files or folders change. ConfigMap mounts swap a symlink
// (..data -> ..2024_...) rather than writing the file, which fs.watch on the file
// itself misses; so we watch the folders (best effort, fast) and also poll a
// fingerprint of every file (size, mtime, inode, through symlinks) as the
// guarantee. `onChange` fires once per change of the fingerprint.

import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

async function fingerprintOf(path: string, depth = 0): Promise<string> {
  let st;
  try {
    st = await stat(path);
  } catch {
    return `${path}:missing`;
  }
  if (!st.isDirectory()) return `${path}:${st.ino}:${st.size}:${st.mtimeMs}`;
  if (depth > 8) return `${path}:dir`;
  let names: string[];
  try {
    names = (await readdir(path)).filter((n) => !n.startsWith('.')).sort();
  } catch {
    return `${path}:unreadable`;
  }
  const parts = [`${path}:dir`];
  for (const n of names) parts.push(await fingerprintOf(join(path, n), depth + 1));
  return parts.join('\n');
}

export class FileWatch {
  private readonly watchers: FSWatcher[] = [];
  private poll: NodeJS.Timeout | undefined;
  private last = '';
  private checking: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly paths: readonly string[],
    private readonly onChange: () => void,
    private readonly pollMs = 2000,
  ) {}

  async start(): Promise<void> {
    this.last = await this.fingerprint();
    for (const p of this.paths) {
      for (const dir of new Set([p, dirname(p)])) {
        try {
          const w = watch(dir, { persistent: false }, () => this.check());
          w.on('error', () => {});
          this.watchers.push(w);
        } catch {
          // Not a folder, or gone: polling covers it.
        }
      }
    }
    this.poll = setInterval(() => this.check(), this.pollMs);
    this.poll.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.poll) clearInterval(this.poll);
    for (const w of this.watchers) w.close();
  }

  private async fingerprint(): Promise<string> {
    const parts: string[] = [];
    for (const p of this.paths) parts.push(await fingerprintOf(p));
    return parts.join('\n--\n');
  }

  /** Compares the fingerprint now (coalesced: one check at a time, one more if asked meanwhile). */
  check(): void {
    if (this.stopped) return;
    if (this.checking) {
      this.again = true;
      return;
    }
    this.checking = (async () => {
      do {
        this.again = false;
        const fp = await this.fingerprint();
        if (fp !== this.last && !this.stopped) {
          this.last = fp;
          this.onChange();
        }
      } while (this.again && !this.stopped);
    })().finally(() => (this.checking = undefined));
  }
}
