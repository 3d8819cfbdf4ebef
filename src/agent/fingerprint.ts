// The file watch's fingerprint: the version (`ino:size:mtime`, or dir/missing/unreadable)
// of every file under the watched paths, through symlinks, in one map updated in place by
// each walk. Before, each poll built a second full map and compared the two: at 44k files
// 44k paths twice while a poll compared (~8.5 MB of the agent's heap at 44k x 1, session 8).
// Then each walk moved the entries to a map of its own (each path once, but every path a
// new string a walk); now a walk updates the one map in place (Fingerprint.update).

import { statSync, type Stats } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { flatString } from './flat-string.js';

/**
 * Files stat'ed in one synchronous stretch, then the event loop is let go (setImmediate).
 * Synchronous stats: an async stat's promise, request and Stats of each file lived
 * until its batch of the walk was done, long enough at 44k files to be promoted out of
 * the 1 MB young generation: tens of MB of old-generation garbage a walk, on which the
 * agent's peak through endpoint changes sat. Done at once, they die young; no request
 * waits in libuv's pool either, so a reload's reads never queue behind a poll. A batch
 * of local stats takes well under a millisecond.
 */
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

/** The path's stats through symlinks; undefined when it is missing (or cannot be stat'ed). */
function statNow(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

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

/**
 * What another holder (the endpoint files' cache) keeps for `path`: its own path string and
 * version string, so that the fingerprint keeps one copy of each where they are equal.
 */
export type KnownVersion = (path: string) => { readonly path: string; readonly version: string } | undefined;

export class Fingerprint {
  /** path -> version, as the last walk saw them. */
  private versions = new Map<string, string>();

  /**
   * `known`: a version equal to the one a walk finds is kept as that string, not a second
   * copy (~2.5 MB at 44k files); else one that did not change stays the string already
   * held, rather than each poll's new copy (garbage old enough to be promoted, every poll).
   * A path new to the map is keyed by the holder's string for it, not the walk's (~3 MB).
   */
  constructor(private readonly known?: KnownVersion) {}

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
   * Sets `path`'s entry in `map` to `version` as a string already held: the other holder's
   * when equal (also once it caught up with a change), else the one held. A key the map has
   * stays its own string (Map.set stores the value only); a new one (a new path, or every
   * path in a rebuild's new map) is the holder's string when it has the path.
   */
  private keep(map: Map<string, string>, path: string, version: string, held: string | undefined): void {
    const shared = this.known?.(path);
    const key = shared?.path === path ? shared.path : path;
    map.set(key, shared?.version === version ? shared.version : held === version ? held : version);
  }
}

/** Whether a path is given twice, or inside another given one (a walk would visit some path twice). */
function overlapping(paths: readonly string[]): boolean {
  const full = paths.map((p) => resolve(p));
  return full.some((p, i) => full.some((q, j) => i !== j && (p === q || p.startsWith(q.endsWith(sep) ? q : q + sep))));
}
