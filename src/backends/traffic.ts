// Per-Service traffic, as the kernel's own counters in our rules report it: one
// flat list of samples per read, the same shape for every backend, so the agent's
// exporter and `svcplane top` need not know which backend counted. Pure types and
// helpers; the readers live beside each backend (`<backend>/counters.ts`).

import type { Exec } from '../exec/exec.js';
import type { RenderInput } from '../model/render-input.js';

/** What a sample counts. Names match the exported metrics (svcplane_service_<kind>_total). */
export type TrafficKind = 'packets' | 'bytes' | 'new_connections' | 'rejected_packets' | 'dropped_packets' | 'endpoint_packets' | 'endpoint_bytes' | 'endpoint_new_connections';

/** Kinds counted per endpoint (they carry `endpoint`). */
export const ENDPOINT_KINDS: ReadonlySet<TrafficKind> = new Set(['endpoint_packets', 'endpoint_bytes', 'endpoint_new_connections']);

/** Why a packet was refused: a Service with no endpoint, a source outside loadBalancerSourceRanges, no endpoint on this node. */
export type RefusalReason = 'no_endpoints' | 'source_range' | 'no_local_endpoint';

/** A Service port, as the metrics label it. */
export interface ServicePortId {
  readonly namespace: string;
  readonly service: string;
  /** The Service port number. */
  readonly port: number;
  /** TCP, UDP or SCTP. */
  readonly protocol: string;
}

export interface TrafficSample extends ServicePortId {
  readonly kind: TrafficKind;
  readonly value: number;
  /** rejected_packets / dropped_packets only. */
  readonly reason?: RefusalReason;
  /** endpoint_* only: `ip:port` (`[ip]:port` for IPv6). */
  readonly endpoint?: string;
}

/**
 * Which endpoints a reader makes per-endpoint samples of (the agent exports 2000 pairs,
 * src/agent/endpoint-series.ts). Loose on purpose: by Service and endpoint, not Service port,
 * so a reader that knows a rule's Service before its port (iptables) can ask; the exporter
 * keeps the exact pairs. A reader asks before it builds a sample: at 10k Services × 10
 * endpoints a read made 300k samples and their keys to keep 6000.
 */
export interface EndpointFilter {
  has(namespace: string, service: string, endpoint: string): boolean;
}

/**
 * Reads every traffic counter of one backend in the current network namespace (or
 * `netns`). `input` is what the node enforces: backends whose kernel objects carry no
 * Service names (IPVS) name them from it; the others ignore it. With `endpoints`, only
 * the endpoints it has get endpoint_* samples (every Service-level sample comes as usual).
 */
export type TrafficReader = (exec?: Exec, netns?: string, input?: RenderInput, endpoints?: EndpointFilter) => Promise<TrafficSample[]>;

/** The filter that has every endpoint (`svcplane top`, tests). */
export const EVERY_ENDPOINT: EndpointFilter = { has: () => true };

/** The filter that has none (the agent's `--traffic-metrics services`: per Service port only). */
export const NO_ENDPOINT: EndpointFilter = { has: () => false };

/**
 * `ns/name:port/PROTO`: the comment of a Service port's traffic-counter elements and
 * rules (servicePortLabel's form for an unnamed port, so the backends' preserve.ts know
 * the owner). The counter readers take the Service's identity from it.
 */
export function trafficComment(v: { namespace: string; name: string; port: number; protocol: string }): string {
  return `${v.namespace}/${v.name}:${v.port}/${v.protocol}`;
}

/**
 * `ns/name:port/PROTO` (the comment our traffic-counter elements and rules carry)
 * -> the Service port; undefined for any other text.
 */
export function parseServicePortComment(comment: string | undefined): ServicePortId | undefined {
  const m = comment === undefined ? null : /^([^/\s]+)\/([^:\s]+):(\d+)\/(TCP|UDP|SCTP)$/.exec(comment);
  return m ? { namespace: m[1]!, service: m[2]!, port: Number(m[3]), protocol: m[4]! } : undefined;
}

/**
 * A sample as an object literal of one of three shapes (no reason or endpoint, a reason, an
 * endpoint). Not `{ ...id, kind, value }`: an object V8 clones from a spread and then adds
 * to is several times larger (measured on this node, 132k of each in a process of its own:
 * ~345 bytes against ~85 for the literal), and a read at 44k Services makes ~130k of them
 * (src/agent/README.md, "Session 21").
 */
export function trafficSample(id: ServicePortId, kind: TrafficKind, value: number, reason?: RefusalReason, endpoint?: string): TrafficSample {
  if (reason) return { namespace: id.namespace, service: id.service, port: id.port, protocol: id.protocol, kind, value, reason };
  if (endpoint !== undefined) return { namespace: id.namespace, service: id.service, port: id.port, protocol: id.protocol, kind, value, endpoint };
  return { namespace: id.namespace, service: id.service, port: id.port, protocol: id.protocol, kind, value };
}

/** One series' identity: kind and every label. */
export function sampleKey(s: TrafficSample): string {
  return [s.kind, s.namespace, s.service, s.port, s.protocol, s.reason ?? '', s.endpoint ?? ''].join('\u0000');
}

/** Samples with the same identity added up (a Service port counted on several elements: ClusterIP, LB IPs, node port). */
export function sumSamples(samples: Iterable<TrafficSample>): TrafficSample[] {
  const out = new Map<string, TrafficSample>();
  for (const s of samples) {
    const k = sampleKey(s);
    const have = out.get(k);
    out.set(k, have ? trafficSample(have, have.kind, have.value + s.value, have.reason, have.endpoint) : s);
  }
  return [...out.values()];
}
