// The manifest files under the paths given (-f), walked: a folder's *.yaml, *.yml and
// *.json files, recursively, in sorted order, dot-files and dot-folders passed over. The
// one walk of the CLI's listing (read.ts listManifestFiles) and the agent's endpoint files'
// cache (agent/endpoint-files.ts), so the two agree on which files count and in what order.
// The cache compares each file with what it holds as it goes: nothing is kept per file by
// the walk, whose visit sees the Stats and lets them go.

import { statSync, type Stats } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../model/errors.js';
import { nextTurn, STAT_BATCH, statNow } from './stat-batches.js';

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

/** Whether a folder's entry of this name is read as a manifest (a manifest extension, not a dot-file). */
export function isManifestFileName(name: string): boolean {
  return !name.startsWith('.') && MANIFEST_EXTENSIONS.some((x) => name.toLowerCase().endsWith(x));
}

/**
 * One file: `rel` its path under the given path it was found in ('' when that path is the
 * file itself; a folder's own files by name, deeper ones joined), `path` its whole path (join
 * of the folder and the name), `st` its Stats through symlinks.
 * A promise returned (the file read) is awaited before the walk goes on: the agent's cache
 * reads a changed file as it meets it, and keeps nothing of the walk's for it (a list of
 * the files to read after the walk, each with its Stats and path, was ~33 MB at a first
 * load of 44k files: the heap's peak at start, 41 -> 75 MB).
 */
export type VisitFile = (rel: string, path: string, st: Stats) => void | Promise<void>;

/**
 * What the walk does with an entry of a folder that is gone by the time it gets there (or
 * cannot be stat'ed): a dangling symlink, a file replaced or removed between the folder's
 * listing and its stat, a subfolder removed before it is listed. 'skip' (the agent: files
 * come and go, and the next walk sees the folder as it is then; a subfolder that is there
 * but cannot be listed still fails the walk); 'fail' (the CLI: a one-shot read that
 * silently leaves out a manifest named in its folder would render a different cluster),
 * an input error naming the entry.
 */
export type MissingEntry = 'skip' | 'fail';

/**
 * Visits the manifest files of `paths`, in order: a file as given (whatever its name), a
 * folder's files recursively, sorted by name. A file found twice (paths that overlap) is
 * visited once. A given path that does not exist is an input error naming it.
 */
export async function walkManifestFiles(paths: readonly string[], visit: VisitFile, missing: MissingEntry = 'skip'): Promise<void> {
  const seen = paths.length > 1 ? new Set<string>() : undefined;
  const once: VisitFile = seen
    ? (rel, path, st) => {
        if (seen.has(path)) return;
        seen.add(path);
        return visit(rel, path, st);
      }
    : visit;
  for (const p of paths) {
    const st = statEntry(p, 'fail');
    if (st!.isDirectory()) await walkFolder(p, '', once, 'fail', missing);
    else await once('', p, st!);
  }
}

async function walkFolder(dir: string, rel: string, visit: VisitFile, unlisted: MissingEntry, missing: MissingEntry): Promise<void> {
  let all: string[];
  try {
    all = await readdir(dir);
  } catch (e) {
    // Skipped only when the folder is gone (its files are gone with it): any other failure
    // (EACCES, EMFILE under load) fails the walk, so that the agent keeps what it has rather
    // than taking the folder's files for removed and withdrawing their endpoints.
    if (unlisted === 'skip' && isGone(e)) return;
    throw entryError(dir, e);
  }
  const names = all.filter((n) => !n.startsWith('.')).sort();
  for (let i = 0; i < names.length; i++) {
    if (i > 0 && i % STAT_BATCH === 0) await nextTurn();
    const name = names[i]!;
    const path = join(dir, name);
    const st = statEntry(path, missing);
    if (!st) continue;
    const under = rel === '' ? name : join(rel, name);
    if (st.isDirectory()) await walkFolder(path, under, visit, missing, missing);
    else if (st.isFile() && isManifestFileName(name)) await visit(under, path, st);
  }
}

/**
 * The entry's Stats through symlinks, synchronously: an async stat's promise, request and
 * Stats of each file lived until its batch was done, long enough at 44k files to be
 * promoted out of the agent's 1 MB young generation (stat-batches.ts). Undefined when it
 * cannot be stat'ed and `missing` skips it.
 */
function statEntry(path: string, missing: MissingEntry): Stats | undefined {
  if (missing === 'skip') return statNow(path);
  let st: Stats | undefined;
  try {
    st = statSync(path, { throwIfNoEntry: false });
  } catch (e) {
    throw entryError(path, e);
  }
  if (!st) throw entryError(path, undefined);
  return st;
}

/** Whether a failed call says the path is no longer there (removed, or no longer a folder). */
function isGone(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** An entry that cannot be read (`e` undefined: it does not exist), as an input error naming it. */
function entryError(path: string, e: unknown): InputError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return fileError(path, e === undefined || code === 'ENOENT' ? 'no such file or folder' : `cannot read: ${(e as Error).message}`);
}

/** A problem with a file or folder given with -f (or found under one), naming it. */
export function fileError(file: string, message: string): InputError {
  return new InputError(undefined, [{ field: '-f', message }], file);
}
