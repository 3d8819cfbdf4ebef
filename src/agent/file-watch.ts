// Notices when files or folders change. ConfigMap mounts swap a symlink
// (..data -> ..2024_...) rather than writing the file, which fs.watch on the file
// itself misses; so we watch the folders (best effort, fast) and also poll a
// fingerprint of every file (size, mtime, inode, through symlinks) as the
// guarantee. `onChange` fires once per change of the fingerprint.

import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

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
  // Concurrently: a folder of 10k slice files took ~0.4 s one stat at a time.
  const parts = await Promise.all(names.map((n) => fingerprintOf(join(path, n), depth + 1)));
  return [`${path}:dir`, ...parts].join('\n');
}

export class FileWatch {
  private readonly watchers: FSWatcher[] = [];
  private poll: NodeJS.Timeout | undefined;
  private last = '';
  private checking: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  /** Files a folder watch named since the last onFiles call. */
  private named = new Set<string>();
  private namedTimer: NodeJS.Immediate | undefined;

  /**
   * `onFiles`, when given, is told which files inside a watched folder an fs.watch
   * event named, without the fingerprint of every file (~0.2 s at 10k files); other
   * events, and the poll, go through the fingerprint and `onChange` as before.
   */
  constructor(
    private readonly paths: readonly string[],
    private readonly onChange: () => void,
    private readonly pollMs = 2000,
    private readonly onFiles?: (paths: string[]) => void,
  ) {}

  async start(): Promise<void> {
    this.last = await this.fingerprint();
    for (const p of this.paths) {
      const isFolder = await stat(p).then((st) => st.isDirectory(), () => false);
      for (const dir of new Set([p, dirname(p)])) {
        try {
          // Events name entries of a watched folder; for a watched file they name the file itself.
          const inside = dir === p && isFolder;
          const w = watch(dir, { persistent: false }, (_event, filename) => {
            // A dot-file (ConfigMap mounts swap their `..data` symlink) changes what the
            // other names point to: that needs the full fingerprint.
            const name = typeof filename === 'string' ? filename : '';
            if (inside && this.onFiles && name !== '' && !name.startsWith('.')) this.name(join(dir, name));
            // In the parent folder only `p` itself and dot-files (a ConfigMap's `..data` swap) matter.
            else if (inside || name === '' || name === basename(p) || name.startsWith('.')) this.check();
          });
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

  /** Collects the files named in one burst of events (same tick), then reports them once. */
  private name(path: string): void {
    this.named.add(path);
    this.namedTimer ??= setImmediate(() => {
      this.namedTimer = undefined;
      const paths = [...this.named];
      this.named.clear();
      if (!this.stopped) this.onFiles!(paths);
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.namedTimer) clearImmediate(this.namedTimer);
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
