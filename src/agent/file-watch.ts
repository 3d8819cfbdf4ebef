// Notices when files or folders change. ConfigMap mounts swap a symlink
// (..data -> ..2024_...) rather than writing the file, which fs.watch on the file
// itself misses; so we watch the folders (best effort, fast) and also poll a
// fingerprint of every file (size, mtime, inode, through symlinks) as the
// guarantee. `onChange` fires once per change of the fingerprint.

import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Stats at once at most: a poll of 10k files must not queue ahead of a reload's reads in libuv's pool. */
const STAT_BATCH = 64;

/** path -> its version (`ino:size:mtime`, or dir/missing/unreadable), every file under `path`. */
async function fingerprintOf(path: string, out: Map<string, string>, depth = 0): Promise<void> {
  let st;
  try {
    st = await stat(path);
  } catch {
    out.set(path, 'missing');
    return;
  }
  if (!st.isDirectory()) {
    out.set(path, `${st.ino}:${st.size}:${st.mtimeMs}`);
    return;
  }
  out.set(path, DIR);
  if (depth > 8) return;
  let names: string[];
  try {
    names = (await readdir(path)).filter((n) => !n.startsWith('.')).sort();
  } catch {
    out.set(path, 'unreadable');
    return;
  }
  // Concurrently (a folder of 10k slice files took ~0.4 s one stat at a time), but in
  // batches: 10k stats queued at once made a reload's own stat and read wait behind all
  // of them (seconds per endpoint change at 10k under load, bench/agent-scale.ts).
  // The map is filled in name order whatever order the stats end in.
  for (let i = 0; i < names.length; i += STAT_BATCH) {
    const batch = names.slice(i, i + STAT_BATCH).map((n) => join(path, n));
    const parts = await Promise.all(batch.map(async (p) => {
      const m = new Map<string, string>();
      await fingerprintOf(p, m, depth + 1);
      return m;
    }));
    for (const m of parts) for (const [k, v] of m) out.set(k, v);
  }
}
const DIR = 'dir';

/** Paths whose version differs between two fingerprints (added, removed or changed). */
function differing(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of a) if (b.get(k) !== v) out.push(k);
  for (const k of b.keys()) if (!a.has(k)) out.push(k);
  return out;
}

export class FileWatch {
  private readonly watchers: FSWatcher[] = [];
  private poll: NodeJS.Timeout | undefined;
  private last: ReadonlyMap<string, string> = new Map();
  /** The watched paths that are folders (their direct files can be named to onFiles). */
  private readonly folders = new Set<string>();
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
      if (isFolder) this.folders.add(p);
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
    this.schedulePoll(0);
  }

  /**
   * The next poll, `pollMs` after this one ended, or longer when the fingerprint is
   * costly: at most ~5% of the time goes to polling (10k files take 0.1-0.3 s to stat,
   * every 2 s that was 5-15% of a core, all the time). Folder events still come at once;
   * the poll is the guarantee for what they miss.
   */
  private schedulePoll(lastMs: number): void {
    if (this.stopped) return;
    this.poll = setTimeout(() => {
      const t0 = performance.now();
      this.check(true);
      void (this.checking ?? Promise.resolve()).then(() => this.schedulePoll(performance.now() - t0));
    }, Math.max(this.pollMs, 20 * lastMs));
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
    if (this.poll) clearTimeout(this.poll);
    for (const w of this.watchers) w.close();
  }

  private async fingerprint(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const p of this.paths) await fingerprintOf(p, out);
    return out;
  }

  /**
   * What the poll found, told as named files when it can be: files directly inside a
   * watched folder (as a folder event would name them), none of them a folder. Each
   * change a folder event already reported shows up here again at the next poll; told
   * as `onChange` it cost a full reload (a listing and a stat of every file, ~0.2-0.4 s
   * at 10k files, queued ahead of the next change's reload).
   */
  private canName(paths: readonly string[], before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): boolean {
    return this.onFiles !== undefined && paths.every((p) => this.folders.has(dirname(p)) && !basename(p).startsWith('.') && before.get(p) !== DIR && after.get(p) !== DIR);
  }

  /**
   * Compares the fingerprint now (coalesced: one check at a time, one more if asked
   * meanwhile). `poll`: the periodic check, which may name files (canName); a check
   * asked for by an event (a dot-file, a watched file, an unnamed event) reports
   * `onChange`, the full path, as before.
   */
  check(poll = false): void {
    if (this.stopped) return;
    if (this.checking) {
      this.again = true;
      this.againFull ||= !poll;
      return;
    }
    this.checking = (async () => {
      let named = poll;
      do {
        this.again = false;
        const before = this.last;
        const fp = await this.fingerprint();
        const diff = differing(before, fp);
        if (diff.length && !this.stopped) {
          this.last = fp;
          if (named && this.canName(diff, before, fp)) this.onFiles!(diff);
          else this.onChange();
        }
        named = !this.againFull;
        this.againFull = false;
      } while (this.again && !this.stopped);
    })().finally(() => (this.checking = undefined));
  }
  private againFull = false;
}
