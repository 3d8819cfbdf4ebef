// Refusals per Service in IPVS mode. The helper rules refuse by set membership and
// never name a Service (iptables-rules.ts), so their own counters say nothing per
// Service; the refusing sets are created with `counters` instead (sets.ts), and the
// kernel adds each refused packet to the counters of the element that refused it
// (measured on kernel 6.18: a set match updates the found element's counters whatever
// the rule then does, `! --match-set` included, unless `! --update-counters`; a match
// the rule never reaches, because an earlier one failed, updates nothing). Each
// element is an address,proto:port or a node port: named here after its Service port
// from the input the node enforces, as stats-reader.ts names virtual servers.
//
// Like the iptables backend's REJECT/DROP rules, an element exists only while its
// Service is refused (no endpoints, none local, a source range): the series comes and
// goes with it, and starts again at 0.
//
// Not counted: the node's own connections to a Service with no endpoint (or, Local
// policy, none here) are refused by IPVS itself at LOCAL_OUT, before any filter rule.

import { runChecked, type Exec } from '../../exec/exec.js';
import { canonicalIP, type IPFamily } from '../../model/ip.js';
import { parseIpsetAdd } from '../ipset.js';
import { trafficSample, type ServicePortId, type TrafficSample } from '../traffic.js';
import { COUNTED_SETS, SETS, setName, type Refusal, type SetKey } from './sets.js';

/** One element of a counted set, as `ipset save` prints it: `add NAME ENTRY packets N bytes N`. */
export interface SetElementCounter {
  readonly set: string;
  readonly entry: string;
  readonly packets: number;
}

/** Service ports by where IPVS mode refuses them: `tcp 10.96.0.10:80` (address, IPv6 without brackets) and `tcp 30080` (node port). */
export interface RefusalNames {
  readonly addresses: ReadonlyMap<string, ServicePortId>;
  readonly nodePorts: ReadonlyMap<string, ServicePortId>;
}

export const addressKey = (protocol: string, ip: string, port: number): string => `${protocol} ${ip}:${port}`;
export const nodePortKey = (protocol: string, port: number): string => `${protocol} ${port}`;

interface CountedSet {
  readonly key: SetKey;
  readonly counts: Refusal;
  /** Node-port sets (bitmap:port) hold ports of this protocol; the others `ip,proto:port`. */
  readonly nodePortProtocol?: string;
}

const COUNTED: ReadonlyMap<string, CountedSet> = new Map(
  (['IPv4', 'IPv6'] as IPFamily[]).flatMap((family) =>
    COUNTED_SETS.map((key): [string, CountedSet] => {
      const set = SETS[key] as { type: string; counts: Refusal };
      const proto = set.type === 'bitmap:port' ? /(TCP|UDP|SCTP)$/.exec(key)?.[1]?.toLowerCase() : undefined;
      return [setName(family, key), { key, counts: set.counts, ...(proto ? { nodePortProtocol: proto } : {}) }];
    }),
  ),
);

/** The names of our counted sets, both families. */
export const COUNTED_SET_NAMES: readonly string[] = [...COUNTED.keys()];

/** `ipset save` text -> the counters of every element that has them (the shared `add` line parser, ../ipset.ts). Pure. */
export function parseSetCounters(text: string): SetElementCounter[] {
  const out: SetElementCounter[] = [];
  for (const line of text.split('\n')) {
    const e = parseIpsetAdd(line);
    if (e?.packets !== undefined) out.push({ set: e.set, entry: e.entry, packets: e.packets });
  }
  return out;
}

/** One counted element -> the Service port it refuses for, or undefined (not ours, or not in the input). */
function serviceOf(set: CountedSet, entry: string, names: RefusalNames): ServicePortId | undefined {
  if (set.nodePortProtocol) return names.nodePorts.get(nodePortKey(set.nodePortProtocol, Number(entry)));
  const m = /^([^,]+),(tcp|udp|sctp):(\d+)$/.exec(entry);
  const ip = m ? canonicalIP(m[1]!) : undefined;
  return m && ip ? names.addresses.get(addressKey(m[2]!, ip, Number(m[3]))) : undefined;
}

/** Counted elements -> rejected_packets / dropped_packets samples, one per element (sum them per Service port). Pure. */
export function refusalSamples(counters: readonly SetElementCounter[], names: RefusalNames): TrafficSample[] {
  const out: TrafficSample[] = [];
  for (const c of counters) {
    const set = COUNTED.get(c.set);
    const id = set ? serviceOf(set, c.entry, names) : undefined;
    if (set && id) out.push(trafficSample(id, set.counts.kind, c.packets, set.counts.reason));
  }
  return out;
}

/**
 * `ipset save` of our counted sets only, in the current network namespace (or `netns`):
 * `ipset list -n`, then one `ipset restore` of `save NAME` lines for those present
 * (restore stops at a missing set; before the first sync there are none).
 */
export async function saveCountedSets(exec: Exec, netns?: string): Promise<string> {
  const at = netns ? { netns } : {};
  const present = new Set((await runChecked(exec, { file: 'ipset', args: ['list', '-n'], timeoutMs: 30_000, ...at })).split('\n'));
  const lines = COUNTED_SET_NAMES.filter((n) => present.has(n)).map((n) => `save ${n}`);
  if (!lines.length) return '';
  return runChecked(exec, { file: 'ipset', args: ['restore'], input: lines.join('\n') + '\n', timeoutMs: 30_000, ...at });
}
