// The node-wide IPVS settings of kube-proxy's configuration, as pure decisions for
// apply.ts: which sysctls (ipvs.strictARP), which `ipvsadm --set` (the IPVS timeouts),
// and which virtual servers are never ours to delete (ipvs.excludeCIDRs).

import type { IpvsTimeouts, ProxyConfig } from '../../model/config.js';
import { cidrContains, parseCIDR, parseIP } from '../../model/ip.js';

/** What IPVS mode always needs (kube-proxy sets the same). */
export const IPVS_SYSCTLS: Readonly<Record<string, string>> = {
  'net/ipv4/ip_forward': '1',
  'net/ipv6/conf/all/forwarding': '1',
  // Let iptables see IPVS connections (masquerade, hairpin).
  'net/ipv4/vs/conntrack': '1',
  // Drop connections to removed real servers at once instead of letting them hang.
  'net/ipv4/vs/expire_nodest_conn': '1',
  'net/ipv4/vs/expire_quiescent_template': '1',
};

/**
 * ipvs.strictARP, as kube-proxy sets it: answer ARP only for addresses on the
 * interface asked, and announce with the best local source, so the Service
 * addresses on our dummy interface are not claimed on the node's links (what
 * MetalLB-style L2 load balancers need). Node-wide, so only when asked for.
 */
export const STRICT_ARP_SYSCTLS: Readonly<Record<string, string>> = {
  'net/ipv4/conf/all/arp_ignore': '1',
  'net/ipv4/conf/all/arp_announce': '2',
};

export function ipvsSysctls(config: Pick<ProxyConfig, 'ipvsStrictARP'>): Record<string, string> {
  return { ...IPVS_SYSCTLS, ...(config.ipvsStrictARP ? STRICT_ARP_SYSCTLS : {}) };
}

/** `ipvsadm -L --timeout` ("Timeout (tcp tcpfin udp): 900 120 300") -> seconds; undefined when it does not say. */
export function parseIpvsTimeouts(text: string): IpvsTimeouts | undefined {
  const m = /Timeout \(tcp tcpfin udp\):\s*(\d+)\s+(\d+)\s+(\d+)/.exec(text);
  return m ? { tcpSeconds: Number(m[1]), tcpFinSeconds: Number(m[2]), udpSeconds: Number(m[3]) } : undefined;
}

/**
 * The `ipvsadm` arguments that set the configured timeouts, or undefined when the
 * kernel already has them. A 0 keeps the kernel's value (for kube-proxy and for
 * `ipvsadm --set` alike), so only non-zero ones are compared.
 */
export function ipvsTimeoutArgs(wanted: IpvsTimeouts | undefined, live: IpvsTimeouts | undefined): string[] | undefined {
  if (!wanted) return undefined;
  const keys = ['tcpSeconds', 'tcpFinSeconds', 'udpSeconds'] as const;
  const differs = keys.some((k) => wanted[k] > 0 && (!live || live[k] !== wanted[k]));
  return differs ? ['--set', ...keys.map((k) => String(wanted[k]))] : undefined;
}

/** ipvs.excludeCIDRs: true for a virtual-server address inside one of them (never deleted by us). */
export function excludedAddress(excludeCIDRs: readonly string[] | undefined): (address: string) => boolean {
  const cidrs = (excludeCIDRs ?? []).flatMap((c) => parseCIDR(c) ?? []);
  return (address) => {
    const ip = parseIP(address);
    return ip !== undefined && cidrs.some((c) => cidrContains(c, ip));
  };
}

/**
 * Which live virtual servers apply may delete (and check may call extra): those on an
 * address we serve (our dummy interface, the node's own for NodePorts) and outside
 * ipvs.excludeCIDRs, which belong to someone else even on an address of ours.
 */
export function ownsVirtualServer(served: ReadonlySet<string>, excludeCIDRs: readonly string[] | undefined): (v: { readonly address: string }) => boolean {
  const excluded = excludedAddress(excludeCIDRs);
  return (v) => served.has(v.address) && !excluded(v.address);
}
