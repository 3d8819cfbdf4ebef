// The file watch's fingerprint: the version (`ino:size:mtime`, or dir/missing/unreadable)
// of every file under the watched paths, through symlinks, in one map updated in place by
// each walk. Before, each poll built a second full map and compared the two: at 44k files
// 44k paths twice while a poll compared (~8.5 MB of the agent's heap at 44k x 1, session 8).
// Then each walk moved the entries to a map of its own (each path once, but every path a
// new string a walk); now a walk updates the one map in place (Fingerprint.update).
// The endpoint files no longer use it (their cache is its own poll: file-watch.ts
// `selfPolled`); it watches the plan file, and any path given to a FileWatch without a
// holder that compares versions itself.

import type { Stats } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { flatString } from '../exec/flat-string.js';
import { nextTurn, STAT_BATCH, statNow } from '../manifests/stat-batches.js';

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

/** Visits `path` and every file under it, in name order. */
async function walk(path: string, visit: Visit, depth = 0, st = statNow(path)): Promise<void> {
  if (!st) {
    visit(path, MISSING);
    return;
  }
  if (!st.isDirectory()) {
    visit(path, fileVersion(st));
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
  for (let i = 0; i < names.length; i++) {
    if (i > 0 && i % STAT_BATCH === 0) await nextTurn();
    const p = join(path, names[i]!);
    const child = statNow(p);
    if (child?.isDirectory()) await walk(p, visit, depth + 1, child);
    else visit(p, child ? fileVersion(child) : MISSING);
  }
}

function fileVersion(st: Stats): string {
  return flatString(`${st.ino}:${st.size}:${st.mtimeMs}`);
}

export class Fingerprint {
  /** path -> version, as the last walk saw them. */
  private versions = new Map<string, string>();

  get size(): number {
    return this.versions.size;
  }

  /**
   * Walks `paths` again; returns what changed since the last walk (everything, the first
   * time). The map is updated in place: a path it holds keeps its key string (Map.set on a
   * key it has stores the value only), so a walk that finds nothing new retains nothing.
   * Each walk's new path strings (join) die young; kept, as when each walk built its own
   * map, they were ~3 MB of old-generation garbage a walk at 44k files, plus the map.
   * Fewer of the last walk's paths met again than it had means some are gone: only then
   * does a second walk move the entries to a new map, to name them.
   */
  async update(paths: readonly string[]): Promise<VersionChange[]> {
    if (overlapping(paths)) return this.rebuild(paths);
    const versions = this.versions;
    const lastSize = versions.size;
    let met = 0;
    const changes: VersionChange[] = [];
    const visit = (path: string, version: string) => {
      const held = versions.get(path);
      // Each path is visited once a walk (the paths do not overlap): held is the last walk's.
      if (held !== undefined) met++;
      if (held !== version) changes.push({ path, before: held, after: version });
      this.keep(versions, path, version, held);
    };
    for (const p of paths) await walk(p, visit);
    if (met < lastSize) for (const c of await this.rebuild(paths)) changes.push(c);
    return changes;
  }

  /**
   * The walk that names removed paths: each entry moves from the last walk's map to this
   * walk's as it is visited, so the two hold each path once between them; what is left in
   * the last one at the end was removed.
   */
  private async rebuild(paths: readonly string[]): Promise<VersionChange[]> {
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
      this.keep(next, path, version, held);
    };
    for (const p of paths) await walk(p, visit);
    for (const [path, version] of last) changes.push({ path, before: version, after: undefined });
    this.versions = next;
    return changes;
  }

  /**
   * Sets `path`'s entry in `map` to `version`, as the string already held when it did not
   * change, rather than each poll's new copy (garbage old enough to be promoted, every
   * poll). A key the map has stays its own string (Map.set stores the value only).
   */
  private keep(map: Map<string, string>, path: string, version: string, held: string | undefined): void {
    map.set(path, held === version ? held : version);
  }
}

/** Whether a path is given twice, or inside another given one (a walk would visit some path twice). */
function overlapping(paths: readonly string[]): boolean {
  const full = paths.map((p) => resolve(p));
  return full.some((p, i) => full.some((q, j) => i !== j && (p === q || p.startsWith(q.endsWith(sep) ? q : q + sep))));
}
