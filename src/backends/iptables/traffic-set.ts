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
import type { Ipset } from '../ipset.js';
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
  const proto = v.protocol.toLowerCase();
  const label = trafficComment(v);
  return dnatTargets(v).map((ep) => ({ entry: `${ep.ip},${proto}:${ep.port}`, label }));
}

/** The set of one family holding `elements`; an entry of several Service ports gets all their labels (as many as fit). */
export function trafficSet(family: IPFamily, elements: Iterable<TrafficElement>): Ipset {
  const labels = new Map<string, string[]>();
  for (const e of elements) {
    const have = labels.get(e.entry);
    if (have === undefined) labels.set(e.entry, [e.label]);
    else if (!have.includes(e.label)) have.push(e.label);
  }
  const comments = new Map<string, string>();
  for (const [entry, ls] of labels) {
    let comment = '';
    for (const l of ls.sort()) if (comment.length + l.length + (comment ? 1 : 0) <= MAX_COMMENT) comment += (comment ? ' ' : '') + l;
    comments.set(entry, comment);
  }
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
