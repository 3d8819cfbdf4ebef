// Our ipsets: one per role and family, named like kube-proxy's with our prefix
// (SVP- for IPv4, SVP6- for IPv6; ipset names are at most 31 characters).
// The sets whose lookup refuses a packet are created with `counters` (`counts`: what
// they count): the helper rule's set match adds every packet it refuses to the
// matching element's counters, which refusals.ts reads back per Service (the rules
// themselves never name a Service).

import type { IPFamily } from '../../model/ip.js';
import type { RefusalReason } from '../traffic.js';
import type { IpsetType } from './ruleset.js';

/** What a counted set's element counters count. */
export interface Refusal {
  readonly kind: 'rejected_packets' | 'dropped_packets';
  readonly reason: RefusalReason;
}

export const SETS = {
  loopBack: { name: 'LOOP-BACK', type: 'hash:ip,port,ip', comment: 'endpoint,proto:port,endpoint: hairpin traffic to masquerade' },
  clusterIP: { name: 'CLUSTER-IP', type: 'hash:ip,port', comment: 'cluster IP,proto:port of every Service port' },
  externalIP: { name: 'EXTERNAL-IP', type: 'hash:ip,port', comment: 'external IPs with externalTrafficPolicy Cluster' },
  externalIPLocal: { name: 'EXTERNAL-IP-LOCAL', type: 'hash:ip,port', comment: 'external IPs with externalTrafficPolicy Local' },
  loadBalancer: { name: 'LOAD-BALANCER', type: 'hash:ip,port', comment: 'every load balancer IP,proto:port' },
  loadBalancerLocal: { name: 'LOAD-BALANCER-LOCAL', type: 'hash:ip,port', comment: 'load balancer IPs with externalTrafficPolicy Local' },
  loadBalancerFW: { name: 'LOAD-BALANCER-FW', type: 'hash:ip,port', comment: 'load balancer IPs with loadBalancerSourceRanges', counts: { kind: 'dropped_packets', reason: 'source_range' } },
  loadBalancerSourceCIDR: { name: 'LOAD-BALANCER-SOURCE-CIDR', type: 'hash:ip,port,net', comment: 'lb IP,proto:port,allowed source range' },
  loadBalancerSourceIP: { name: 'LOAD-BALANCER-SOURCE-IP', type: 'hash:ip,port,ip', comment: 'lb IP,proto:port,lb IP: the VIP as source, when a range holds the node' },
  nodePortTCP: { name: 'NODE-PORT-TCP', type: 'bitmap:port', comment: 'TCP node ports, Cluster policy' },
  nodePortUDP: { name: 'NODE-PORT-UDP', type: 'bitmap:port', comment: 'UDP node ports, Cluster policy' },
  nodePortSCTP: { name: 'NODE-PORT-SCTP', type: 'bitmap:port', comment: 'SCTP node ports, Cluster policy' },
  nodePortLocalTCP: { name: 'NODE-PORT-LOCAL-TCP', type: 'bitmap:port', comment: 'TCP node ports, Local policy' },
  nodePortLocalUDP: { name: 'NODE-PORT-LOCAL-UDP', type: 'bitmap:port', comment: 'UDP node ports, Local policy' },
  nodePortLocalSCTP: { name: 'NODE-PORT-LOCAL-SCTP', type: 'bitmap:port', comment: 'SCTP node ports, Local policy' },
  healthCheckNodePort: { name: 'HEALTH-CHECK-NODE-PORT', type: 'bitmap:port', comment: 'healthCheckNodePorts' },
  ipvsIPs: { name: 'IPVS-IPS', type: 'hash:ip', comment: 'every address on the dummy interface' },
  noEndpoints: { name: 'NO-ENDPOINTS', type: 'hash:ip,port', comment: 'Service addresses with no endpoint anywhere: REJECT', counts: { kind: 'rejected_packets', reason: 'no_endpoints' } },
  noLocalEndpoints: { name: 'NO-LOCAL-ENDPOINTS', type: 'hash:ip,port', comment: 'external addresses, Local policy, no endpoint here: DROP', counts: { kind: 'dropped_packets', reason: 'no_local_endpoint' } },
  noEndpointsNodePortTCP: { name: 'NO-EP-NODE-PORT-TCP', type: 'bitmap:port', comment: 'TCP node ports with no endpoint: REJECT', counts: { kind: 'rejected_packets', reason: 'no_endpoints' } },
  noEndpointsNodePortUDP: { name: 'NO-EP-NODE-PORT-UDP', type: 'bitmap:port', comment: 'UDP node ports with no endpoint: REJECT', counts: { kind: 'rejected_packets', reason: 'no_endpoints' } },
  noEndpointsNodePortSCTP: { name: 'NO-EP-NODE-PORT-SCTP', type: 'bitmap:port', comment: 'SCTP node ports with no endpoint: REJECT', counts: { kind: 'rejected_packets', reason: 'no_endpoints' } },
  noLocalEndpointsNodePortTCP: { name: 'NO-LOCAL-NODE-PORT-TCP', type: 'bitmap:port', comment: 'TCP node ports, Local policy, none here: DROP', counts: { kind: 'dropped_packets', reason: 'no_local_endpoint' } },
  noLocalEndpointsNodePortUDP: { name: 'NO-LOCAL-NODE-PORT-UDP', type: 'bitmap:port', comment: 'UDP node ports, Local policy, none here: DROP', counts: { kind: 'dropped_packets', reason: 'no_local_endpoint' } },
  noLocalEndpointsNodePortSCTP: { name: 'NO-LOCAL-NODE-PORT-SCTP', type: 'bitmap:port', comment: 'SCTP node ports, Local policy, none here: DROP', counts: { kind: 'dropped_packets', reason: 'no_local_endpoint' } },
} as const satisfies Record<string, { name: string; type: IpsetType; comment: string; counts?: Refusal }>;

export type SetKey = keyof typeof SETS;

export function setName(family: IPFamily, key: SetKey): string {
  return `${family === 'IPv4' ? 'SVP-' : 'SVP6-'}${SETS[key].name}`;
}

/** The sets created with `counters`: each counted by one set match per chain, reached only by packets it refuses (iptables-rules.ts). */
export const COUNTED_SETS: readonly SetKey[] = (Object.keys(SETS) as SetKey[]).filter((k) => 'counts' in SETS[k]);
