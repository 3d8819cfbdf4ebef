// IPv4 nat rule counts of our iptables render, broken down by what each rule is for,
// beside kube-proxy's count for ClusterIP-only Services: 5 + S × (2 + 3E)
//   5     static: the NodePorts tail of KUBE-SERVICES, 3 in KUBE-POSTROUTING, 1 in KUBE-MARK-MASQ;
//   2     per Service: its ClusterIP rule in KUBE-SERVICES, the masquerade rule of KUBE-SVC-…;
//   3E    per endpoint: its jump in KUBE-SVC-…, and KUBE-SEP-…'s hairpin-mark and DNAT rules.
// The breakdown sorts our rules into the same groups (by chain, and within a Service's
// policy chain by target), so that a difference shows where it comes from.

import { CHAINS } from '../src/backends/iptables/names.js';
import type { IptTables } from '../src/backends/iptables/render.js';

export interface NatCounts {
  services: number;
  endpointsPerService: number;
  total: number;
  kubeProxy: number;
  chains: number;
  /** Rules by group: static, clusterIP (SVP-SERVICES per Service), masq (policy chain → MARK-MASQ), jump (policy chain → SEP), sep (in SEP chains), other. */
  groups: Record<'static' | 'clusterIP' | 'masq' | 'jump' | 'sep' | 'other', number>;
  /** IPv4 filter rules and IPv6 (filter + nat) rules: constant skeletons, not in kube-proxy's nat formula. */
  filterV4: number;
  ipv6: number;
}

export function kubeProxyNatRules(services: number, endpoints: number): number {
  return 5 + services * (2 + 3 * endpoints);
}

export function natCounts(tables: readonly IptTables[], services: number, endpointsPerService: number): NatCounts {
  const v4 = tables.find((t) => t.family === 'IPv4')!;
  const groups: NatCounts['groups'] = { static: 0, clusterIP: 0, masq: 0, jump: 0, sep: 0, other: 0 };
  const staticChains = new Set<string>([CHAINS.postrouting, CHAINS.markMasq, CHAINS.nodePorts]);
  for (const c of v4.nat) {
    for (const r of c.rules) {
      if (staticChains.has(c.name)) groups.static++;
      else if (c.name === CHAINS.services) {
        if (r.includes(`-j ${CHAINS.nodePorts}`)) groups.static++;
        else groups.clusterIP++;
      } else if (c.name.startsWith('SVP-SEP-')) groups.sep++;
      else if (c.name.startsWith('SVP-SVC-') || c.name.startsWith('SVP-SVL-')) {
        if (r.endsWith(`-j ${CHAINS.markMasq}`)) groups.masq++;
        else if (r.includes('-j SVP-SEP-')) groups.jump++;
        else groups.other++;
      } else groups.other++;
    }
  }
  const count = (cs: readonly { rules: string[] }[]) => cs.reduce((a, c) => a + c.rules.length, 0);
  const v6 = tables.find((t) => t.family === 'IPv6');
  return {
    services,
    endpointsPerService,
    total: count(v4.nat),
    kubeProxy: kubeProxyNatRules(services, endpointsPerService),
    chains: v4.nat.length,
    groups,
    filterV4: count(v4.filter),
    ipv6: v6 ? count(v6.filter) + count(v6.nat) : 0,
  };
}
