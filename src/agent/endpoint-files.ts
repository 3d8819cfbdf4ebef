// Offline mode's endpoints: EndpointSlice (and Node) manifests on disk, one file per
// Service or a few big ones. Re-reading and re-validating every file on each change
// cost ~4 s at 10k Services (one file each); this cache keeps what each file yielded,
// with the file's version (inode, size, mtime: file-version.ts), and re-reads only the
// files that changed. A change then costs a stat of every file plus the changed files
// themselves, and names the Services it touched without comparing all slices.
//
// The cache is also the file watch's poll (file-watch.ts, `selfPolled`): a full load
// compares every file with the record it holds, so the watch keeps no map of versions
// of its own. At 44k files (issue 16 §1, src/agent/README.md "Session 18") each file
// cost a record, a path string, a version string and an entry in each of two maps keyed
// by the path (~250 bytes); now a record with the version in it, a name string and one
// map entry.

import { collectInputs, type InputDocument } from '../manifests/inputs.js';
import type { Stats } from 'node:fs';
import { basename, isAbsolute, join, relative, sep } from 'node:path';
import { readManifestFile } from '../manifests/read.js';
import { statNow } from '../manifests/stat-batches.js';
import { isManifestFileName, walkManifestFiles } from '../manifests/walk.js';
import { compactSlice } from '../model/compact.js';
import type { EndpointSliceInfo } from '../model/endpoints.js';
import { inputError, type InputError } from '../model/errors.js';
import { isJsonObject } from '../model/json-fields.js';
import type { NodeContext } from '../model/node.js';
import { compareByNamespaceName } from '../model/plan.js';
import { flatString } from '../exec/flat-string.js';
import { FileVersion } from './file-version.js';

/** What one file yielded, and the version of the file it was read from. */
abstract class FileResult extends FileVersion {
  abstract readonly slices: readonly EndpointSliceInfo[];
  /** Services whose slice in this file was malformed. */
  abstract readonly skipped: readonly string[];
  abstract readonly nodeDocs: readonly InputDocument[];
}

export interface EndpointFilesLoad {
  readonly slices: EndpointSliceInfo[];
  /** namespace/name of Services whose input was skipped as malformed: their rules stay. */
  readonly skipped: string[];
  /** The Node given in the files (addresses or pod CIDRs), if any. */
  readonly node: NodeContext | undefined;
  /** Services whose slices (or skipped state) differ from the previous load. */
  readonly changed: Set<string>;
  /** Whether the Node differs from the previous load. */
  readonly nodeChanged: boolean;
  /** Objects skipped as malformed in the files read this time (unchanged files are not re-reported). */
  readonly errors: InputError[];
  /** Files read this time (changed, added); 0 when nothing changed. */
  readonly filesRead: number;
}

export interface EndpointFilesOptions {
  readonly nodeName?: string;
  readonly nodeIPs?: readonly string[];
}

/**
 * One empty array for every file that has none of a kind: a file is usually one slice with
 * nothing skipped and no Node, and an empty array each cost ~2 x 32 bytes a file (44k files:
 * ~3 MB) in the cache, for as long as the agent runs.
 */
const NONE: readonly never[] = Object.freeze([]);
const orNone = <T>(xs: readonly T[]): readonly T[] => (xs.length ? xs : NONE);

const noValue = (): void => undefined;

const sliceKey = (s: EndpointSliceInfo) => `${s.namespace}/${s.name}`;
const serviceOf = (s: EndpointSliceInfo) => `${s.namespace}/${s.serviceName}`;

function isNodeDoc(d: InputDocument): boolean {
  return isJsonObject(d.object) && d.object.kind === 'Node' && d.object.apiVersion === 'v1';
}

/**
 * The cache's key for each file. With one path given (one folder, as the agent's
 * --endpoints-file usually is) a file's path under it: a folder's own file is keyed by its
 * name, readdir's string (~32 bytes at the bench's names), where the whole path was ~72
 * bytes and held for as long as the agent ran (3.2 MB at 44k files). With several paths
 * given, the whole path, as before: a file two of them reach is one entry.
 */
class FileKeys {
  constructor(private readonly paths: readonly string[]) {}

  private get root(): string | undefined {
    return this.paths.length === 1 ? this.paths[0] : undefined;
  }

  /** The key of a file the walk found (manifests/walk.ts VisitFile). */
  found(rel: string, path: string): string {
    if (this.root === undefined) return path;
    // A folder's own file is readdir's flat name; a deeper one's joined path is made flat, as it may be kept.
    return rel.includes(sep) ? flatString(rel) : rel;
  }

  /** The key of a path a watch named; undefined when it is not under the one path given. */
  named(path: string): string | undefined {
    const root = this.root;
    if (root === undefined) return path;
    const rel = relative(root, path);
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
    return flatString(rel);
  }

  /** The file's whole path, for messages: as the walk writes it. */
  path(key: string): string {
    const root = this.root;
    return root === undefined ? key : key === '' ? root : join(root, key);
  }
}

export class EndpointFiles {
  /** What each file yielded, by FileKeys' key; in listing order, but that a file loadChanged found new goes last. */
  private files = new Map<string, FileResult>();
  private readonly keys: FileKeys;
  /**
   * Files that could not be read or parsed, at the version that failed, and the last walk's
   * own failure (a given path gone, a folder that cannot be listed). The poll is a full load
   * (file-watch.ts `selfPolled`): without these, each poll (every 2 s) read the broken file
   * again and threw again, where the fingerprint's poll told of a change once. A full load
   * passes over a file at the version that failed (its last good yield stays, as the failed
   * load left it) and a walk failing as the last one did changes nothing, quietly, until
   * the file or the folder changes.
   */
  private readonly failed = new Map<string, FileVersion>();
  private walkFailed: string | undefined;
  private node: NodeContext | undefined;
  private lastLoad: Pick<EndpointFilesLoad, 'slices' | 'skipped' | 'node'> | undefined;
  private lastMerge: Merged | undefined;
  private lastNode: { node: NodeContext | undefined; errors: InputError[] } | undefined;

  constructor(
    private readonly paths: readonly string[],
    private readonly opts: EndpointFilesOptions = {},
  ) {
    this.keys = new FileKeys(paths);
  }

  /**
   * Reads what changed since the last load: every file is stat'ed and compared with the
   * version the cache read it at (the file watch's poll, too). A file that cannot be read
   * or parsed throws (an InputError naming it) and leaves the cache as it was: the caller
   * keeps the endpoints it has.
   */
  load(): Promise<EndpointFilesLoad> {
    return this.serial(() => this.update());
  }

  /** One load at a time: each starts from what the previous one left. */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f, f);
    // Settled with nothing: `run.catch()` kept the last load's result (at 44k files its
    // `changed` set of every Service key, 3.8 MB) for as long as no other load came.
    this.queue = run.then(noValue, noValue);
    return run;
  }
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * Like load, but trusts that only `paths` (files a folder watch named) may have
   * changed: no listing of the whole folder, which costs ~0.2 s at 10k files. A path
   * that is not a manifest file (a temporary file, a dot-file) is passed over; one that
   * is gone is dropped.
   */
  loadChanged(paths: readonly string[]): Promise<EndpointFilesLoad> {
    return this.serial(() => this.updateNamed(paths));
  }

  private async updateNamed(paths: readonly string[]): Promise<EndpointFilesLoad> {
    // Only the named files are looked at: no copy of the cache (at 44k files a map and a
    // record a file, ~8 MB of garbage at every reload, a poll naming nothing new included).
    const errors: InputError[] = [];
    const swaps: Swap[] = [];
    for (const p of new Set(paths)) {
      const key = this.keys.named(p);
      if (key === undefined) continue;
      // As a folder listing would have it: a manifest file, not a dot-file.
      const st = isManifestFileName(basename(p)) ? statNow(p) : undefined;
      const prev = this.files.get(key);
      if (!st?.isFile()) {
        if (prev) swaps.push([key, prev, undefined]);
      } else if (!prev?.sameVersion(st)) swaps.push([key, prev, await this.read(key, p, st, errors)]);
    }
    return this.settle(swaps, errors, undefined);
  }

  /** readOne, noting a file that fails at its version (`failed`); one read well is no longer failed. */
  private async read(key: string, path: string, st: Stats, errors: InputError[]): Promise<FileResult> {
    try {
      const r = await readOne(path, st, errors);
      this.failed.delete(key);
      return r;
    } catch (e) {
      this.failed.set(key, new FailedRead(st));
      throw e;
    }
  }

  /**
   * Every file walked and compared with its record as it is met; a file whose version
   * moved is read then and there (manifests/walk.ts VisitFile). The cache is rebuilt in the
   * listing's order only when a file is new to it (as the listing's map was at every load);
   * a file gone is deleted in place. A walk that finds nothing new keeps nothing: the Map keeps its
   * own key strings on a lookup, and the walk's names die with the walk.
   */
  private async update(): Promise<EndpointFilesLoad> {
    const files = this.files;
    const errors: InputError[] = [];
    const swaps: Swap[] = [];
    const order: string[] = [];
    let met = 0;
    let added = false;
    const failed = this.failed;
    const stillFailed = new Set<string>();
    // A file's read failing is that file's (`failed`), not the walk's.
    let readError: unknown;
    try {
      await walkManifestFiles(this.paths, (rel, path, st) => {
        const key = this.keys.found(rel, path);
        order.push(key);
        const prev = files.get(key);
        if (prev) met++;
        if (prev?.sameVersion(st)) return;
        if (failed.get(key)?.sameVersion(st)) {
          stillFailed.add(key);
          return;
        }
        if (!prev) added = true;
        return this.read(key, path, st, errors).then(
          (r) => void swaps.push([key, prev, r]),
          (e: unknown) => {
            readError = e;
            throw e;
          },
        );
      });
    } catch (e) {
      if (e === readError) throw e;
      const said = String(e);
      if (said === this.walkFailed && this.lastLoad) return this.settle([], [], undefined);
      this.walkFailed = said;
      throw e;
    }
    this.walkFailed = undefined;
    for (const key of failed.keys()) if (!stillFailed.has(key)) failed.delete(key);
    // Each file is met once a walk (manifests/walk.ts): fewer met than held means some are gone.
    if (met < files.size) {
      const listed = new Set(order);
      for (const [key, r] of files) if (!listed.has(key)) swaps.push([key, r, undefined]);
    }
    let next: Map<string, FileResult> | undefined;
    if (added) {
      const read = new Map(swaps.map(([key, , after]) => [key, after]));
      next = new Map();
      for (const key of order) {
        // A new file passed over (failed at this version) has no entry.
        const r = read.get(key) ?? files.get(key);
        if (r) next.set(key, r);
      }
    }
    return this.settle(swaps, errors, next);
  }

  /**
   * The cache moved on by `swaps` (files read anew, or gone): `listed`, the whole cache in
   * the listing's order when a full load found a file new to it; without, the swaps apply
   * to the cache in place (a file new to it goes last), copied only when a whole merge or
   * the Node needs it.
   */
  private settle(swaps: readonly Swap[], errors: InputError[], listed: Map<string, FileResult> | undefined): EndpointFilesLoad {
    const changed = new Set<string>();
    const touch = (r: FileResult | undefined) => {
      for (const s of r?.slices ?? []) changed.add(serviceOf(s));
      for (const k of r?.skipped ?? []) changed.add(k);
    };
    let filesRead = 0;
    for (const [, before, after] of swaps) {
      if (after) filesRead++;
      touch(before);
      touch(after);
    }
    // Nothing read, nothing gone (a poll naming files a folder event already reported):
    // the last load stands; merging every file again cost ~10 ms at 10k files.
    if (swaps.length === 0 && this.lastLoad) {
      return { ...this.lastLoad, changed, nodeChanged: false, errors, filesRead };
    }
    let next = listed;
    const whole = (): Map<string, FileResult> => {
      if (!next) {
        next = new Map(this.files);
        for (const [path, , after] of swaps) after ? next.set(path, after) : next.delete(path);
      }
      return next;
    };
    const quick = this.lastMerge && mergedWith(this.lastMerge, swaps);
    const merged = quick ?? merge(whole(), this.keys);
    for (const e of merged.errors) errors.push(e);
    // The Node comes from the files' Node objects: the same when no file read or gone had one.
    const nodeSame = quick !== undefined && this.lastNode !== undefined;
    const { node, errors: nodeErrors } = nodeSame ? this.lastNode! : nodeOf([...whole().values()].flatMap((r) => r.nodeDocs), this.opts);
    if (filesRead > 0) for (const e of nodeErrors) errors.push(e);
    const nodeChanged = JSON.stringify(node) !== JSON.stringify(this.node);
    if (next) this.files = next;
    else for (const [path, , after] of swaps) after ? this.files.set(path, after) : this.files.delete(path);
    this.node = node;
    this.lastMerge = merged;
    this.lastNode = { node, errors: nodeErrors };
    this.lastLoad = { slices: merged.slices, skipped: merged.skipped, node };
    return { slices: merged.slices, skipped: merged.skipped, node, changed, nodeChanged, errors, filesRead };
  }
}

/** A file read anew (before: the cache's, if any) or gone (after undefined), by its key. */
type Swap = readonly [key: string, before: FileResult | undefined, after: FileResult | undefined];

/**
 * What one file yields, at the version `st` (its stat before the read: a write after the
 * stat shows as a new version at the next load). Its malformed objects are added to
 * `errors`. Throws (an InputError naming it) when it cannot be read or parsed.
 */
async function readOne(path: string, st: Stats, errors: InputError[]): Promise<FileResult> {
  const docs = await readManifestFile(path);
  const nodeDocs = docs.filter(isNodeDoc);
  const c = collectInputs(
    docs.filter((d) => !isNodeDoc(d)),
    { strict: false },
  );
  for (const e of c.errors) errors.push(e);
  const slices = c.endpointSlices.map(compactSlice);
  if (slices.length === 1 && c.skippedServices.length === 0 && nodeDocs.length === 0) return new OneSlice(st, slices[0]!);
  return new FileYield(st, orNone(slices), orNone(c.skippedServices), orNone(nodeDocs));
}

/** The version at which a file failed to read or parse (EndpointFiles' `failed`). */
class FailedRead extends FileVersion {}

/** What a file yielded, in general: any number of slices, skipped Services, Node objects. */
class FileYield extends FileResult {
  constructor(
    st: Stats,
    readonly slices: readonly EndpointSliceInfo[],
    readonly skipped: readonly string[],
    readonly nodeDocs: readonly InputDocument[],
  ) {
    super(st);
  }
}

/**
 * What the usual file yielded, one slice, nothing skipped, no Node: the slice without an
 * array around it and no fields for the shared empties. A record and a one-slice array
 * were ~120 bytes a file, this 64 with the version's four fields (file-version.ts); the
 * array is made when `slices` is read (a reload of the file, a whole merge).
 */
class OneSlice extends FileResult {
  constructor(
    st: Stats,
    private readonly slice: EndpointSliceInfo,
  ) {
    super(st);
  }

  get slices(): readonly EndpointSliceInfo[] {
    return [this.slice];
  }

  get skipped(): readonly string[] {
    return NONE;
  }

  get nodeDocs(): readonly InputDocument[] {
    return NONE;
  }
}

interface Merged {
  readonly slices: EndpointSliceInfo[];
  readonly skipped: string[];
  readonly errors: InputError[];
  /** Slice keys defined in more than one file. */
  readonly duplicated: ReadonlySet<string>;
}

/** All files' slices, sorted; a slice defined in two files is an error (the first, in file order, wins). */
function merge(files: ReadonlyMap<string, FileResult>, keys: FileKeys): Merged {
  const seen = new Map<string, string>();
  const duplicated = new Set<string>();
  const slices: EndpointSliceInfo[] = [];
  const skipped = new Set<string>();
  const errors: InputError[] = [];
  for (const [key, r] of files) {
    for (const k of r.skipped) skipped.add(k);
    for (const s of r.slices) {
      const other = seen.get(sliceKey(s));
      if (other !== undefined) {
        errors.push(inputError({ kind: 'EndpointSlice', namespace: s.namespace, name: s.name }, 'metadata.name', `duplicate EndpointSlice: also defined in ${keys.path(other)}`, keys.path(key)));
        skipped.add(serviceOf(s));
        duplicated.add(sliceKey(s));
        continue;
      }
      seen.set(sliceKey(s), key);
      slices.push(s);
    }
  }
  slices.sort(compareByNamespaceName);
  return { slices, skipped: [...skipped].sort(), errors, duplicated };
}

/**
 * The last merge with some files' slices swapped for their new versions, or undefined
 * when only a whole merge gives the right answer: a file with Node objects or skipped
 * (malformed) slices, a slice defined twice before or after. One endpoint change at 10k
 * files then costs a copy of the sorted list, not a merge and sort of every file's
 * slices (~20 ms per change, bench/agent-scale.ts with BENCH_AGENT_CPU_PROF).
 * A new slice defined by another file too is found in the sorted list itself (its
 * neighbour has its namespace and name): a map of every slice's key to its file cost
 * 4.3 MB at 44k files, for as long as the agent ran.
 * Any number of files: the new slices, sorted, are merged into the list in one pass. Past
 * 64 files a whole merge ran instead (each new slice was spliced in), and a burst of file
 * events at 44k files (renames while a sync runs) made one per sync: a copy of the cache
 * and a map of every slice's key, ~6 MB of old-generation garbage each.
 */
function mergedWith(last: Merged, swaps: readonly Swap[]): Merged | undefined {
  const gone = new Set<EndpointSliceInfo>();
  const added: EndpointSliceInfo[] = [];
  for (const [, before, after] of swaps) {
    for (const r of [before, after]) if (r && (r.nodeDocs.length || r.skipped.length)) return undefined;
    for (const s of before?.slices ?? []) {
      if (last.duplicated.has(sliceKey(s))) return undefined;
      gone.add(s);
    }
    for (const s of after?.slices ?? []) {
      if (last.duplicated.has(sliceKey(s))) return undefined;
      added.push(s);
    }
  }
  added.sort(compareByNamespaceName);
  const slices: EndpointSliceInfo[] = [];
  let next = 0;
  const take = (upTo: EndpointSliceInfo | undefined): boolean => {
    while (next < added.length && (upTo === undefined || compareByNamespaceName(added[next]!, upTo) <= 0)) {
      const s = added[next++]!;
      // Defined twice: by another new slice, or by one the list keeps.
      const prev = slices[slices.length - 1];
      if ((prev && compareByNamespaceName(prev, s) === 0) || (upTo && compareByNamespaceName(s, upTo) === 0)) return false;
      slices.push(s);
    }
    return true;
  };
  for (const s of last.slices) {
    if (gone.has(s)) continue;
    if (!take(s)) return undefined;
    slices.push(s);
  }
  if (!take(undefined)) return undefined;
  return { ...last, slices };
}


/** The Node from the files' Node objects (by --node-name, else the only one), with --node-ip applied. */
function nodeOf(nodeDocs: readonly InputDocument[], opts: EndpointFilesOptions): { node: NodeContext | undefined; errors: InputError[] } {
  if (nodeDocs.length === 0) return { node: undefined, errors: [] };
  const c = collectInputs(nodeDocs, {
    strict: false,
    ...(opts.nodeName !== undefined ? { nodeName: opts.nodeName } : {}),
    ...(opts.nodeIPs?.length ? { nodeIPs: opts.nodeIPs } : {}),
  });
  return { node: c.node.addresses.length || c.node.podCIDRs.length ? c.node : undefined, errors: c.errors };
}
