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
// counters, and the rules for the DNAT counters), the main tables first, then the shards
// four at a time, not `nft -j list ruleset`: with our tables at 1k Services × 10 endpoints the ruleset took 4.0-6.4 s
// here against 0.65 s for the tables one by one (apply.ts saw the same at 10k).
// Listing rules still costs several times `list sets` + `list maps` (1.5-3.1 s against
// 0.3-0.8 s at 1k × 10, measured while the machine was loaded), so NftCountersReader
// lists the rules (per-endpoint counts) at most once a minute and the sets and maps
// (per-Service counts) at every read.

// Each listing is read as nft prints it (listing-stream.ts), an element at a time: at 10k
// Services x 10 endpoints the tables' JSON is tens of MB, and a scrape held every listing's
// text and its parse at once (the agent's heap grew by ~150 MB; src/agent/README.md,
// "Session 21"). What is kept is the sums (a TrafficTally: six per Service port), and of the
// endpoints only those the caller's EndpointFilter has.

import { systemExec } from '../../exec/system-exec.js';
import type { Exec } from '../../exec/exec.js';
import { EVERY_ENDPOINT, parseServicePortComment, trafficSample, type EndpointFilter, type RefusalReason, type TrafficKind, type TrafficSample } from '../traffic.js';
import { TrafficTally, type PortTally } from '../traffic-tally.js';
import { endpointText } from '../trace-result.js';
import { NFT_NAMES as N, TABLE_NAME, TABLE_NAMES } from './render.js';
import { ENDPOINT_TRAFFIC_SETS } from './endpoint-traffic.js';
import { NftListingStream, type NftListingOwner, type NftListingSink } from './listing-stream.js';
import { streamListingChecked } from './listing-read.js';

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

/** The sets whose elements name a Service port's addresses and node ports (comment `ns/name:port/PROTO`). */
const NAMING_SETS: ReadonlySet<string> = new Set([N.serviceTraffic, N.nodePortTraffic]);

/** The sets and maps whose counters belong to a Service address or node port named by a naming set. */
const ADDRESSED_SETS: ReadonlySet<string> = new Set([N.serviceIPs, N.serviceNodePorts, N.firewallIPs, N.noEndpointServices, N.noEndpointNodePorts]);

/** The chains that DNAT to endpoints, named `<kind>-ns/name/proto/port[__ip/port]` (render.ts). */
const DNAT_CHAIN = /^(?:svc|local|ep)-([^/]+)\/([^/]+)\/(tcp|udp|sctp)\/(\d+)(?:__|$)/;

interface ListedRule {
  family: string;
  table: string;
  chain: string;
  expr?: Record<string, unknown>[];
}

/** An addressed element met before the naming set that names its key (resolved at the end). */
interface Unnamed {
  readonly index: string;
  readonly set: string;
  readonly packets: number;
  readonly verdict: unknown;
}

/**
 * The counters of nft listings given object by object and element by element (an
 * NftListingSink: `nft -j list table`, `list sets`, `list maps`, in any order) -> samples,
 * one per Service port and kind, and per endpoint for endpoint kinds. Pure.
 */
export class NftCounters implements NftListingSink {
  /** The Service port (its sums) of each counted address (`family ip . proto . port`) and node port (`family proto . port`). */
  private readonly byAddress = new Map<string, PortTally>();
  private readonly byNodePort = new Map<string, PortTally>();
  private readonly unnamed: Unnamed[] = [];
  private readonly tally = new TrafficTally();

  /** `endpoints`: the endpoints to count per endpoint (the rest are counted per Service port only). */
  constructor(private readonly endpoints: EndpointFilter = EVERY_ENDPOINT) {}

  element(owner: NftListingOwner, raw: unknown): void {
    if (!owner.table || !OURS.has(owner.table)) return;
    if (ENDPOINT_SETS.has(owner.name)) return this.endpointElement(raw);
    const naming = NAMING_SETS.has(owner.name);
    if (!naming && !ADDRESSED_SETS.has(owner.name)) return;
    const e = counted(raw);
    if (!e) return;
    const nodePorts = owner.name === N.nodePortTraffic || owner.name === N.serviceNodePorts || owner.name === N.noEndpointNodePorts;
    const index = `${owner.family} ${e.key}`;
    if (naming) {
      // The comment is the port's trafficComment: one text per port, its key in the tally.
      const comment = e.comment;
      const port = comment === undefined ? undefined : this.tally.port(comment, () => parseServicePortComment(comment));
      if (!port) return;
      (nodePorts ? this.byNodePort : this.byAddress).set(index, port);
      port.add('packets', e.packets);
      port.add('bytes', e.bytes);
      return;
    }
    const port = (nodePorts ? this.byNodePort : this.byAddress).get(index);
    if (port) this.addressed(port, owner.name, e.packets, e.verdict);
    else this.unnamed.push({ index, set: owner.name, packets: e.packets, verdict: e.verdict });
  }

  object(item: Record<string, Record<string, unknown>>): void {
    const r = item.rule as unknown as ListedRule | undefined;
    const m = r && OURS.has(r.table) ? DNAT_CHAIN.exec(r.chain) : null;
    if (!r || !m) return;
    // Per endpoint, the new connections its DNAT rules counted (one rule per chain that can pick it).
    const c = r.expr?.find((x) => 'counter' in x)?.counter as { packets?: number } | undefined;
    const to = r.expr?.find((x) => 'dnat' in x)?.dnat as { addr?: string; port?: number } | undefined;
    if (c?.packets === undefined || to?.addr === undefined || to.port === undefined) return; // rendered before the counters
    const endpoint = endpointText(to.addr, to.port);
    if (!this.endpoints.has(m[1]!, m[2]!, endpoint)) return;
    this.tally.add({ namespace: m[1]!, service: m[2]!, protocol: m[3]!.toUpperCase(), port: Number(m[4]), kind: 'endpoint_new_connections', value: c.packets, endpoint });
  }

  /** Every sample of what was given, summed per series. */
  samples(): TrafficSample[] {
    for (const u of this.unnamed) {
      const nodePorts = u.set === N.serviceNodePorts || u.set === N.noEndpointNodePorts;
      const port = (nodePorts ? this.byNodePort : this.byAddress).get(u.index);
      if (port) this.addressed(port, u.set, u.packets, u.verdict);
    }
    this.unnamed.length = 0;
    return this.tally.samples();
  }

  /** Packets and bytes per endpoint (endpoint-traffic.ts): the Service port from the comment, the endpoint from the key's last two fields. */
  private endpointElement(raw: unknown): void {
    const e = counted(raw);
    const id = parseServicePortComment(e?.comment);
    const key = (e?.val as { concat?: unknown[] } | undefined)?.concat;
    const ip = key?.[key.length - 2];
    const port = key?.[key.length - 1];
    if (!e || !id || typeof ip !== 'string' || typeof port !== 'number') return;
    const endpoint = endpointText(ip, port);
    if (!this.endpoints.has(id.namespace, id.service, endpoint)) return;
    this.tally.add(trafficSample(id, 'endpoint_packets', e.packets, undefined, endpoint));
    this.tally.add(trafficSample(id, 'endpoint_bytes', e.bytes, undefined, endpoint));
  }

  /** An element of a dispatch, firewall or no-endpoint set of a named address. */
  private addressed(port: PortTally, set: string, packets: number, verdict: unknown): void {
    if (set === N.serviceIPs || set === N.serviceNodePorts) port.add('new_connections', packets);
    else if (set === N.firewallIPs) port.add('dropped_packets', packets, 'source_range');
    else {
      const r = refusal(verdict);
      if (r) port.add(r.kind, packets, r.reason);
    }
  }
}

/** Whole nft listings (`nft -j list table`, `list sets`, `list maps`, in any order) -> samples. Pure. */
export function parseNftCounters(...listings: string[]): TrafficSample[] {
  const counters = new NftCounters();
  for (const text of listings) {
    const stream = new NftListingStream(counters);
    stream.push(text);
    stream.end();
  }
  return counters.samples();
}

/**
 * Reads the counters of every table of ours in the current network namespace (or `netns`),
 * rules included; endpoint samples of `endpoints` only. The main tables first, then the
 * shards four at a time: the shards' dispatch maps are named from the main table's sets.
 */
export async function readNftCounters(exec: Exec = systemExec, netns?: string, endpoints?: EndpointFilter): Promise<TrafficSample[]> {
  const counters = new NftCounters(endpoints);
  const list = (family: string, name: string) => streamListingChecked(['-j', 'list', 'table', family, name], counters, netns, exec, { absentOk: true, timeoutMs: 30_000 });
  for (const family of ['ip', 'ip6']) await list(family, TABLE_NAME);
  const shards = (['ip', 'ip6'] as const).flatMap((family) => TABLE_NAMES.filter((n) => n !== TABLE_NAME).map((name) => ({ family, name })));
  let next = 0;
  const lister = async () => {
    for (let i = next++; i < shards.length; i = next++) await list(shards[i]!.family, shards[i]!.name);
  };
  await Promise.all([lister(), lister(), lister(), lister()]);
  return counters.samples();
}

/** Only the sets' and maps' counters (per Service port and the sets' per-endpoint counts; not the rules'). */
export async function readNftSetCounters(exec: Exec = systemExec, netns?: string, endpoints?: EndpointFilter): Promise<TrafficSample[]> {
  const counters = new NftCounters(endpoints);
  // Sets first: they name the maps' addresses.
  await streamListingChecked(['-j', 'list', 'sets'], counters, netns, exec, { timeoutMs: 30_000 });
  await streamListingChecked(['-j', 'list', 'maps'], counters, netns, exec, { timeoutMs: 30_000 });
  return counters.samples();
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

  /** Endpoint samples of `endpoints` only; the cached ones are of the filter of the read that listed the rules (the exporter keeps the exact pairs). */
  async read(exec: Exec = systemExec, netns?: string, endpoints?: EndpointFilter): Promise<TrafficSample[]> {
    const cached = this.endpoints;
    if (cached && cached.netns === netns && this.now() - cached.at < this.endpointsEveryMs) {
      const sets = await readNftSetCounters(exec, netns, endpoints);
      for (const x of cached.samples) sets.push(x);
      return sets;
    }
    const all = await readNftCounters(exec, netns, endpoints);
    // Only what rules count is cached: the sets' per-endpoint packets and bytes come with every read.
    this.endpoints = { netns, at: this.now(), samples: all.filter((x) => x.kind === 'endpoint_new_connections') };
    return all;
  }
}
