// Reads the traffic counters of our nftables tables (render.ts puts them there):
// the per-element counters of `service-traffic` / `nodeport-traffic` (every packet
// of a Service's connections, both directions), of the shards' dispatch maps (one
// per new connection: nat sees only a connection's first packet), of the
// no-endpoint maps (refused by verdict: reject = no endpoints, drop = no local
// endpoint) and of `firewall-ips` (dropped by loadBalancerSourceRanges); of
// `endpoint-traffic` / `nodeport-endpoint-traffic` (every packet per endpoint,
// endpoint-traffic.ts); and the
// counter of each endpoint's DNAT rule (new connections per endpoint), found in the
// Service's `svc-` / `local-` / `ep-` chains, whose names carry the Service port.
//
// `nft -j list table` for each of our tables (sets and maps with their elements and
// counters, and the rules for the DNAT counters), four at a time, not `nft -j list
// ruleset`: with our tables at 1k Services × 10 endpoints the ruleset took 4.0-6.4 s
// here against 0.65 s for the tables one by one (apply.ts saw the same at 10k).
// Listing rules still costs several times `list sets` + `list maps` (1.5-3.1 s against
// 0.3-0.8 s at 1k × 10, measured while the machine was loaded), so NftCountersReader
// lists the rules (per-endpoint counts) at most once a minute and the sets and maps
// (per-Service counts) at every read.

import { systemExec } from '../../exec/system-exec.js';
import { ExecError, runChecked, type Command, type Exec } from '../../exec/exec.js';
import { parseServicePortComment, sumSamples, type RefusalReason, type ServicePortId, type TrafficKind, type TrafficSample } from '../traffic.js';
import { endpointText } from '../trace-result.js';
import { NFT_NAMES as N, TABLE_NAMES } from './render.js';
import { ENDPOINT_TRAFFIC_SETS } from './endpoint-traffic.js';

interface ListedSet {
  family: string;
  table: string;
  name: string;
  elem?: unknown[];
}

interface CountedElement {
  key: string;
  /** The key as listed: a value or `{ concat: [...] }`. */
  val: unknown;
  comment?: string;
  packets: number;
  bytes: number;
  verdict?: unknown;
}

const OURS = new Set(TABLE_NAMES);

/** The objects of one nft JSON listing. */
type Listing = { set?: ListedSet; map?: ListedSet; rule?: ListedRule }[];

function objects(json: string): Listing {
  return (JSON.parse(json) as { nftables?: Listing }).nftables ?? [];
}

function listed(doc: Listing): ListedSet[] {
  return doc.map((o) => o.set ?? o.map).filter((s): s is ListedSet => !!s && OURS.has(s.table));
}

function counted(raw: unknown): CountedElement | undefined {
  const [k, verdict] = Array.isArray(raw) ? raw : [raw, undefined];
  const e = (k as { elem?: { val: unknown; comment?: string; counter?: { packets: number; bytes: number } } })?.elem;
  if (!e?.counter) return undefined; // a set without counters (rendered before them, or not ours to count)
  return { key: JSON.stringify(e.val), val: e.val, comment: e.comment, packets: e.counter.packets, bytes: e.counter.bytes, verdict };
}

/** The refusal a no-endpoint map element stands for, from its verdict. */
function refusal(verdict: unknown): { kind: TrafficKind; reason: RefusalReason } | undefined {
  const v = verdict as { goto?: { target?: string }; drop?: unknown } | undefined;
  if (v?.goto?.target === N.rejectChain) return { kind: 'rejected_packets', reason: 'no_endpoints' };
  if (v && 'drop' in v) return { kind: 'dropped_packets', reason: 'no_local_endpoint' };
  return undefined;
}

const ENDPOINT_SETS: ReadonlySet<string> = new Set(Object.values(ENDPOINT_TRAFFIC_SETS));

/** Packets and bytes per endpoint (endpoint-traffic.ts): the Service port from the comment, the endpoint from the key's last two fields. */
function endpointTraffic(s: ListedSet): TrafficSample[] {
  const out: TrafficSample[] = [];
  for (const raw of s.elem ?? []) {
    const e = counted(raw);
    const id = parseServicePortComment(e?.comment);
    const key = (e?.val as { concat?: unknown[] } | undefined)?.concat;
    const [ip, port] = key?.slice(-2) ?? [];
    if (!e || !id || typeof ip !== 'string' || typeof port !== 'number') continue;
    const endpoint = endpointText(ip, port);
    out.push({ ...id, kind: 'endpoint_packets', value: e.packets, endpoint }, { ...id, kind: 'endpoint_bytes', value: e.bytes, endpoint });
  }
  return out;
}

/** The chains that DNAT to endpoints, named `<kind>-ns/name/proto/port[__ip/port]` (render.ts). */
const DNAT_CHAIN = /^(?:svc|local|ep)-([^/]+)\/([^/]+)\/(tcp|udp|sctp)\/(\d+)(?:__|$)/;

interface ListedRule {
  family: string;
  table: string;
  chain: string;
  expr?: Record<string, unknown>[];
}

/** Per endpoint, the new connections its DNAT rules counted (one rule per chain that can pick it). */
function endpointSamples(doc: Listing): TrafficSample[] {
  const out: TrafficSample[] = [];
  for (const r of doc.map((o) => o.rule)) {
    const m = r && OURS.has(r.table) ? DNAT_CHAIN.exec(r.chain) : null;
    if (!r || !m) continue;
    const c = r.expr?.find((x) => 'counter' in x)?.counter as { packets?: number } | undefined;
    const to = r.expr?.find((x) => 'dnat' in x)?.dnat as { addr?: string; port?: number } | undefined;
    if (c?.packets === undefined || to?.addr === undefined || to.port === undefined) continue; // rendered before the counters
    const id = { namespace: m[1]!, service: m[2]!, protocol: m[3]!.toUpperCase(), port: Number(m[4]) };
    out.push({ ...id, kind: 'endpoint_new_connections', value: c.packets, endpoint: endpointText(to.addr, to.port) });
  }
  return out;
}

/**
 * nft listings (`nft -j list ruleset`, or `list sets` and `list maps`) -> samples, one
 * per Service port and kind, and per endpoint for endpoint kinds. Pure.
 */
export function parseNftCounters(...listings: string[]): TrafficSample[] {
  const docs = listings.map(objects);
  const all = docs.flatMap(listed);
  // The Service port of each counted address (ip . proto . port) and node port (proto . port), per family.
  const byAddress = new Map<string, ServicePortId>();
  const byNodePort = new Map<string, ServicePortId>();
  const out: TrafficSample[] = [];
  const emit = (id: ServicePortId | undefined, kind: TrafficKind, value: number, reason?: RefusalReason) => {
    if (id) out.push({ ...id, kind, value, ...(reason ? { reason } : {}) });
  };
  for (const s of all) {
    const index = s.name === N.serviceTraffic ? byAddress : s.name === N.nodePortTraffic ? byNodePort : undefined;
    if (!index) continue;
    for (const raw of s.elem ?? []) {
      const e = counted(raw);
      const id = parseServicePortComment(e?.comment);
      if (!e || !id) continue;
      index.set(`${s.family} ${e.key}`, id);
      emit(id, 'packets', e.packets);
      emit(id, 'bytes', e.bytes);
    }
  }
  // A loop, not push(...): an endpoint set at 10k Services × 10 gives 200k samples, more arguments than the stack takes
  // (every read failed there with a RangeError, and the scrape showed no traffic series at all).
  for (const s of all) if (ENDPOINT_SETS.has(s.name)) for (const x of endpointTraffic(s)) out.push(x);
  for (const s of all) {
    const nodePorts = s.name === N.serviceNodePorts || s.name === N.noEndpointNodePorts;
    const index = nodePorts ? byNodePort : byAddress;
    for (const raw of s.elem ?? []) {
      const e = counted(raw);
      if (!e) continue;
      const id = index.get(`${s.family} ${e.key}`);
      if (s.name === N.serviceIPs || s.name === N.serviceNodePorts) emit(id, 'new_connections', e.packets);
      else if (s.name === N.firewallIPs) emit(id, 'dropped_packets', e.packets, 'source_range');
      else if (s.name === N.noEndpointServices || s.name === N.noEndpointNodePorts) {
        const r = refusal(e.verdict);
        if (r) emit(id, r.kind, e.packets, r.reason);
      }
    }
  }
  return sumSamples([...out, ...docs.flatMap(endpointSamples)]);
}

/** The listing of one of our tables; undefined when the table does not exist (a family the node does not use). */
async function listTable(exec: Exec, family: string, name: string, netns?: string): Promise<string | undefined> {
  const cmd: Command = { file: 'nft', args: ['-j', 'list', 'table', family, name], timeoutMs: 30_000, ...(netns ? { netns } : {}) };
  const r = await exec.run(cmd);
  if (r.exitCode === 0) return r.stdout;
  if (/No such file or directory/.test(r.stderr)) return undefined;
  throw new ExecError(cmd, r);
}

/** Reads the counters of every table of ours in the current network namespace (or `netns`), rules included. */
export async function readNftCounters(exec: Exec = systemExec, netns?: string): Promise<TrafficSample[]> {
  const tables = (['ip', 'ip6'] as const).flatMap((family) => TABLE_NAMES.map((name) => ({ family, name })));
  const listings: string[] = [];
  let next = 0;
  const lister = async () => {
    for (let i = next++; i < tables.length; i = next++) {
      const text = await listTable(exec, tables[i]!.family, tables[i]!.name, netns);
      if (text !== undefined) listings.push(text);
    }
  };
  await Promise.all([lister(), lister(), lister(), lister()]);
  return parseNftCounters(...listings);
}

/** Only the sets' and maps' counters (per Service port; no per-endpoint counts, which live in rules). */
export async function readNftSetCounters(exec: Exec = systemExec, netns?: string): Promise<TrafficSample[]> {
  const list = (what: 'sets' | 'maps') => runChecked(exec, { file: 'nft', args: ['-j', 'list', what], timeoutMs: 30_000, ...(netns ? { netns } : {}) });
  const [sets, maps] = await Promise.all([list('sets'), list('maps')]);
  return parseNftCounters(sets, maps);
}

/**
 * The agent's reader: per-Service counts at every read, per-endpoint counts (the
 * costly rules listing) at most once per `endpointsEveryMs`, reused in between, so a
 * Prometheus scrape every 15 s does not list every rule of a 10k-Service node.
 */
export class NftCountersReader {
  private endpoints: { netns: string | undefined; at: number; samples: TrafficSample[] } | undefined;

  constructor(
    private readonly endpointsEveryMs = 60_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  async read(exec: Exec = systemExec, netns?: string): Promise<TrafficSample[]> {
    const cached = this.endpoints;
    if (cached && cached.netns === netns && this.now() - cached.at < this.endpointsEveryMs) {
      return [...(await readNftSetCounters(exec, netns)), ...cached.samples];
    }
    const all = await readNftCounters(exec, netns);
    // Only what rules count is cached: the sets' per-endpoint packets and bytes come with every read.
    this.endpoints = { netns, at: this.now(), samples: all.filter((x) => x.kind === 'endpoint_new_connections') };
    return all;
  }
}
