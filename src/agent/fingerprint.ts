// The file watch's fingerprint: the version (`ino:size:mtime`, or dir/missing/unreadable)
// of every file under the watched paths, through symlinks, in one map updated in place by
// each walk. Before, each poll built a second full map and compared the two: at 44k files
// 44k paths twice while a poll compared (~8.5 MB of the agent's heap at 44k x 1, session 8).
// Now each walk moves the entries from the last walk's map to its own as it visits them:
// the two hold each path once between them.

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { flatString } from './flat-string.js';

/** Stats at once at most: a poll of 10k files must not queue ahead of a reload's reads in libuv's pool. */
const STAT_BATCH = 64;

export const DIR = 'dir';
const MISSING = 'missing';
const UNREADABLE = 'unreadable';

/** One path whose version differs from the last walk's: added (before undefined), removed (after undefined) or changed. */
export interface VersionChange {
  readonly path: string;
  readonly before: string | undefined;
  readonly after: string | undefined;
}

type Visit = (path: string, version: string) => void;

/** Visits `path` and every file under it, in name order whatever order the stats end in. */
async function walk(path: string, visit: Visit, depth = 0): Promise<void> {
  let st;
  try {
    st = await stat(path);
  } catch {
    visit(path, MISSING);
    return;
  }
  if (!st.isDirectory()) {
    visit(path, flatString(`${st.ino}:${st.size}:${st.mtimeMs}`));
    return;
  }
  if (depth > 8) {
    visit(path, DIR);
    return;
  }
  let names: string[];
  try {
    names = (await readdir(path)).filter((n) => !n.startsWith('.')).sort();
  } catch {
    visit(path, UNREADABLE);
    return;
  }
  visit(path, DIR);
  // Concurrently (a folder of 10k slice files took ~0.4 s one stat at a time), but in
  // batches: 10k stats queued at once made a reload's own stat and read wait behind all
  // of them (seconds per endpoint change at 10k under load, bench/agent-scale.ts).
  for (let i = 0; i < names.length; i += STAT_BATCH) {
    const parts = await Promise.all(
      names.slice(i, i + STAT_BATCH).map(async (n) => {
        const seen: [string, string][] = [];
        await walk(join(path, n), (p, v) => seen.push([p, v]), depth + 1);
        return seen;
      }),
    );
    for (const seen of parts) for (const [p, v] of seen) visit(p, v);
  }
}

/** The version string another holder keeps for `path` (the endpoint files' cache), to keep one copy of an equal one. */
export type KnownVersion = (path: string) => string | undefined;

export class Fingerprint {
  /** path -> version, as the last walk saw them. */
  private versions = new Map<string, string>();

  /**
   * `known`: a version equal to the one a walk finds is kept as that string, not a second
   * copy (~2.5 MB at 44k files); else one that did not change stays the string already
   * held, rather than each poll's new copy (garbage old enough to be promoted, every poll).
   */
  constructor(private readonly known?: KnownVersion) {}

  get size(): number {
    return this.versions.size;
  }

  /**
   * Walks `paths` again; returns what changed since the last walk (everything, the first
   * time). Each path's entry moves from the last walk's map to this walk's as it is
   * visited, so the two hold each path once between them: what is left in the last one
   * at the end was removed.
   */
  async update(paths: readonly string[]): Promise<VersionChange[]> {
    const last = this.versions;
    const next = new Map<string, string>();
    const changes: VersionChange[] = [];
    const visit = (path: string, version: string) => {
      let held = next.get(path);
      if (held === undefined) {
        held = last.get(path);
        last.delete(path);
        if (held !== version) changes.push({ path, before: held, after: version });
      }
      // The other holder's string when equal (also once it caught up with a change), else the one held.
      const shared = this.known?.(path);
      next.set(path, shared === version ? shared : held === version ? held : version);
    };
    for (const p of paths) await walk(p, visit);
    for (const [path, version] of last) changes.push({ path, before: version, after: undefined });
    this.versions = next;
    return changes;
  }
}
