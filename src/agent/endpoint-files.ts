// Offline mode's endpoints: EndpointSlice (and Node) manifests on disk, one file per
// Service or a few big ones. Re-reading and re-validating every file on each change
// cost ~4 s at 10k Services (one file each); this cache keeps what each file yielded,
// keyed by the file's version (inode, size, mtime), and re-reads only the files that
// changed. A change then costs a stat of every file plus the changed files themselves,
// and names the Services it touched without comparing all slices.

import { collectInputs, type InputDocument } from '../manifests/inputs.js';
import { listManifestFiles, manifestFileVersion, readManifestFile, type ManifestFile } from '../manifests/read.js';
import type { EndpointSliceInfo } from '../model/endpoints.js';
import { inputError, type InputError } from '../model/errors.js';
import { isJsonObject } from '../model/json-fields.js';
import type { NodeContext } from '../model/node.js';
import { compareByNamespaceName } from '../model/plan.js';

/** What one file yielded. */
interface FileResult {
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

const sliceKey = (s: EndpointSliceInfo) => `${s.namespace}/${s.name}`;
const serviceOf = (s: EndpointSliceInfo) => `${s.namespace}/${s.serviceName}`;

function isNodeDoc(d: InputDocument): boolean {
  return isJsonObject(d.object) && d.object.kind === 'Node' && d.object.apiVersion === 'v1';
}

export class EndpointFiles {
  private files = new Map<string, FileResult>();
  private node: NodeContext | undefined;
  private lastLoad: Pick<EndpointFilesLoad, 'slices' | 'skipped' | 'node'> | undefined;

  constructor(
    private readonly paths: readonly string[],
    private readonly opts: EndpointFilesOptions = {},
  ) {}

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
    this.queue = run.catch(() => undefined);
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
    const listed = new Map<string, ManifestFile>([...this.files].map(([path, r]) => [path, { path, version: r.version }]));
    for (const p of new Set(paths)) {
      const f = await manifestFileVersion(p);
      if (f) listed.set(p, f);
      else listed.delete(p);
    }
    return this.update([...listed.values()]);
  }

  private async update(listed: readonly ManifestFile[]): Promise<EndpointFilesLoad> {
    const next = new Map<string, FileResult>();
    const errors: InputError[] = [];
    const changed = new Set<string>();
    const touch = (r: FileResult | undefined) => {
      for (const s of r?.slices ?? []) changed.add(serviceOf(s));
      for (const k of r?.skipped ?? []) changed.add(k);
    };
    let filesRead = 0;
    for (const f of listed) {
      const prev = this.files.get(f.path);
      if (prev && prev.version === f.version) {
        next.set(f.path, prev);
        continue;
      }
      const docs = await readManifestFile(f.path);
      const nodeDocs = docs.filter(isNodeDoc);
      const c = collectInputs(
        docs.filter((d) => !isNodeDoc(d)),
        { strict: false },
      );
      const result: FileResult = { version: f.version, slices: c.endpointSlices, skipped: c.skippedServices, nodeDocs };
      for (const e of c.errors) errors.push(e);
      filesRead++;
      touch(prev);
      touch(result);
      next.set(f.path, result);
    }
    for (const [path, r] of this.files) if (!next.has(path)) touch(r);
    // Nothing read, nothing gone (a poll naming files a folder event already reported):
    // the last load stands; merging every file again cost ~10 ms at 10k files.
    if (filesRead === 0 && next.size === this.files.size && this.lastLoad) {
      this.files = next;
      return { ...this.lastLoad, changed, nodeChanged: false, errors, filesRead };
    }

    const merged = merge(next);
    for (const e of merged.errors) errors.push(e);
    const { node, errors: nodeErrors } = nodeOf([...next.values()].flatMap((r) => r.nodeDocs), this.opts);
    if (filesRead > 0) for (const e of nodeErrors) errors.push(e);
    const nodeChanged = JSON.stringify(node) !== JSON.stringify(this.node);
    this.files = next;
    this.node = node;
    this.lastLoad = { slices: merged.slices, skipped: merged.skipped, node };
    return { slices: merged.slices, skipped: merged.skipped, node, changed, nodeChanged, errors, filesRead };
  }
}

/** All files' slices, sorted; a slice defined in two files is an error (the first, in file order, wins). */
function merge(files: ReadonlyMap<string, FileResult>): { slices: EndpointSliceInfo[]; skipped: string[]; errors: InputError[] } {
  const seen = new Map<string, string>();
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
        continue;
      }
      seen.set(sliceKey(s), path);
      slices.push(s);
    }
  }
  slices.sort(compareByNamespaceName);
  return { slices, skipped: [...skipped].sort(), errors };
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
