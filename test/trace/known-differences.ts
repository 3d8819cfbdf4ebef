// Where the traces of the three renderings of one input legitimately differ, each
// with the reason. The differential test compares only the backends no entry
// excludes for a packet; every entry is as narrow as the difference it explains.
//
// They are kube-proxy's own mode differences (v1.33), which svcplane follows per
// mode. (The LB firewall's allowed sources are the same in every backend, as in all
// of kube-proxy's modes: the ranges, plus the LB IPs when a range holds the node;
// src/backends/lb-firewall.ts. kube-proxy's IPVS mode filters the node's own
// connections only when their source is the VIP; svcplane's IPVS backend filters them
// all, as nftables mode does, so that is no difference here.)

import { viewServicePort, type ServicePortView } from '../../src/model/service-ports.js';
import type { RenderInput } from '../../src/model/render-input.js';
import type { BackendName } from './cases.js';
import type { Probe } from './scenarios.js';

export interface KnownDifference {
  readonly id: string;
  /** The backends whose answer is not compared for a packet this entry applies to. */
  readonly excludes: readonly BackendName[];
  readonly why: string;
  readonly applies: (p: Probe, v: ServicePortView | undefined) => boolean;
}

const EXTERNAL = new Set(['externalIP', 'lbIP', 'nodePort']);
const firewalled = (p: Probe, v: ServicePortView | undefined) => p.target === 'lbIP' && !!v && v.sourceRanges.length > 0;

export const KNOWN_DIFFERENCES: readonly KnownDifference[] = [
  {
    id: 'ipvs-no-short-circuit',
    excludes: ['ipvs'],
    why: 'IPVS mode has no per-source rules for externalTrafficPolicy Local: pods and the node itself get the external address\'s local endpoints (not all of them, not masqueraded), where iptables and nftables short-circuit them to the Cluster chain',
    applies: (p, v) => EXTERNAL.has(p.target) && !!v?.externalPolicyLocal && ['localPod', 'remotePod', 'endpoint', 'node'].includes(p.source),
  },
  {
    id: 'ipvs-rejects-without-real-server',
    excludes: ['ipvs'],
    why: 'the node\'s own traffic meets IPVS at LOCAL_OUT, before any filter rule; a virtual server with no real server to pick answers ICMP port unreachable itself (reject), where the other modes drop a Local policy without local endpoints',
    // A packet from the VIP is the node's own in IPVS mode (the VIP is on its dummy interface).
    applies: (p, v) => (p.source === 'node' || p.source === 'vip') && !!v && (p.target === 'clusterIP' ? !v.hasInternalEndpoints : EXTERNAL.has(p.target) && !v.hasExternalEndpoints),
  },
  {
    id: 'iptables-no-firewall-without-endpoints',
    excludes: ['iptables'],
    why: 'kube-proxy\'s iptables mode builds the loadBalancerSourceRanges firewall only for Services with endpoints: a source out of range is rejected like everyone else (nftables and IPVS check the firewall first and drop it)',
    applies: (p, v) => firewalled(p, v) && !v!.hasEndpoints && p.source !== 'inRange',
  },
  {
    id: 'nftables-node-traffic-filtered-before-dnat',
    excludes: ['nftables', 'iptables'],
    why: 'the node\'s own traffic to an external address of a Service without endpoints for it: nftables checks no-endpoint-services in filter output before DNAT (drop, or reject with no endpoint at all); iptables jumps to SVP-EXTERNAL-SERVICES only from INPUT and FORWARD, so the node\'s traffic is short-circuited (Local policy with endpoints elsewhere) or routed as is',
    applies: (p, v) => p.source === 'node' && (p.target === 'externalIP' || p.target === 'lbIP') && !!v && !v.hasExternalEndpoints,
  },
  {
    id: 'health-check-accept',
    excludes: ['nftables'],
    why: 'iptables and IPVS modes ACCEPT healthCheckNodePorts in filter INPUT; nftables mode has no such rule (its chains accept by policy)',
    applies: (p) => p.target === 'healthCheck',
  },
  {
    id: 'iptables-port-not-served',
    excludes: ['iptables'],
    why: 'iptables mode has no rule for a ClusterIP port the Service does not serve: routed as any other packet (nftables rejects in cluster-ips-check, IPVS in SVP-INPUT since the address is local)',
    applies: (p) => p.target === 'wrongPort',
  },
  {
    id: 'nftables-unallocated-drop',
    excludes: ['nftables'],
    why: 'only nftables mode drops traffic to a Service CIDR address no Service holds',
    applies: (p) => p.target === 'unallocated',
  },
];

/** The shared view of the Service port a probe aims at (for the predicates above). */
export function probeView(input: RenderInput, p: Probe): ServicePortView | undefined {
  const s = p.service;
  if (!s) return undefined;
  const i = s.ports.findIndex((sp) => p.target === 'nodePort' ? sp.nodePort === p.packet.dport : sp.port === p.packet.dport && sp.protocol.toLowerCase() === p.packet.proto);
  return viewServicePort(s, Math.max(i, 0), 'IPv4', input.endpointSlices, input.node);
}
