// The traffic sets (traffic-set.ts) diffed whole against what the kernel holds, the lines
// made as `ipset restore` pulls them. The same lines, in the same order, as diffIpsets
// (../ipset.ts) of trafficSetOf per family; but that one builds every line first, and
// the set it diffs (a comment per entry in a Map, the entries sorted, a Set of them): at
// a first sync at 10k Services x 10 endpoints, 65k `add` lines alone held 18.7 MB of
// heap through the ipset restore, on top of the render, at the first sync's peak. Here
// only the sorted entries of one family live while the lines are pulled. Pure.

import type { IPFamily } from '../../model/ip.js';
import { addLine, createLine, delLine, hasCounters, rebuildWithCounters, type Ipset } from '../ipset.js';
import { materialized, type SetMemory } from './traffic-set-state.js';
import { commentOf, trafficSetOf, type TrafficLabels } from './traffic-set.js';

export interface WholeTrafficDiff {
  /** How many lines `lines()` yields (0: nothing to send). */
  readonly count: number;
  /** The restore lines that make, rebuild or fill the sets, made as they are pulled: per family its rebuild, create and add lines. */
  lines(): Generator<string>;
  /** The lines of `lines()` that are not `add` lines (create, rebuild's flush/swap/destroy), for a memory that takes its entries from the labels. */
  readonly head: readonly string[];
  /** Entries to remove (sent after the rules stop using them). */
  readonly dels: readonly string[];
}

interface FamilyPlan {
  readonly set: Ipset;
  readonly labels: TrafficLabels;
  readonly live: SetMemory | undefined;
  readonly rebuild: readonly string[];
  readonly create: string | undefined;
}

/** Whether `entry` with `labels` must be (re)added to `live`. */
function sends(entry: string, labels: string | string[], live: SetMemory | undefined): boolean {
  return !(live?.entries.has(entry) && commentOf(labels) === live.comments.get(entry));
}

/** The traffic set of `family` as `labels` hold its entries, against `sets` (what the kernel holds). */
export function wholeTrafficDiff(family: IPFamily, labels: TrafficLabels, sets: ReadonlyMap<string, SetMemory>): WholeTrafficDiff {
  const plans: FamilyPlan[] = [];
  const head: string[] = [];
  const dels: string[] = [];
  let count = 0;
  {
    // The set's header alone: its entries and comments are read from the labels as lines are made.
    const set = trafficSetOf(family, new Map());
    const live = sets.get(set.name);
    const rebuild = live && set.counters && !hasCounters(live) ? rebuildWithCounters(set, materialized(live)) : [];
    const create = live ? undefined : createLine(set);
    plans.push({ set, labels, live, rebuild, create });
    for (const line of rebuild) if (!line.startsWith('add ')) head.push(line);
    if (create !== undefined) head.push(create);
    count += rebuild.length + (create !== undefined ? 1 : 0);
    for (const [entry, ls] of labels) if (sends(entry, ls, live)) count++;
    if (live) for (const e of live.entries) if (!labels.has(e)) dels.push(delLine(set.name, e));
  }
  return {
    count,
    head,
    dels,
    *lines() {
      for (const p of plans) {
        yield* p.rebuild;
        if (p.create !== undefined) yield p.create;
        // Sorted as trafficSetOf's entries are: the same input, the same lines.
        const entries = [...p.labels.keys()].sort();
        for (const e of entries) {
          const ls = p.labels.get(e)!;
          if (sends(e, ls, p.live)) yield addLine(p.set.name, e, commentOf(ls));
        }
      }
    },
  };
}
