// Packets and bytes per endpoint and per Service port: one counted ipset per family
// (`hash:ip,port counters comment`), one element per endpoint a Service port DNATs to
// (`ip,proto:port`, commented `ns/name:port/PROTO`), and four static rules in mangle
// that match it after DNAT, where every packet of a DNATed connection carries the
// endpoint in its header:
//   POSTROUTING, INPUT   -m conntrack --ctstate DNAT --ctdir ORIGINAL -m set --match-set SET dst,dst
//   POSTROUTING, INPUT   -m conntrack --ctstate DNAT --ctdir REPLY    -m set --match-set SET src,src
// mangle (-150) comes before nat's source rewrite at POSTROUTING and INPUT (+100), which
// turns a reply's endpoint source back into the Service address, and after nat's
// DNAT at PREROUTING and OUTPUT (-100): so both directions are counted on the endpoint,
// for forwarded traffic (POSTROUTING) and traffic the node itself sends or receives
// (POSTROUTING for what it sends, INPUT for what it receives; INPUT leaves out `lo`,
// whose packets were already counted on their way out). The set match counts each
// matched packet on the element (`--update-counters` is its default). A Service
// port's packets are the sum of its endpoints': an endpoint address and port shared by
// two Service ports is one element, counted for each (its comment names both).
// Pure: the elements come from the same views the chains do.

import type { IPFamily } from '../../model/ip.js';
import type { RenderInput } from '../../model/render-input.js';
import { dnatTargets, servicePortViews, type ServicePortView } from '../../model/service-ports.js';
import { addLine, delLine, type Ipset } from '../ipset.js';
import type { SetMemory } from './traffic-set-state.js';
import { trafficComment } from '../traffic.js';
import type { BuiltinJump } from './render.js';

/** The counted set of one family (ipset names are global per network namespace, each set has one family). */
export function trafficSetName(family: IPFamily): string {
  return family === 'IPv4' ? 'SVP-ENDPOINT-TRAFFIC' : 'SVP6-ENDPOINT-TRAFFIC';
}

export const TRAFFIC_SET_NAMES: readonly string[] = [trafficSetName('IPv4'), trafficSetName('IPv6')];

/** ipset's default capacity is 65536 elements; 10k Services × 10 endpoints need more. */
const MAX_ELEMENTS = 1 << 20;

/** ipset keeps at most 255 bytes of comment. */
const MAX_COMMENT = 255;

/** One endpoint of one Service port: the set element and the Service port it counts for. */
export interface TrafficElement {
  /** `ip,proto:port`, as `ipset add` takes it and `ipset save` prints it. */
  readonly entry: string;
  /** `ns/name:port/PROTO`. */
  readonly label: string;
}

/** The elements of one Service port: one per endpoint it DNATs to. */
export function trafficElements(v: ServicePortView): TrafficElement[] {
  const { label, entries } = trafficPort(v);
  return entries.map((entry) => ({ entry, label }));
}

/**
 * The elements of one Service port as the syncer keeps them per Service: one label and its
 * entries, not an object per endpoint (100k of them at 10k Services x 10 endpoints).
 */
export interface TrafficPort {
  readonly label: string;
  readonly entries: readonly string[];
}

export function trafficPort(v: ServicePortView): TrafficPort {
  const sep = `,${v.protocol.toLowerCase()}:`;
  // join makes each entry one flat string; a template literal makes a tree of concatenated
  // strings, which the syncer's labels kept as keys: 10 MB against 4.7 MB for 100k entries.
  // The label too (trafficComment is a template): at 44k Services x 1 its trees held 8.1 MB
  // of the syncer's memory, ~190 bytes a label against ~48 flat.
  return { label: flatString(trafficComment(v)), entries: dnatTargets(v).map((ep) => [ep.ip, sep, ep.port].join('')) };
}

/** `s` as one sequential string: JSON's parse makes a new flat one (a slice of a tree would keep the tree). */
function flatString(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

/** One Service port's elements as a cached fragment keeps them: a lone entry without an array around it. */
export interface KeptPort {
  readonly label: string;
  readonly entries: string | readonly string[];
}

/**
 * A Service's elements as a cached fragment keeps them: its one port itself, or its ports in
 * an array of exact length. At 44k Services x 1 endpoint the array `filter` made (room for 17)
 * and the lone entry's array were ~240 of a Service's ~1300 bytes in the syncer (10.5 MB).
 */
export type KeptTraffic = KeptPort | readonly KeptPort[];

/** `ports` (those with entries) as a fragment keeps them; undefined when none has any. */
export function keptTraffic(ports: readonly TrafficPort[]): KeptTraffic | undefined {
  const kept: KeptPort[] = [];
  for (const p of ports) if (p.entries.length > 0) kept.push(p.entries.length === 1 ? { label: p.label, entries: p.entries[0]! } : p);
  if (kept.length === 0) return undefined;
  return kept.length === 1 ? kept[0]! : kept.slice();
}

/** The ports of a kept traffic, and each port's entries, one at a time. */
function* portsOf(traffic: KeptTraffic | Iterable<TrafficPort>): Generator<KeptPort> {
  if ('label' in traffic) yield traffic as KeptPort;
  else yield* traffic as Iterable<KeptPort>;
}

/** The entries of `traffic`'s ports, one at a time. */
export function* entriesOf(traffic: KeptTraffic): Generator<string> {
  for (const p of portsOf(traffic)) {
    if (typeof p.entries === 'string') yield p.entries;
    else yield* p.entries;
  }
}

/** The ports' elements, one at a time. */
export function* elementsOf(traffic: KeptTraffic | Iterable<TrafficPort>): Generator<TrafficElement> {
  for (const p of portsOf(traffic)) {
    if (typeof p.entries === 'string') yield { entry: p.entries, label: p.label };
    else for (const entry of p.entries) yield { entry, label: p.label };
  }
}

/**
 * Entry -> the labels of the Service ports counting on it: one label as a string (nearly
 * every entry: 10^5 of them at 10k Services), several as an array.
 */
export type TrafficLabels = Map<string, string | string[]>;

/**
 * An entry whose last label `removeLabels` took off with `keepKeys`: no labels, its place in the
 * map kept until `sweepLabels`. A Map's deleted entry stays a hole in its table and a key added
 * again goes to the end: the syncer's partial renders take a changed Service's labels off and put
 * them back, and at 10k Services x 10 (65k entries) the holes filled the table within a few
 * syncs, which V8 then rebuilt at twice the capacity (1.8 MB more, held).
 */
const NO_LABELS = '';

/** Adds the elements' labels to `labels`; each entry whose labels changed goes into `touched`. */
export function addLabels(labels: TrafficLabels, elements: Iterable<TrafficElement>, touched?: Set<string>): void {
  for (const e of elements) {
    const have = labels.get(e.entry);
    if (have === undefined || have === NO_LABELS) labels.set(e.entry, e.label);
    else if (have === e.label || (Array.isArray(have) && have.includes(e.label))) continue;
    else labels.set(e.entry, Array.isArray(have) ? [...have, e.label] : [have, e.label]);
    touched?.add(e.entry);
  }
}

/**
 * Takes the elements' labels out of `labels` (an entry with none left goes, or with `keepKeys`
 * stays without labels until `sweepLabels`); each entry whose labels changed goes into `touched`.
 */
export function removeLabels(labels: TrafficLabels, elements: Iterable<TrafficElement>, touched?: Set<string>, keepKeys = false): void {
  for (const e of elements) {
    const have = labels.get(e.entry);
    if (have === undefined || have === NO_LABELS) continue;
    if (have === e.label) {
      if (keepKeys) labels.set(e.entry, NO_LABELS);
      else labels.delete(e.entry);
    } else if (Array.isArray(have) && have.includes(e.label)) {
      const left = have.filter((l) => l !== e.label);
      labels.set(e.entry, left.length === 1 ? left[0]! : left);
    } else continue;
    touched?.add(e.entry);
  }
}

/** Deletes the entries of `entries` that `removeLabels` left without labels (`keepKeys`) and no `addLabels` gave any since. */
export function sweepLabels(labels: TrafficLabels, entries: Iterable<string>): void {
  for (const e of entries) if (labels.get(e) === NO_LABELS) labels.delete(e);
}

/** An entry's comment: its labels, sorted, as many as fit. */
export function commentOf(labels: string | readonly string[]): string {
  if (typeof labels === 'string') return labels;
  let comment = '';
  for (const l of [...labels].sort()) if (comment.length + l.length + (comment ? 1 : 0) <= MAX_COMMENT) comment += (comment ? ' ' : '') + l;
  return comment;
}

/** The set of one family holding `labels`' entries. */
export function trafficSetOf(family: IPFamily, labels: TrafficLabels): Ipset {
  const comments = new Map<string, string>();
  for (const [entry, ls] of labels) comments.set(entry, commentOf(ls));
  return {
    name: trafficSetName(family),
    type: 'hash:ip,port',
    family,
    comment: 'endpoint,proto:port of every Service port: packets and bytes of its connections, both directions',
    entries: [...labels.keys()].sort(),
    counters: true,
    comments,
    maxelem: MAX_ELEMENTS,
  };
}

/** The set of one family holding `elements`; an entry of several Service ports gets all their labels (as many as fit). */
export function trafficSet(family: IPFamily, elements: Iterable<TrafficElement>): Ipset {
  const labels: TrafficLabels = new Map();
  addLabels(labels, elements);
  return trafficSetOf(family, labels);
}

/**
 * `ipset restore` lines for the `touched` entries of the set `name` only (a partial sync:
 * O(changed), not O(elements)): added or re-commented where `labels` holds them, removed
 * where it does not and `live` does.
 */
export function diffTouched(name: string, labels: TrafficLabels, touched: Iterable<string>, live: SetMemory): { adds: string[]; dels: string[] } {
  const adds: string[] = [];
  const dels: string[] = [];
  for (const e of touched) {
    const ls = labels.get(e);
    if (ls === undefined) {
      if (live.entries.has(e)) dels.push(delLine(name, e));
      continue;
    }
    const comment = commentOf(ls);
    if (!live.entries.has(e) || live.comments.get(e) !== comment) adds.push(addLine(name, e, comment));
  }
  return { adds, dels };
}

/** The set of one family for `input` (apply's one-shot render; the syncer assembles it per Service). */
export function renderTrafficSet(input: RenderInput, family: IPFamily): Ipset {
  return trafficSet(family, servicePortViews(input, family).flatMap(trafficElements));
}

const COMMENT = ['-m', 'comment', '--comment', 'svcplane endpoint traffic'];

/** The counting rules of one family, inserted into mangle's built-in chains as apply inserts its jumps (no target: they only count). */
export function trafficJumps(family: IPFamily): BuiltinJump[] {
  const set = trafficSetName(family);
  const original = ['-m', 'conntrack', '--ctstate', 'DNAT', '--ctdir', 'ORIGINAL', '-m', 'set', '--match-set', set, 'dst,dst', ...COMMENT];
  const reply = ['-m', 'conntrack', '--ctstate', 'DNAT', '--ctdir', 'REPLY', '-m', 'set', '--match-set', set, 'src,src', ...COMMENT];
  const notLo = ['!', '-i', 'lo'];
  return [
    { table: 'mangle', chain: 'POSTROUTING', rule: original },
    { table: 'mangle', chain: 'POSTROUTING', rule: reply },
    { table: 'mangle', chain: 'INPUT', rule: [...notLo, ...original] },
    { table: 'mangle', chain: 'INPUT', rule: [...notLo, ...reply] },
  ];
}
