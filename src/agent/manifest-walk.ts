// The endpoint files as a folder listing gives them (manifests/read.ts listManifestFiles:
// the same files, the same order), walked for the endpoint files' cache, which compares
// each with what it holds as it goes. The listing built a record and a version string per
// file, the cache a new map of every file, at each full load; the file watch's poll walked
// every file again for its own map of versions (fingerprint.ts). Now the poll is a full
// load and nothing is kept per file a walk: the visit sees the Stats and lets them go.

import { statSync, type Stats } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isManifestFileName } from '../manifests/read.js';
import { InputError } from '../model/errors.js';
import { flatString } from './flat-string.js';
import { nextTurn, STAT_BATCH, statNow } from './stat-batches.js';

/**
 * One file: `rel` its path under the given path it was found in ('' when that path is the
 * file itself; a name, flat, for a folder's own files), `path` its whole path as the
 * listing writes it (join of the folder and the name), `st` its Stats through symlinks.
 * A promise returned (the file read) is awaited before the walk goes on: the cache reads
 * a changed file as it meets it, and keeps nothing of the walk's for it (a list of the
 * files to read after the walk, each with its Stats and path, was ~33 MB at a first load
 * of 44k files: the heap's peak at start, 41 -> 75 MB).
 */
export type VisitFile = (rel: string, path: string, st: Stats) => void | Promise<void>;

/**
 * Visits the files listManifestFiles lists for `paths`, in its order; a file found twice
 * (paths that overlap) is visited once. A given path that does not exist is an error
 * naming it, as in the listing; a folder's file gone between its listing and its stat is
 * not visited (the listing failed the whole load for it).
 */
export async function walkManifestFiles(paths: readonly string[], visit: VisitFile): Promise<void> {
  const seen = paths.length > 1 ? new Set<string>() : undefined;
  const once: VisitFile = seen
    ? (rel, path, st) => {
        if (seen.has(path)) return;
        seen.add(path);
        return visit(rel, path, st);
      }
    : visit;
  for (const p of paths) {
    let st: Stats | undefined;
    try {
      st = statSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new InputError(undefined, [{ field: '-f', message: code === 'ENOENT' ? 'no such file or folder' : `cannot read: ${(e as Error).message}` }], p);
    }
    if (st.isDirectory()) await walkFolder(p, '', once);
    else await once('', p, st);
  }
}

async function walkFolder(dir: string, rel: string, visit: VisitFile): Promise<void> {
  const names = (await readdir(dir)).filter((n) => !n.startsWith('.')).sort();
  for (let i = 0; i < names.length; i++) {
    if (i > 0 && i % STAT_BATCH === 0) await nextTurn();
    const name = names[i]!;
    const path = join(dir, name);
    const st = statNow(path);
    if (!st) continue;
    // A name of the folder given is readdir's own flat string; deeper, the joined one made flat.
    const under = rel === '' ? name : flatString(join(rel, name));
    if (st.isDirectory()) await walkFolder(path, under, visit);
    else if (st.isFile() && isManifestFileName(name)) await visit(under, path, st);
  }
}
