// What the syncer remembers of the kernel's traffic sets between syncs (a partial sync
// diffs its touched entries against it). After a sync that sent every line of its set
// diff (no preserved Service) the kernel's sets hold exactly the render's labels: the
// memory is then a view of the labels map itself (`LabelsView`), not a copy. A copy (a
// Set of entries and a Map of comments, 65k entries at 10k Services x 10 endpoints) was
// ~5 MB on top of the labels, held all the agent's life; earlier still the parsed
// `ipset save` or sent `add` lines, 13.5-20 MB. Pure.
//
// The labels map is changed in place by the next partial render before that sync diffs
// against the memory: the render tells the view first (`remember`), which keeps the
// labels the changed entries had, so the view still reads the kernel's state until the
// sync has sent its lines and starts a new view.

import type { IPFamily } from '../../model/ip.js';
import type { LiveIpset } from '../ipset.js';
import { linePieces } from './pieces.js';
import { commentOf, trafficSetName, type TrafficLabels } from './traffic-set.js';

/** A traffic set as the diffs read it: a parsed `ipset save` set (LiveIpset) or a view of labels. */
export interface SetMemory {
  readonly name: string;
  readonly header: string;
  readonly entries: ReadonlySet<string>;
  /** Entry -> comment. */
  readonly comments: ReadonlyMap<string, string>;
}

type Labels = string | string[];

/** The kernel's set as `labels` held it when the view was made, while the render changes `labels`. */
export class LabelsView implements SetMemory {
  /** The entries changed in `labels` since the view was made, with their labels then (undefined: not in the set). */
  private readonly before = new Map<string, Labels | undefined>();
  readonly entries: ReadonlySet<string>;
  readonly comments: ReadonlyMap<string, string>;

  constructor(
    readonly name: string,
    readonly header: string,
    /** The very map the render keeps (shared, not copied). */
    readonly labels: TrafficLabels,
  ) {
    this.entries = new ViewEntries(this);
    this.comments = new ViewComments(this);
  }

  /** Call before `labels` changes for these entries (the first call per entry counts). */
  remember(entries: Iterable<string>): void {
    for (const e of entries) if (!this.before.has(e)) this.before.set(e, this.labels.get(e));
  }

  labelsOf(entry: string): Labels | undefined {
    return this.before.has(entry) ? this.before.get(entry) : this.labels.get(entry);
  }

  get size(): number {
    let n = this.labels.size;
    for (const [e, was] of this.before) n += (was !== undefined ? 1 : 0) - (this.labels.has(e) ? 1 : 0);
    return n;
  }

  *keys(): Generator<string> {
    for (const e of this.labels.keys()) if (this.labelsOf(e) !== undefined) yield e;
    for (const [e, was] of this.before) if (was !== undefined && !this.labels.has(e)) yield e;
  }
}

/** The view's entries as a read-only Set. */
class ViewEntries implements ReadonlySet<string> {
  constructor(private readonly view: LabelsView) {}
  get size(): number {
    return this.view.size;
  }
  has(entry: string): boolean {
    return this.view.labelsOf(entry) !== undefined;
  }
  keys(): SetIterator<string> {
    return this.view.keys();
  }
  values(): SetIterator<string> {
    return this.view.keys();
  }
  *entries(): SetIterator<[string, string]> {
    for (const e of this.view.keys()) yield [e, e];
  }
  [Symbol.iterator](): SetIterator<string> {
    return this.view.keys();
  }
  forEach(fn: (value: string, key: string, set: ReadonlySet<string>) => void): void {
    for (const e of this.view.keys()) fn(e, e, this);
  }
}

/** The view's comments (each entry's labels as its comment) as a read-only Map. */
class ViewComments implements ReadonlyMap<string, string> {
  constructor(private readonly view: LabelsView) {}
  get size(): number {
    return this.view.size;
  }
  get(entry: string): string | undefined {
    const ls = this.view.labelsOf(entry);
    return ls === undefined ? undefined : commentOf(ls);
  }
  has(entry: string): boolean {
    return this.view.labelsOf(entry) !== undefined;
  }
  keys(): MapIterator<string> {
    return this.view.keys();
  }
  *values(): MapIterator<string> {
    for (const e of this.view.keys()) yield this.get(e)!;
  }
  *entries(): MapIterator<[string, string]> {
    for (const e of this.view.keys()) yield [e, this.get(e)!];
  }
  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.entries();
  }
  forEach(fn: (value: string, key: string, map: ReadonlyMap<string, string>) => void): void {
    for (const e of this.view.keys()) fn(this.get(e)!, e, this);
  }
}

/** `set` as a LiveIpset of its own (entries and comments copied): for code that changes it. */
export function materialized(set: SetMemory): LiveIpset {
  return { name: set.name, header: set.header, entries: new Set(set.entries), comments: new Map(set.comments) };
}

/** `sets` with each traffic set a view of `labels`' entries, its header kept. */
export function trafficSetsAsLabels(sets: ReadonlyMap<string, LiveIpset>, labels: Readonly<Record<IPFamily, TrafficLabels>>): Map<string, LiveIpset | LabelsView> {
  const out = new Map<string, LiveIpset | LabelsView>(sets);
  for (const family of ['IPv4', 'IPv6'] as const) {
    const name = trafficSetName(family);
    const live = sets.get(name);
    if (live) out.set(name, new LabelsView(name, live.header, labels[family]));
  }
  return out;
}

/** `ipset restore` input as pieces of `lines`, pulled as they are written (never one string: 65k `add` lines at a first sync at 10k Services; pieces.ts). */
export function restoreLines(lines: Iterable<string>): Generator<string> {
  return linePieces(lines);
}
