// Packets through the shared feature inputs (test/helpers/features.ts), with what
// each backend's rules must do with them. One table for the three interpreters:
// where kube-proxy's modes differ, the case says so per backend.

import type { TracePacket, TraceVerdict } from '../../src/backends/trace-result.js';

export type BackendName = 'nftables' | 'iptables' | 'ipvs';

export interface Expect {
  readonly verdict: TraceVerdict;
  readonly endpoints?: readonly string[];
  readonly masquerade?: boolean;
}

export interface TraceCase {
  readonly name: string;
  readonly feature: string;
  readonly packet: TracePacket;
  /** The same for every backend, unless `per` overrides it. */
  readonly expect: Expect;
  readonly per?: Partial<Record<BackendName, Expect>>;
}

const tcp = (src: string, dst: string, dport: number): TracePacket => ({ src, dst, dport, proto: 'tcp' });
const OUTSIDE = '192.168.60.5'; // outside the cluster CIDR, not a node address
const POD = '10.244.1.5'; // a pod on this node that is no endpoint
const NODE = '192.168.50.1'; // node1's own address: locally generated

export const CASES: readonly TraceCase[] = [
  {
    name: 'ClusterIP from a pod: spread over every endpoint (named targetPort per slice), not masqueraded',
    feature: 'clusterip-named-targetport',
    packet: tcp(POD, '10.96.0.10', 80),
    expect: { verdict: 'dnat', endpoints: ['10.244.1.10:8080', '10.244.2.10:9090'], masquerade: false },
  },
  {
    name: 'ClusterIP from outside the cluster CIDR: masqueraded',
    feature: 'clusterip-named-targetport',
    packet: tcp(OUTSIDE, '10.96.0.10', 80),
    expect: { verdict: 'dnat', endpoints: ['10.244.1.10:8080', '10.244.2.10:9090'], masquerade: true },
  },
  {
    name: 'hairpin: an endpoint reaching its own Service is masqueraded',
    feature: 'clusterip-named-targetport',
    packet: tcp('10.244.1.10', '10.96.0.10', 80),
    expect: { verdict: 'dnat', endpoints: ['10.244.1.10:8080', '10.244.2.10:9090'], masquerade: true },
  },
  {
    name: 'UDP ClusterIP; the TCP packet to the same port is not captured',
    feature: 'udp-and-sctp',
    packet: { src: POD, dst: '10.96.0.53', dport: 53, proto: 'udp' },
    expect: { verdict: 'dnat', endpoints: ['10.244.1.20:53'], masquerade: false },
  },
  {
    name: 'no endpoints: the ClusterIP rejects',
    feature: 'no-endpoints-reject',
    packet: tcp(POD, '10.96.0.12', 80),
    expect: { verdict: 'reject', endpoints: [] },
  },
  {
    name: 'no endpoints: the NodePort rejects',
    feature: 'no-endpoints-reject',
    packet: tcp(OUTSIDE, NODE, 30012),
    expect: { verdict: 'reject', endpoints: [] },
  },
  {
    name: 'no endpoints: an external IP rejects',
    feature: 'no-endpoints-reject',
    packet: tcp(OUTSIDE, '192.0.2.12', 80),
    expect: { verdict: 'reject', endpoints: [] },
  },
  {
    name: 'the node itself to a no-endpoint ClusterIP: reject',
    feature: 'no-endpoints-reject',
    packet: tcp(NODE, '10.96.0.12', 80),
    expect: { verdict: 'reject', endpoints: [] },
  },
  {
    name: 'NodePort, Cluster policy: every endpoint, masqueraded',
    feature: 'nodeport',
    packet: tcp(OUTSIDE, NODE, 30080),
    expect: { verdict: 'dnat', endpoints: ['10.244.1.10:8080', '10.244.2.10:8080'], masquerade: true },
  },
  {
    name: 'externalTrafficPolicy Local, no local endpoint: external traffic to the NodePort is dropped',
    feature: 'external-traffic-policy-local-none-here',
    packet: tcp(OUTSIDE, NODE, 30051),
    expect: { verdict: 'drop', endpoints: [] },
  },
  {
    name: 'externalTrafficPolicy Local, no local endpoint: external traffic to the external IP is dropped',
    feature: 'external-traffic-policy-local-none-here',
    packet: tcp(OUTSIDE, '192.0.2.51', 80),
    expect: { verdict: 'drop', endpoints: [] },
  },
  {
    name: 'externalTrafficPolicy Local, no local endpoint: the ClusterIP still reaches the remote one',
    feature: 'external-traffic-policy-local-none-here',
    packet: tcp(POD, '10.96.0.51', 80),
    expect: { verdict: 'dnat', endpoints: ['10.244.2.51:8080'], masquerade: false },
  },
  {
    name: 'externalTrafficPolicy Local: external traffic to the LB IP keeps its source and reaches local endpoints only',
    feature: 'external-traffic-policy-local',
    packet: tcp(OUTSIDE, '203.0.113.50', 80),
    expect: { verdict: 'dnat', endpoints: ['10.244.1.50:8080'], masquerade: false },
  },
  {
    name: 'externalTrafficPolicy Local: a pod reaching the LB IP short-circuits to every endpoint',
    feature: 'external-traffic-policy-local',
    packet: tcp(POD, '203.0.113.50', 80),
    expect: { verdict: 'dnat', endpoints: ['10.244.1.50:8080', '10.244.2.50:8080'], masquerade: false },
    // IPVS mode has no per-source short-circuit: the LB IP's real servers are the local endpoints.
    per: { ipvs: { verdict: 'dnat', endpoints: ['10.244.1.50:8080'], masquerade: false } },
  },
  {
    name: 'externalTrafficPolicy Local: the node itself reaching the LB IP is masqueraded and reaches every endpoint',
    feature: 'external-traffic-policy-local',
    packet: tcp(NODE, '203.0.113.50', 80),
    expect: { verdict: 'dnat', endpoints: ['10.244.1.50:8080', '10.244.2.50:8080'], masquerade: true },
    per: { ipvs: { verdict: 'dnat', endpoints: ['10.244.1.50:8080'], masquerade: false } },
  },
  {
    name: 'health check node port: accepted by iptables and IPVS rules, untouched by nftables',
    feature: 'external-traffic-policy-local',
    packet: tcp(OUTSIDE, NODE, 32050),
    expect: { verdict: 'accept', endpoints: [] },
    per: { nftables: { verdict: 'none', endpoints: [] } },
  },
  {
    name: 'loadBalancerSourceRanges: a source in range reaches the endpoint, masqueraded (Cluster policy)',
    feature: 'loadbalancer-source-ranges',
    packet: tcp('198.51.100.7', '203.0.113.30', 443),
    expect: { verdict: 'dnat', endpoints: ['10.244.2.30:8443'], masquerade: true },
  },
  {
    name: 'loadBalancerSourceRanges: a source out of range is dropped',
    feature: 'loadbalancer-source-ranges',
    packet: tcp('203.0.113.99', '203.0.113.30', 443),
    expect: { verdict: 'drop', endpoints: [] },
  },
  {
    name: 'a Proxy-mode LB IP is not captured',
    feature: 'loadbalancer-source-ranges',
    packet: tcp(OUTSIDE, '203.0.113.31', 443),
    expect: { verdict: 'none', endpoints: [] },
  },
  {
    name: 'ClientIP affinity: remembered clients and new ones reach the same endpoint set',
    feature: 'session-affinity',
    packet: tcp(OUTSIDE, '10.96.0.40', 80),
    expect: { verdict: 'dnat', endpoints: ['10.244.1.40:8080', '10.244.2.40:8080'], masquerade: true },
  },
  {
    name: 'ClientIP affinity, IPv6',
    feature: 'session-affinity',
    packet: tcp('fd00:244::7', 'fd00:10:96::40', 80),
    expect: { verdict: 'dnat', endpoints: ['[fd00:244:1::40]:8080'], masquerade: false },
  },
  {
    name: 'internalTrafficPolicy Local without a local endpoint: dropped',
    feature: 'internal-traffic-policy-local',
    packet: tcp(POD, '10.96.0.61', 80),
    expect: { verdict: 'drop', endpoints: [] },
  },
  {
    name: 'internalTrafficPolicy Local: only the local endpoint',
    feature: 'internal-traffic-policy-local',
    packet: tcp(POD, '10.96.0.60', 80),
    expect: { verdict: 'dnat', endpoints: ['10.244.1.60:8080'], masquerade: false },
  },
  {
    name: 'terminating endpoints that still serve are used when none is ready',
    feature: 'terminating-fallback',
    packet: tcp(POD, '10.96.0.70', 80),
    expect: { verdict: 'dnat', endpoints: ['10.244.1.70:8080'], masquerade: false },
  },
  {
    name: 'masqueradeAll (another mark bit): even pod traffic is masqueraded',
    feature: 'masquerade-all',
    packet: tcp(POD, '10.96.0.80', 80),
    expect: { verdict: 'dnat', endpoints: ['10.244.1.80:8080'], masquerade: true },
  },
  {
    name: 'pod traffic detected by bridge interface: from br0 not masqueraded',
    feature: 'detect-local-bridge',
    packet: { ...tcp(OUTSIDE, '10.96.0.81', 80), iif: 'br0' },
    expect: { verdict: 'dnat', endpoints: ['10.244.1.81:8080'], masquerade: false },
  },
  {
    name: 'pod traffic detected by bridge interface: from eth0 masqueraded',
    feature: 'detect-local-bridge',
    packet: { ...tcp(POD, '10.96.0.81', 80), iif: 'eth0' },
    expect: { verdict: 'dnat', endpoints: ['10.244.1.81:8080'], masquerade: true },
  },
  {
    name: 'a ClusterIP port the Service does not serve: nftables and IPVS reject, iptables lets it be routed',
    feature: 'clusterip-named-targetport',
    packet: tcp(POD, '10.96.0.10', 81),
    expect: { verdict: 'reject', endpoints: [] },
    per: { iptables: { verdict: 'none', endpoints: [] } },
  },
  {
    name: 'an unallocated Service CIDR address: nftables drops, the other modes route it',
    feature: 'clusterip-named-targetport',
    packet: tcp(POD, '10.96.7.7', 80),
    expect: { verdict: 'none', endpoints: [] },
    per: { nftables: { verdict: 'drop', endpoints: [] } },
  },
  {
    name: 'unrelated traffic: none',
    feature: 'clusterip-named-targetport',
    packet: tcp(OUTSIDE, '8.8.8.8', 443),
    expect: { verdict: 'none', endpoints: [], masquerade: false },
  },
  {
    name: 'NodePort on 127.0.0.1 (localhostNodePorts): iptables only',
    feature: 'nodeport-all-addresses-localhost',
    packet: tcp('127.0.0.1', '127.0.0.1', 30081),
    expect: { verdict: 'none', endpoints: [] },
    per: { iptables: { verdict: 'dnat', endpoints: ['10.244.1.10:8080'], masquerade: true } },
  },
];

export function expected(c: TraceCase, backend: BackendName): Expect {
  return c.per?.[backend] ?? c.expect;
}
