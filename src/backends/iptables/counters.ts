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
import { FlatStrings, flatString } from '../../exec/flat-string.js';
import { parseIpsetAdd } from '../ipset.js';
import { TRAFFIC_SET_NAMES, trafficSetName } from './traffic-set.js';
import { EVERY_ENDPOINT, parseServicePortComment, trafficComment, trafficSample, type EndpointFilter, type RefusalReason, type ServicePortId, type TrafficKind, type TrafficSample } from '../traffic.js';
import { PortSums, TrafficTally } from '../traffic-tally.js';

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

/** One `iptables-save -c` line, when it is a rule of one of our chains. */
function savedRule(line: string): SavedRule | undefined {
  const m = /^\[(\d+):(\d+)\] -A (SVP-\S+) (.*)$/.exec(line);
  if (!m) return undefined;
  const rest = m[4]!;
  const comment = /--comment (?:"((?:[^"\\]|\\.)*)"|(\S+))/.exec(rest);
  const dport = /--dport (\d+)/.exec(rest);
  const target = /-j (\S+)/.exec(rest);
  const protocol = /-p (tcp|udp|sctp)\b/.exec(rest)?.[1]?.toUpperCase() ?? '';
  const to = /--to-destination (\S+)/.exec(rest)?.[1];
  return { chain: m[3]!, packets: Number(m[1]), comment: comment ? (comment[1] ?? comment[2]!) : '', ...(dport ? { dport: Number(dport[1]) } : {}), protocol, target: target?.[1] ?? '', ...(to ? { to } : {}) };
}

/** `ns/name:portName` or `ns/name:port/PROTO` + suffix -> the label, or undefined. */
function labelOf(comment: string, suffixes: readonly string[] = SUFFIXES): string | undefined {
  const s = suffixes.find((x) => comment.endsWith(x));
  return s ? comment.slice(0, -s.length) : undefined;
}

/** The new connections a DNAT rule counted for one endpoint, by the label of its Service port. */
interface LabelledEndpointSum {
  readonly label: string;
  readonly endpoint: string;
  value: number;
}

/**
 * Our rules' counters in `iptables-save -c` output, given a line at a time as the tool
 * prints them: what is kept is the sums per Service port label (PortSums; per endpoint of
 * the filter too) and the labels' ports, not the text nor a record per rule. At 10k Services × 10 endpoints the nat save is
 * ~48 MB and ~210k rules of ours; a scrape held that text twice (each table's, then
 * joined), its lines and a record per rule. The port of a label comes from SVP-SERVICES'
 * rules, which match it (`--dport`), wherever they come in the output.
 */
export class IptablesCounters {
  private readonly ports = new Map<string, ServicePortId>();
  /** Per label, the Service-level sums; per label and endpoint, the endpoint's. Resolved to ports once every rule was read. */
  private readonly sums = new Map<string, PortSums>();
  private readonly endpointSums = new Map<string, LabelledEndpointSum>();
  private readonly strings = new FlatStrings();

  /** `endpoints`: the endpoints to count per endpoint (the rest are summed per Service port only). */
  constructor(private readonly endpoints: EndpointFilter = EVERY_ENDPOINT) {}

  line(line: string): void {
    // Most lines of a big nat table are none of these (a Service chain's probability rules,
    // an endpoint chain's masquerade mark): passed over without the regexes' strings.
    if (!line.includes(' -j DNAT') && !line.includes(' -j REJECT') && !line.includes(' -j DROP') && !line.includes('-A SVP-SERVICES ')) return;
    const r = savedRule(line);
    if (!r) return;
    if (r.chain === 'SVP-SERVICES' && r.dport !== undefined && r.protocol) {
      // Kept as copies: a part of the line would keep the output's whole chunk (flat-string.ts).
      const cut = labelOf(r.comment);
      const label = cut === undefined || this.ports.has(cut) ? undefined : this.strings.of(cut);
      const m = label ? /^([^/]+)\/([^:]+):/.exec(label) : null;
      if (label && m) this.ports.set(label, { namespace: m[1]!, service: m[2]!, port: r.dport, protocol: this.strings.of(r.protocol) });
    }
    if (r.chain.startsWith('SVP-SEP-') && r.target === 'DNAT') {
      this.add(r.comment, 'new_connections', r.packets);
      if (r.to && this.wants(r.comment, r.to)) this.addEndpoint(r.comment, r.to, r.packets);
    } else if (r.target === 'REJECT' && r.comment.endsWith(' has no endpoints')) this.add(labelOf(r.comment), 'rejected_packets', r.packets, 'no_endpoints');
    else if (r.target === 'DROP' && r.comment.endsWith(' has no local endpoints')) this.add(labelOf(r.comment), 'dropped_packets', r.packets, 'no_local_endpoint');
    else if (r.target === 'DROP' && r.chain === 'SVP-PROXY-FIREWALL') this.add(labelOf(r.comment.replace(/ traffic not accepted by \S+$/, ' cluster IP')), 'dropped_packets', r.packets, 'source_range');
  }

  /** Whether the endpoint of a DNAT rule under `label` (`ns/name:port…`) is one to count. */
  private wants(label: string, endpoint: string): boolean {
    const slash = label.indexOf('/');
    const colon = label.indexOf(':', slash);
    return slash > 0 && colon > slash && this.endpoints.has(label.slice(0, slash), label.slice(slash + 1, colon), endpoint);
  }

  private add(label: string | undefined, kind: TrafficKind, value: number, reason?: RefusalReason): void {
    if (label === undefined) return;
    let sums = this.sums.get(label);
    if (!sums) this.sums.set(this.strings.of(label), (sums = new PortSums()));
    sums.add(kind, value, reason);
  }

  private addEndpoint(label: string, endpoint: string, value: number): void {
    const key = `${label}\u0000${endpoint}`;
    const have = this.endpointSums.get(key);
    if (have) have.value += value;
    // The key flat as well: a concatenation of the line's slices, kept as a key, kept the pipe's chunk (the test has it).
    else this.endpointSums.set(flatString(key), { label: this.strings.of(label), endpoint: flatString(endpoint), value });
  }

  /** What every line given counted, into `tally`, for the labels whose port SVP-SERVICES named. */
  into(tally: TrafficTally): void {
    for (const [label, sums] of this.sums) {
      const id = this.ports.get(label);
      if (id) tally.port(trafficComment({ namespace: id.namespace, name: id.service, port: id.port, protocol: id.protocol }), () => id)!.addAll(sums);
    }
    for (const s of this.endpointSums.values()) {
      const id = this.ports.get(s.label);
      if (id) tally.add(trafficSample(id, 'endpoint_new_connections', s.value, undefined, s.endpoint));
    }
  }

  /** The samples of every line given. */
  samples(): TrafficSample[] {
    const tally = new TrafficTally();
    this.into(tally);
    return tally.samples();
  }
}

/** `iptables-save -c` output (one family, filter and nat) -> samples. Pure. */
export function parseIptablesCounters(saved: string): TrafficSample[] {
  const c = new IptablesCounters();
  for (const line of saved.split('\n')) c.line(line);
  return c.samples();
}

/**
 * The traffic sets' elements in `ipset save` output, a line at a time -> packets and bytes
 * per endpoint and per Service port (the sum of its endpoints'). An element of several
 * Service ports (its comment names each) counts for each. Sums kept in a TrafficTally (per
 * port, and per endpoint of the filter), not a sample per element and label (4 per element:
 * 400k at 10k × 10) summed at the end.
 */
export class TrafficSetCounters {
  private readonly strings = new FlatStrings();

  /** `endpoints`: the endpoints to count per endpoint (the rest are summed per Service port only); the sums go into `tally`. */
  constructor(
    private readonly endpoints: EndpointFilter = EVERY_ENDPOINT,
    private readonly tally = new TrafficTally(),
  ) {}

  line(line: string): void {
    const e = line.startsWith('add ') ? parseIpsetAdd(line) : undefined;
    if (!e || !TRAFFIC_SET_NAMES.includes(e.set) || e.packets === undefined || e.bytes === undefined) return;
    const comma = e.entry.lastIndexOf(',');
    const ip = e.entry.slice(0, comma);
    const port = e.entry.slice(e.entry.indexOf(':', comma) + 1);
    const endpoint = ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
    for (const label of (e.comment ?? '').split(' ')) {
      // The label is the port's trafficComment: its key in the tally. The key and the names kept as
      // flat copies: a slice of the line, kept, would keep the output's whole chunk (flat-string.ts).
      const port = this.tally.port(this.strings.of(label), () => this.named(parseServicePortComment(label)));
      if (!port) continue;
      port.add('packets', e.packets);
      port.add('bytes', e.bytes);
      const { id } = port;
      if (!this.endpoints.has(id.namespace, id.service, endpoint)) continue;
      const flat = flatString(endpoint);
      this.tally.add(trafficSample(id, 'endpoint_packets', e.packets, undefined, flat));
      this.tally.add(trafficSample(id, 'endpoint_bytes', e.bytes, undefined, flat));
    }
  }

  private named(id: ServicePortId | undefined): ServicePortId | undefined {
    return id && { namespace: this.strings.of(id.namespace), service: this.strings.of(id.service), port: id.port, protocol: this.strings.of(id.protocol) };
  }

  samples(): TrafficSample[] {
    return this.tally.samples();
  }
}

/**
 * `ipset save` output of the traffic sets -> packets and bytes per endpoint and per
 * Service port (the sum of its endpoints'). Pure.
 */
export function parseTrafficSetCounters(saved: string): TrafficSample[] {
  const c = new TrafficSetCounters();
  for (const line of saved.split('\n')) c.line(line);
  return c.samples();
}

/** The save tool of one family, in the flavour SVCPLANE_IPTABLES_MODE names (as apply.ts picks it; auto: the system's default). */
export function saveTool(family: 'IPv4' | 'IPv6', env: NodeJS.ProcessEnv = process.env): string {
  const base = family === 'IPv4' ? 'iptables' : 'ip6tables';
  const mode = env.SVCPLANE_IPTABLES_MODE;
  return mode === 'nft' || mode === 'legacy' ? `${base}-${mode}-save` : `${base}-save`;
}

/**
 * Reads our rules' counters in both families, in the current network namespace (or `netns`):
 * each tool's output parsed as it prints it, one tool at a time. Run side by side (six tools,
 * nat's save ~48 MB at 10k Services × 10), their lines came faster than the old generation was
 * collected: the agent's heap grew by ~150 MB of them in one scrape (src/agent/README.md, "Session 20").
 */
export async function readIptablesCounters(exec: Exec = systemExec, netns?: string, endpoints?: EndpointFilter): Promise<TrafficSample[]> {
  const tally = new TrafficTally();
  for (const family of ['IPv4', 'IPv6'] as const) {
    const rules = new IptablesCounters(endpoints);
    const lines = (line: string) => rules.line(line);
    for (const table of ['filter', 'nat']) await runChecked(exec, { file: saveTool(family), args: ['-c', '-t', table], timeoutMs: 30_000, stdoutLines: lines, ...(netns ? { netns } : {}) });
    rules.into(tally);
    // No set (ipset cannot run here, or nothing applied yet): no packets and bytes, the rest as usual.
    const set = new TrafficTally();
    const elements = new TrafficSetCounters(endpoints, set);
    const saved = await exec.run({ file: 'ipset', args: ['save', trafficSetName(family)], timeoutMs: 30_000, stdoutLines: (line) => elements.line(line), ...(netns ? { netns } : {}) });
    if (saved.exitCode === 0) tally.addTally(set);
  }
  return tally.samples();
}
