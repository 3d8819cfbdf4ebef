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
  /** Created with per-element packet and byte counters and comments (`counters comment`). */
  readonly counters?: boolean;
  /** Each entry's comment (counted sets). */
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

/** The `ipset create` line of a set (`-exist`: a set already there is left as it is). */
export function createLine(s: Ipset): string {
  const opts = s.type === 'bitmap:port' ? 'range 0-65535' : `family ${s.family === 'IPv4' ? 'inet' : 'inet6'}`;
  const extra = [...(s.maxelem !== undefined ? [`maxelem ${s.maxelem}`] : []), ...(s.counters ? ['counters', 'comment'] : [])];
  return `create ${s.name} ${s.type} ${[opts, ...extra].join(' ')} -exist`;
}

/** The `ipset restore` line that adds `entry` (or rewrites its comment, keeping its counters). */
export function addLine(set: string, entry: string, comment?: string): string {
  return `add ${set} ${entry}${comment !== undefined ? ` comment "${comment}"` : ''} -exist`;
}

/** The `ipset restore` line that removes `entry`. */
export function delLine(set: string, entry: string): string {
  return `del ${set} ${entry} -exist`;
}

/** ipset restore input: sets created when missing, members added (or their comment changed), then (separately, after the rules stop using them) removed. */
export function diffIpsets(desired: readonly Ipset[], live: ReadonlyMap<string, LiveIpset>): { adds: string[]; dels: string[] } {
  const adds: string[] = [];
  const dels: string[] = [];
  for (const s of desired) {
    const l = live.get(s.name);
    if (!l) adds.push(createLine(s));
    const have = l?.entries ?? new Set<string>();
    const want = new Set(s.entries);
    for (const e of s.entries) {
      const comment = s.comments?.get(e);
      if (have.has(e) && comment === l?.comments.get(e)) continue;
      adds.push(addLine(s.name, e, comment));
    }
    for (const e of have) if (!want.has(e)) dels.push(delLine(s.name, e));
  }
  return { adds, dels };
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
    }
  }
}
