// Offline mode's endpoints: EndpointSlice (and Node) manifests on disk, one file per
// Service or a few big ones. Re-reading and re-validating every file on each change
// cost ~4 s at 10k Services (one file each); this cache keeps what each file yielded,
// keyed by the file's version (inode, size, mtime), and re-reads only the files that
// changed. A change then costs a stat of every file plus the changed files themselves,
// and names the Services it touched without comparing all slices.

import { collectInputs, type InputDocument } from '../manifests/inputs.js';
import { listManifestFiles, manifestFileVersion, readManifestFile, type ManifestFile } from '../manifests/read.js';
import { compactSlice } from '../model/compact.js';
import type { EndpointSliceInfo } from '../model/endpoints.js';
import { inputError, type InputError } from '../model/errors.js';
import { isJsonObject } from '../model/json-fields.js';
import type { NodeContext } from '../model/node.js';
import { compareByNamespaceName } from '../model/plan.js';
import { flatString } from './flat-string.js';

/** What one file yielded. */
interface FileResult {
  /** The cache's key for the file: kept so that a reload and the file watch key it by this same string. */
  readonly path: string;
  readonly version: string;
  readonly slices: readonly EndpointSliceInfo[];
  /** Services whose slice in this file was malformed. */
  readonly skipped: readonly string[];
  readonly nodeDocs: readonly InputDocument[];
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

export class EndpointFiles {
  private files = new Map<string, FileResult>();
  private node: NodeContext | undefined;
  private lastLoad: Pick<EndpointFilesLoad, 'slices' | 'skipped' | 'node'> | undefined;
  private lastMerge: Merged | undefined;
  private lastNode: { node: NodeContext | undefined; errors: InputError[] } | undefined;

  constructor(
    private readonly paths: readonly string[],
    private readonly opts: EndpointFilesOptions = {},
  ) {}

  /** The path and version strings this cache holds for `path` (the file watch shares them: fingerprint.ts). */
  known(path: string): { readonly path: string; readonly version: string } | undefined {
    return this.files.get(path);
  }

  /**
   * Reads what changed since the last load. A file that cannot be read or parsed
   * throws (an InputError naming it) and leaves the cache as it was: the caller keeps
   * the endpoints it has.
   */
  async load(): Promise<EndpointFilesLoad> {
    return this.serial(async () => this.update(await listManifestFiles(this.paths)));
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
      const f = await manifestFileVersion(p);
      const prev = this.files.get(p);
      if (!f) {
        if (prev) swaps.push([p, prev, undefined]);
      } else if (prev?.version !== f.version) swaps.push([p, prev, await readOne(f, errors, prev?.path)]);
    }
    return this.settle(swaps, errors, undefined);
  }

  private async update(listed: readonly ManifestFile[]): Promise<EndpointFilesLoad> {
    const next = new Map<string, FileResult>();
    const errors: InputError[] = [];
    const swaps: Swap[] = [];
    for (const f of listed) {
      const prev = this.files.get(f.path);
      // Keyed by the string the cache had: the listing's new one is garbage at once.
      if (prev && prev.version === f.version) {
        next.set(prev.path, prev);
        continue;
      }
      const result = await readOne(f, errors, prev?.path);
      swaps.push([result.path, prev, result]);
      next.set(result.path, result);
    }
    for (const [path, r] of this.files) if (!next.has(path)) swaps.push([path, r, undefined]);
    return this.settle(swaps, errors, next);
  }

  /**
   * The cache moved on by `swaps` (files read anew, or gone): `listed`, the whole cache in
   * the listing's order when a listing made it; without, the swaps apply to the cache in
   * place (a file new to it goes last), copied only when a whole merge or the Node needs it.
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
      if (listed) this.files = listed;
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
    const merged = quick ?? merge(whole());
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

/** A file read anew (before: the cache's, if any) or gone (after undefined). */
type Swap = readonly [path: string, before: FileResult | undefined, after: FileResult | undefined];

/**
 * What one file yields; its malformed objects are added to `errors`. Throws (an InputError
 * naming it) when it cannot be read or parsed. `path`: the cache's string for f.path, if any.
 */
async function readOne(f: ManifestFile, errors: InputError[], path = f.path): Promise<FileResult> {
  const docs = await readManifestFile(f.path);
  const nodeDocs = docs.filter(isNodeDoc);
  const c = collectInputs(
    docs.filter((d) => !isNodeDoc(d)),
    { strict: false },
  );
  for (const e of c.errors) errors.push(e);
  const slices = c.endpointSlices.map(compactSlice);
  const version = flatString(f.version);
  if (slices.length === 1 && c.skippedServices.length === 0 && nodeDocs.length === 0) return new OneSlice(path, version, slices[0]!);
  return { path, version, slices: orNone(slices), skipped: orNone(c.skippedServices), nodeDocs: orNone(nodeDocs) };
}

/**
 * What the usual file yielded, one slice, nothing skipped, no Node: the slice without an
 * array around it and no fields for the shared empties. A record and a one-slice array
 * were ~120 bytes a file, this ~48 (~3 MB less at 44k files, for as long as the agent
 * runs); the array is made when `slices` is read (a reload of the file, a whole merge).
 */
class OneSlice implements FileResult {
  constructor(
    readonly path: string,
    readonly version: string,
    private readonly slice: EndpointSliceInfo,
  ) {}

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
function merge(files: ReadonlyMap<string, FileResult>): Merged {
  const seen = new Map<string, string>();
  const duplicated = new Set<string>();
  const slices: EndpointSliceInfo[] = [];
  const skipped = new Set<string>();
  const errors: InputError[] = [];
  for (const [path, r] of files) {
    for (const k of r.skipped) skipped.add(k);
    for (const s of r.slices) {
      const other = seen.get(sliceKey(s));
      if (other !== undefined) {
        errors.push(inputError({ kind: 'EndpointSlice', namespace: s.namespace, name: s.name }, 'metadata.name', `duplicate EndpointSlice: also defined in ${other}`, path));
        skipped.add(serviceOf(s));
        duplicated.add(sliceKey(s));
        continue;
      }
      seen.set(sliceKey(s), path);
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
