// What the syncer remembers of the kernel's traffic sets between syncs (a partial sync
// diffs its touched entries against it). After a full sync they hold exactly the labels
// of the render: kept as those, sharing the labels' strings, rather than as the `ipset
// save` lines read back or the `add` lines sent, whose slices keep every line alive
// (at 10k Services x 10 endpoints, 65k entries: ~20 MB after a resync's read-back and
// ~13.5 MB after a first sync, against ~5 MB so). Pure.

import type { IPFamily } from '../../model/ip.js';
import type { LiveIpset } from '../ipset.js';
import { linePieces } from './pieces.js';
import { commentOf, trafficSetName, type TrafficLabels } from './traffic-set.js';

/** Replaces each traffic set of `sets` by `labels`' entries and comments, keeping its header. */
export function trafficSetsAsLabels(sets: Map<string, LiveIpset>, labels: Readonly<Record<IPFamily, TrafficLabels>>): void {
  for (const family of ['IPv4', 'IPv6'] as const) {
    const name = trafficSetName(family);
    const live = sets.get(name);
    if (!live) continue;
    const comments = new Map<string, string>();
    for (const [entry, ls] of labels[family]) comments.set(entry, commentOf(ls));
    sets.set(name, { name, header: live.header, entries: new Set(labels[family].keys()), comments });
  }
}

/** `ipset restore` input as pieces of `lines`, pulled as they are written (never one string: 65k `add` lines at a first sync at 10k Services; pieces.ts). */
export function restoreLines(lines: Iterable<string>): Generator<string> {
  return linePieces(lines);
}
