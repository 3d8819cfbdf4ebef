// Which sources loadBalancerSourceRanges lets through to a load-balancer IP: one
// decision, written by each backend in its own rules.
//
// kube-proxy (v1.35) decides it the same way in its nftables, iptables and IPVS
// modes (proxier.go, the `allowFromNode` blocks): the ranges, plus the Service's own
// load-balancer IPs as sources when the node's primary address of the family is
// inside one of the ranges. The second part is for VIP-like load balancers whose
// IP is also a local address of the node: a connection from the node to it loops
// back with the VIP as its source, and so does traffic from a load balancer that
// SNATs to its own address. Nothing else is implicitly allowed: the node's own
// addresses pass only when a range holds them, so a node outside every range is
// refused like any other source (kubernetes issue #119656 made IPVS mode refuse it
// too).

import { cidrContains, ipFamilyOf, parseCIDR, parseIP } from '../model/ip.js';
import type { NodeContext } from '../model/node.js';
import type { ServicePortView } from '../model/service-ports.js';

/** The node's primary address of the view's family ('' when the node has none): kube-proxy's nodeIP. */
export function primaryNodeIP(node: NodeContext, v: Pick<ServicePortView, 'family'>): string {
  return node.addresses.find((a) => ipFamilyOf(a) === v.family) ?? '';
}

/** Whether a CIDR holds an address (false for either unparsable or of another family). */
export function cidrHolds(cidr: string, ip: string): boolean {
  const c = parseCIDR(cidr);
  const p = parseIP(ip);
  return c !== undefined && p !== undefined && c.family === p.family && cidrContains(c, p);
}

/** kube-proxy's allowFromNode: a source range holds the node's primary address. */
export function allowsLoadBalancerIPSources(v: Pick<ServicePortView, 'sourceRanges'>, nodeIP: string): boolean {
  return nodeIP !== '' && v.sourceRanges.some((cidr) => cidrHolds(cidr, nodeIP));
}

/**
 * Every source allowed through the firewall of each of the view's load-balancer IPs:
 * the ranges, then (allowFromNode) the load-balancer IPs themselves. [] when the
 * Service has no source ranges (no firewall at all).
 */
export function firewallSources(v: Pick<ServicePortView, 'sourceRanges' | 'loadBalancerIPs'>, nodeIP: string): string[] {
  if (v.sourceRanges.length === 0) return [];
  return [...v.sourceRanges, ...(allowsLoadBalancerIPSources(v, nodeIP) ? v.loadBalancerIPs : [])];
}
