// Notices when files or folders change. ConfigMap mounts swap a symlink
// (..data -> ..2024_...) rather than writing the file, which fs.watch on the file
// itself misses; so we watch the folders (best effort, fast) and also poll a
// fingerprint of every file (size, mtime, inode, through symlinks) as the
// guarantee. `onChange` fires once per change of the fingerprint. A holder that
// compares every file with what it holds itself (the endpoint files' cache) is
// `selfPolled`: the watch keeps no fingerprint and the poll is the holder's `onChange`.

import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DIR, Fingerprint, type VersionChange } from './fingerprint.js';

export class FileWatch {
  private readonly watchers: FSWatcher[] = [];
  private poll: NodeJS.Timeout | undefined;
  /** Every watched file's version as the last check saw it (fingerprint.ts); none when self-polled. */
  private readonly fingerprint: Fingerprint | undefined;
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
    private readonly onChange: () => void | Promise<void>,
    private readonly pollMs = 2000,
    private readonly onFiles?: (paths: string[]) => void,
    /**
     * The holder finds changes itself: `onChange` compares every file with what the holder
     * read and reloads what moved (EndpointFiles.load), and is called, and awaited, for each
     * poll and each event that is not a named file, with no fingerprint kept here. The
     * fingerprint was a second map of every file's path and version beside the holder's own
     * (~1.84 MB of table alone at 44k files); the polls' cost is the same walk of every file.
     */
    selfPolled = false,
  ) {
    this.fingerprint = selfPolled ? undefined : new Fingerprint();
  }

  async start(): Promise<void> {
    await this.fingerprint?.update(this.paths);
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

  /**
   * What the poll found, told as named files when it can be: files directly inside a
   * watched folder (as a folder event would name them), none of them a folder. Each
   * change a folder event already reported shows up here again at the next poll; told
   * as `onChange` it cost a full reload (a listing and a stat of every file, ~0.2-0.4 s
   * at 10k files, queued ahead of the next change's reload).
   */
  private canName(changes: readonly VersionChange[]): boolean {
    return this.onFiles !== undefined && changes.every((c) => this.folders.has(dirname(c.path)) && !basename(c.path).startsWith('.') && c.before !== DIR && c.after !== DIR);
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
        // The holder reports its own errors (the agent logs a reload that failed): a rejection here would go unhandled.
        if (!this.fingerprint) await Promise.resolve(this.onChange()).catch(() => undefined);
        const changes = this.fingerprint ? await this.fingerprint.update(this.paths) : [];
        if (changes.length && !this.stopped) {
          if (named && this.canName(changes)) this.onFiles!(changes.map((c) => c.path));
          else this.onChange();
        }
        named = !this.againFull;
        this.againFull = false;
      } while (this.again && !this.stopped);
    })().finally(() => (this.checking = undefined));
  }
  private againFull = false;
}
