// What the userspace proxy serves, from RenderInput alone (pure): one entry per
// Service port and IP family, with the endpoints each kind of traffic may reach and
// the addresses that capture it. The Service semantics (traffic policies, terminating
// fallback, topology, node port addresses) come from model/service-ports.ts; this
// file only regroups them for listeners.

import { firewallSources, primaryNodeIP } from '../backends/lb-firewall.js';
import type { IPFamily } from '../model/ip.js';
import type { Protocol } from '../model/plan.js';
import type { RenderInput } from '../model/render-input.js';
import { localTrafficMatch, nodePortAddresses, servicePortLabel, servicePortViews, type EndpointTarget, type ServicePortView } from '../model/service-ports.js';

export const FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];

/** What happens to new traffic of one kind that has no endpoint to go to (as the kernel backends do). */
export type NoEndpoint = 'reject' | 'drop';

export interface Upstream {
  readonly ip: string;
  readonly port: number;
}

export interface TrafficPlan {
  /** Endpoints new connections of this kind go to, in a stable order. */
  readonly endpoints: readonly Upstream[];
  /** Only meaningful when `endpoints` is empty. */
  readonly none: NoEndpoint;
}

export interface PortPlan {
  /** `ns/name:port-name/TCP/IPv4`: one relay each. */
  readonly key: string;
  /** `ns/name`: what `changed` and `preserve` speak of. */
  readonly service: string;
  /** For logs: `ns/name:port-name`. */
  readonly label: string;
  readonly protocol: Exclude<Protocol, 'SCTP'>;
  readonly family: IPFamily;
  readonly port: number;
  readonly clusterIP: string;
  /** ClusterIP traffic. */
  readonly internal: TrafficPlan;
  /** NodePort, external IP and load-balancer traffic. */
  readonly external: TrafficPlan;
  /** External IPs and VIP-mode load-balancer IPs: redirected to the external listener. */
  readonly externalAddresses: readonly string[];
  /** Load-balancer IPs that only sources in `sourceRanges` may reach. */
  readonly firewalledAddresses: readonly string[];
  /** The sources allowed: loadBalancerSourceRanges, plus the LB IPs themselves when a range holds the node (kube-proxy's allowFromNode). */
  readonly sourceRanges: readonly string[];
  /** 0: no node port. */
  readonly nodePort: number;
  /** Where the node port is served: every local address (wildcard bind) or these. */
  readonly nodePortAddresses: { readonly all: boolean; readonly ips: readonly string[] };
  /** ClientIP affinity timeout in seconds; 0: none. */
  readonly affinitySeconds: number;
  /**
   * externalTrafficPolicy Local: external traffic from this node's pods (the CIDRs of
   * the local-traffic detector) goes to the cluster endpoints, as kube-proxy
   * short-circuits it. No sources: none (other policy, or a detector that is not
   * CIDR-based).
   */
  readonly shortCircuit: { readonly sources: readonly string[]; readonly endpoints: readonly Upstream[] };
}

export interface ListenerPlan {
  readonly ports: readonly PortPlan[];
  /** Services (`ns/name`) of some Service port we do not serve (SCTP): for a warning. */
  readonly unsupported: readonly string[];
}

const upstreams = (eps: readonly EndpointTarget[]): Upstream[] => eps.map((e) => ({ ip: e.ip, port: e.port }));

function internalTraffic(v: ServicePortView): TrafficPlan {
  const eps = v.internalPolicyLocal ? v.localEndpoints : v.clusterEndpoints;
  return { endpoints: v.hasInternalEndpoints ? upstreams(eps) : [], none: v.hasEndpoints ? 'drop' : 'reject' };
}

function externalTraffic(v: ServicePortView): TrafficPlan {
  const eps = v.externalPolicyLocal ? v.localEndpoints : v.clusterEndpoints;
  return { endpoints: v.hasExternalEndpoints ? upstreams(eps) : [], none: v.hasEndpoints ? 'drop' : 'reject' };
}

/** Every Service port we relay on this node, both families, sorted by key. */
export function listenerPlan(input: RenderInput): ListenerPlan {
  const ports: PortPlan[] = [];
  const unsupported = new Set<string>();
  for (const family of FAMILIES) {
    // kube-proxy's userspace mode listened for node ports on every address unless told otherwise.
    const npa = nodePortAddresses(input.node, input.config, family, 'all');
    const detector = localTrafficMatch(input.config, input.node, family);
    const localSources = detector.kind === 'cidrs' ? detector.cidrs : [];
    for (const v of servicePortViews(input, family)) {
      const service = `${v.namespace}/${v.name}`;
      if (v.protocol === 'SCTP') {
        unsupported.add(service);
        continue;
      }
      ports.push({
        key: `${servicePortLabel(v)}/${v.protocol}/${family}`,
        service,
        label: servicePortLabel(v),
        protocol: v.protocol,
        family,
        port: v.port,
        clusterIP: v.clusterIP,
        internal: internalTraffic(v),
        external: externalTraffic(v),
        externalAddresses: [...v.externalIPs, ...v.loadBalancerIPs.filter((ip) => !v.externalIPs.includes(ip))],
        firewalledAddresses: v.sourceRanges.length ? v.loadBalancerIPs : [],
        // kube-proxy's allowed sources, as the kernel backends decide them (lb-firewall.ts).
        sourceRanges: firewallSources(v, primaryNodeIP(input.node, v)),
        nodePort: v.nodePort,
        nodePortAddresses: v.nodePort ? { all: npa.all, ips: npa.all ? [] : npa.ips } : { all: false, ips: [] },
        affinitySeconds: v.affinitySeconds,
        shortCircuit: v.externalPolicyLocal && localSources.length ? { sources: localSources, endpoints: upstreams(v.clusterEndpoints) } : { sources: [], endpoints: [] },
      });
    }
  }
  ports.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { ports, unsupported: [...unsupported].sort() };
}
