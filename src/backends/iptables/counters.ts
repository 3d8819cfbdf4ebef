// Reads the traffic counters iptables keeps for us: per Service port, new connections
// (the DNAT rule of each endpoint chain: nat sees one packet per connection; per
// endpoint too, from its DNAT target), packets rejected because the Service has no
// endpoints, dropped because it has no local endpoint or by loadBalancerSourceRanges;
// and packets and bytes of its connections, both directions, per endpoint and their
// sum per Service port, from the elements of the traffic set (traffic-set.ts).
//
// One `iptables-save -c` (and `ip6tables-save -c`) of the filter and nat tables; only
// the rules of our SVP- chains are read. The Service port number comes from the
// rules of SVP-SERVICES, which match it (`--dport`) under the same comment label.
// One `ipset save SET` per family: each element's counters, named by its comment.

import { systemExec } from '../../exec/system-exec.js';
import { runChecked, type Exec } from '../../exec/exec.js';
import { parseIpsetAdd } from '../ipset.js';
import { TRAFFIC_SET_NAMES, trafficSetName } from './traffic-set.js';
import { parseServicePortComment, sumSamples, type RefusalReason, type ServicePortId, type TrafficKind, type TrafficSample } from '../traffic.js';

interface SavedRule {
  readonly chain: string;
  readonly packets: number;
  readonly comment: string;
  readonly dport?: number;
  /** TCP, UDP, SCTP; '' when the rule names none. */
  readonly protocol: string;
  readonly target: string;
  /** DNAT rules: `--to-destination` (`ip:port`, `[ip]:port` for IPv6). */
  readonly to?: string;
}

/** The label part of our comments (`ns/name:port` before the suffix that says what the rule is). */
const SUFFIXES = [' cluster IP', ' external IP', ' loadbalancer IP', ' has no endpoints', ' has no local endpoints'];

function parseSaved(text: string): SavedRule[] {
  const out: SavedRule[] = [];
  for (const line of text.split('\n')) {
    const m = /^\[(\d+):(\d+)\] -A (SVP-\S+) (.*)$/.exec(line);
    if (!m) continue;
    const rest = m[4]!;
    const comment = /--comment (?:"((?:[^"\\]|\\.)*)"|(\S+))/.exec(rest);
    const dport = /--dport (\d+)/.exec(rest);
    const target = /-j (\S+)/.exec(rest);
    const protocol = /-p (tcp|udp|sctp)\b/.exec(rest)?.[1]?.toUpperCase() ?? '';
    const to = /--to-destination (\S+)/.exec(rest)?.[1];
    out.push({ chain: m[3]!, packets: Number(m[1]), comment: comment ? (comment[1] ?? comment[2]!) : '', ...(dport ? { dport: Number(dport[1]) } : {}), protocol, target: target?.[1] ?? '', ...(to ? { to } : {}) });
  }
  return out;
}

/** `ns/name:portName` or `ns/name:port/PROTO` + suffix -> the label, or undefined. */
function labelOf(comment: string, suffixes: readonly string[] = SUFFIXES): string | undefined {
  const s = suffixes.find((x) => comment.endsWith(x));
  return s ? comment.slice(0, -s.length) : undefined;
}

/** `iptables-save -c` output (one family, filter and nat) -> samples. Pure. */
export function parseIptablesCounters(saved: string): TrafficSample[] {
  const rules = parseSaved(saved);
  const ports = new Map<string, ServicePortId>();
  for (const r of rules) {
    const label = r.chain === 'SVP-SERVICES' && r.dport !== undefined ? labelOf(r.comment) : undefined;
    const m = label ? /^([^/]+)\/([^:]+):/.exec(label) : null;
    if (label && m && r.protocol) ports.set(label, { namespace: m[1]!, service: m[2]!, port: r.dport!, protocol: r.protocol });
  }
  return sumFromRules(rules, ports);
}

function sumFromRules(rules: readonly SavedRule[], ports: Map<string, ServicePortId>): TrafficSample[] {
  const out: TrafficSample[] = [];
  const emit = (label: string | undefined, kind: TrafficKind, value: number, reason?: RefusalReason, endpoint?: string) => {
    const id = label === undefined ? undefined : ports.get(label);
    if (id) out.push({ ...id, kind, value, ...(reason ? { reason } : {}), ...(endpoint ? { endpoint } : {}) });
  };
  for (const r of rules) {
    if (r.chain.startsWith('SVP-SEP-') && r.target === 'DNAT') {
      emit(r.comment, 'new_connections', r.packets);
      if (r.to) emit(r.comment, 'endpoint_new_connections', r.packets, undefined, r.to);
    }
    else if (r.target === 'REJECT' && r.comment.endsWith(' has no endpoints')) emit(labelOf(r.comment), 'rejected_packets', r.packets, 'no_endpoints');
    else if (r.target === 'DROP' && r.comment.endsWith(' has no local endpoints')) emit(labelOf(r.comment), 'dropped_packets', r.packets, 'no_local_endpoint');
    else if (r.target === 'DROP' && r.chain === 'SVP-PROXY-FIREWALL') emit(labelOf(r.comment.replace(/ traffic not accepted by \S+$/, ' cluster IP')), 'dropped_packets', r.packets, 'source_range');
  }
  return sumSamples(out);
}

/**
 * `ipset save` output of the traffic sets -> packets and bytes per endpoint and per
 * Service port (the sum of its endpoints'). An element of several Service ports (its
 * comment names each) counts for each. Pure.
 */
export function parseTrafficSetCounters(saved: string): TrafficSample[] {
  const out: TrafficSample[] = [];
  for (const line of saved.split('\n')) {
    const e = line.startsWith('add ') ? parseIpsetAdd(line) : undefined;
    if (!e || !TRAFFIC_SET_NAMES.includes(e.set) || e.packets === undefined || e.bytes === undefined) continue;
    const comma = e.entry.lastIndexOf(',');
    const ip = e.entry.slice(0, comma);
    const port = e.entry.slice(e.entry.indexOf(':', comma) + 1);
    const endpoint = ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
    for (const label of (e.comment ?? '').split(' ')) {
      const id = parseServicePortComment(label);
      if (!id) continue;
      out.push({ ...id, kind: 'packets', value: e.packets }, { ...id, kind: 'bytes', value: e.bytes });
      out.push({ ...id, kind: 'endpoint_packets', value: e.packets, endpoint }, { ...id, kind: 'endpoint_bytes', value: e.bytes, endpoint });
    }
  }
  return sumSamples(out);
}

/** The save tool of one family, in the flavour SVCPLANE_IPTABLES_MODE names (as apply.ts picks it; auto: the system's default). */
export function saveTool(family: 'IPv4' | 'IPv6', env: NodeJS.ProcessEnv = process.env): string {
  const base = family === 'IPv4' ? 'iptables' : 'ip6tables';
  const mode = env.SVCPLANE_IPTABLES_MODE;
  return mode === 'nft' || mode === 'legacy' ? `${base}-${mode}-save` : `${base}-save`;
}

/** Reads our rules' counters in both families, in the current network namespace (or `netns`). */
export async function readIptablesCounters(exec: Exec = systemExec, netns?: string): Promise<TrafficSample[]> {
  const read = async (family: 'IPv4' | 'IPv6') => {
    const texts = await Promise.all(
      ['filter', 'nat'].map((table) => runChecked(exec, { file: saveTool(family), args: ['-c', '-t', table], timeoutMs: 30_000, ...(netns ? { netns } : {}) })),
    );
    // No set (ipset cannot run here, or nothing applied yet): no packets and bytes, the rest as usual.
    const set = await exec.run({ file: 'ipset', args: ['save', trafficSetName(family)], timeoutMs: 30_000, ...(netns ? { netns } : {}) });
    return [...parseIptablesCounters(texts.join('\n')), ...(set.exitCode === 0 ? parseTrafficSetCounters(set.stdout) : [])];
  };
  const [v4, v6] = await Promise.all([read('IPv4'), read('IPv6')]);
  return sumSamples([...v4, ...v6]);
}
