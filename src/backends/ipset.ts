// ipsets as data, shared by the backends that keep some (IPVS mode's match sets, iptables
// mode's traffic-counting set): what a set should hold, `ipset save` parsed back, and the
// `ipset restore` lines that converge one to the other. Pure.
//
// A set may count (`counters comment`: packets and bytes per element, read back with
// `ipset save`) and give each element a comment. Elements are keyed by their value alone,
// as the kernel keys them: a changed comment is an `add -exist`, which rewrites the
// comment and keeps the element's counters (only an add that names counters resets them).

import type { IPFamily } from '../model/ip.js';

export type IpsetType = 'hash:ip' | 'hash:ip,port' | 'hash:ip,port,ip' | 'hash:ip,port,net' | 'bitmap:port';

export interface Ipset {
  readonly name: string;
  readonly type: IpsetType;
  readonly family: IPFamily;
  /** What it holds, for the reader. */
  readonly comment: string;
  /** Entries in `ipset add` syntax, e.g. `10.96.0.10,tcp:80`. Sorted, unique. */
  readonly entries: readonly string[];
  /** Created with per-element packet and byte counters (`counters`). */
  readonly counters?: boolean;
  /** Each entry's comment; when given, the set is created with the `comment` extension. */
  readonly comments?: ReadonlyMap<string, string>;
  /** The set's capacity when not ipset's default (65536). */
  readonly maxelem?: number;
}

export interface LiveIpset {
  readonly name: string;
  readonly header: string;
  readonly entries: Set<string>;
  /** Entry -> comment, for the entries that carry one. */
  readonly comments: Map<string, string>;
}

/** One element of `ipset save` output, with its counters when the set counts. */
export interface SavedIpsetEntry {
  readonly set: string;
  readonly entry: string;
  readonly packets?: number;
  readonly bytes?: number;
  readonly comment?: string;
}

/** `add SET ENTRY [packets N bytes N] [comment "…"]` -> the entry; undefined for any other line. */
export function parseIpsetAdd(line: string): SavedIpsetEntry | undefined {
  const m = /^add (\S+) (\S+)(.*)$/.exec(line.trim());
  if (!m) return undefined;
  const rest = m[3]!;
  const packets = /\bpackets (\d+)/.exec(rest);
  const bytes = /\bbytes (\d+)/.exec(rest);
  const comment = /\bcomment "((?:[^"\\]|\\.)*)"/.exec(rest);
  return {
    set: m[1]!,
    entry: m[2]!,
    ...(packets ? { packets: Number(packets[1]) } : {}),
    ...(bytes ? { bytes: Number(bytes[1]) } : {}),
    ...(comment ? { comment: comment[1]! } : {}),
  };
}

/** Parses `ipset save` output (create and add lines). */
export function parseIpsetSave(text: string): Map<string, LiveIpset> {
  const sets = new Map<string, LiveIpset>();
  for (const line of text.split('\n')) {
    const w = line.trim().split(/\s+/);
    if (w[0] === 'create' && w[1]) sets.set(w[1], { name: w[1], header: w.slice(2).join(' '), entries: new Set(), comments: new Map() });
    else if (w[0] === 'add' && w[1] && w[2]) {
      const set = sets.get(w[1]);
      if (!set) continue;
      set.entries.add(w[2]);
      const comment = line.includes(' comment "') ? parseIpsetAdd(line)?.comment : undefined;
      if (comment !== undefined) set.comments.set(w[2], comment);
    }
  }
  return sets;
}

/** The `ipset create` line of a set, or of a copy of it named `name` (`-exist`: a set already there is left as it is). */
export function createLine(s: Ipset, name = s.name): string {
  const opts = s.type === 'bitmap:port' ? 'range 0-65535' : `family ${s.family === 'IPv4' ? 'inet' : 'inet6'}`;
  const extra = [...(s.maxelem !== undefined ? [`maxelem ${s.maxelem}`] : []), ...(s.counters ? ['counters'] : []), ...(s.comments ? ['comment'] : [])];
  return `create ${name} ${s.type} ${[opts, ...extra].join(' ')} -exist`;
}

/** The `ipset restore` line that adds `entry` (or rewrites its comment, keeping its counters). */
export function addLine(set: string, entry: string, comment?: string): string {
  return `add ${set} ${entry}${comment !== undefined ? ` comment "${comment}"` : ''} -exist`;
}

/** The `ipset restore` line that removes `entry`. */
export function delLine(set: string, entry: string): string {
  return `del ${set} ${entry} -exist`;
}

/** The name of the copy a set is rebuilt in (at most 30 characters: ipset allows 31). */
export const rebuildName = (name: string): string => `${name}-C`;

/** Whether `ipset save`'s header of a set names the counters extension. */
export const hasCounters = (live: Pick<LiveIpset, 'header'>): boolean => live.header.split(' ').includes('counters');

/**
 * A live set of ours that lacks the counters we want (created by a version that did
 * not count): `create -exist` cannot add them (ipset refuses a different header), and
 * a set that rules reference cannot be destroyed. So a copy with counters is filled
 * with the live entries and swapped in (rules follow the set by position, not by
 * name), then the old one, now under the copy's name, is destroyed. The entries stay
 * the same: the usual diff runs on top.
 */
export function rebuildWithCounters(s: Ipset, live: LiveIpset): string[] {
  const copy = rebuildName(s.name);
  return [createLine(s, copy), `flush ${copy}`, ...[...live.entries].map((e) => addLine(copy, e, live.comments.get(e))), `swap ${copy} ${s.name}`, `destroy ${copy}`];
}

/**
 * ipset restore input: sets rebuilt with counters where they lack them (`rebuild`, to
 * send before anything else), created when missing, members added (or their comment
 * changed), then (separately, after the rules stop using them) removed.
 */
export function diffIpsets(desired: readonly Ipset[], live: ReadonlyMap<string, LiveIpset>): { rebuild: string[]; adds: string[]; dels: string[] } {
  const rebuild: string[] = [];
  const adds: string[] = [];
  const dels: string[] = [];
  for (const s of desired) {
    const l = live.get(s.name);
    if (!l) adds.push(createLine(s));
    else if (s.counters && !hasCounters(l)) rebuild.push(...rebuildWithCounters(s, l));
    const have = l?.entries ?? new Set<string>();
    const want = new Set(s.entries);
    for (const e of s.entries) {
      const comment = s.comments?.get(e);
      if (have.has(e) && comment === l?.comments.get(e)) continue;
      adds.push(addLine(s.name, e, comment));
    }
    for (const e of have) if (!want.has(e)) dels.push(delLine(s.name, e));
  }
  return { rebuild, adds, dels };
}

/** `sets` once `lines` (diffIpsets' output, in order) were sent: updated in place. */
export function advanceIpsets(sets: Map<string, LiveIpset>, lines: readonly string[]): void {
  for (const line of lines) {
    const w = line.split(' ');
    const [op, name, arg] = w as [string, string, string];
    if (op === 'create' && !sets.has(name)) sets.set(name, { name, header: w.slice(2, -1).join(' '), entries: new Set(), comments: new Map() });
    else if (op === 'add') {
      const set = sets.get(name);
      if (!set) continue;
      set.entries.add(arg);
      const comment = parseIpsetAdd(line.replace(/ -exist$/, ''))?.comment;
      if (comment !== undefined) set.comments.set(arg, comment);
      else set.comments.delete(arg);
    } else if (op === 'del') {
      sets.get(name)?.entries.delete(arg);
      sets.get(name)?.comments.delete(arg);
    } else if (op === 'flush') {
      sets.get(name)?.entries.clear();
      sets.get(name)?.comments.clear();
    } else if (op === 'destroy') sets.delete(name);
    else if (op === 'swap') swapSets(sets, name, arg);
  }
}

/** `swap A B`: each name now holds the other's header and entries. */
function swapSets(sets: Map<string, LiveIpset>, a: string, b: string): void {
  const x = sets.get(a);
  const y = sets.get(b);
  if (!x || !y) return;
  sets.set(a, { ...y, name: a });
  sets.set(b, { ...x, name: b });
}
