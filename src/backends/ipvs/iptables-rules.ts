// The iptables rules IPVS mode needs beside IPVS itself. They are static: they
// never name a Service, only our ipsets, so a Service change never touches them.
//
// IPVS takes packets at LOCAL_IN after the filter INPUT chain, so the firewall,
// the REJECT for Services without endpoints and the DROP for Local policies
// without local endpoints all live in filter INPUT, before IPVS sees the packet.
// The node's own connections meet IPVS at LOCAL_OUT (priority -99), before filter
// OUTPUT and with the destination already rewritten after it, so the
// loadBalancerSourceRanges firewall for them sits in mangle OUTPUT (-150), which
// still sees the load-balancer IP: the node reaching a firewalled LB IP is judged
// by the same sets as anyone else, as in kube-proxy's nftables mode (its IPVS mode
// only drops the VIP-as-source case, per Service, with `-m ipvs --vaddr`).
//
// Rules are written exactly as iptables-save prints them (`-p` first, MARK as
// --set-xmark) so that apply can compare them with what the kernel holds and skip
// the restore when nothing changed (checked against the real tools in
// test/e2e/ipvs-vm.test.ts).

import type { IPFamily } from '../../model/ip.js';
import type { LocalTrafficMatch } from '../../model/service-ports.js';
import { parseSavedChains } from '../iptables/document.js';
import type { BuiltinJump } from '../iptables/render.js';
import { setName, type SetKey } from './sets.js';

export interface HelperRuleOptions {
  readonly family: IPFamily;
  readonly masqMark: number;
  readonly masqueradeAll: boolean;
  readonly local: LocalTrafficMatch;
}

/** The tables our rules live in, in the order the document holds them (and apply and check read them). */
export const TABLES = ['mangle', 'nat', 'filter'] as const;
export type HelperTable = (typeof TABLES)[number];

/** Built-in chains we hook into: [table, built-in chain, our chain]. Ensured at apply, never flushed. */
export const HOOKS: readonly (readonly [HelperTable, string, string])[] = [
  ['mangle', 'OUTPUT', 'SVP-OUTPUT-FIREWALL'],
  ['nat', 'PREROUTING', 'SVP-SERVICES'],
  ['nat', 'OUTPUT', 'SVP-SERVICES'],
  ['nat', 'POSTROUTING', 'SVP-POSTROUTING'],
  ['filter', 'INPUT', 'SVP-INPUT'],
];

/** HOOKS as the iptables backend's jumps: its runner checks (-C) and inserts (-I … 1) them. */
export const HOOK_JUMPS: readonly BuiltinJump[] = HOOKS.map(([table, chain, target]) => ({
  table,
  chain,
  rule: ['-m', 'comment', '--comment', 'svcplane', '-j', target],
}));

/** Our chains of one family's rendered helper rules, per table, as iptables-save would print them back. */
export type HelperChains = Record<HelperTable, Map<string, string[]>>;

export function helperChains(rendered: string): HelperChains {
  return { mangle: parseSavedChains(rendered, 'mangle'), nat: parseSavedChains(rendered, 'nat'), filter: parseSavedChains(rendered, 'filter') };
}

const PROTOS = ['tcp', 'udp', 'sctp'] as const;

/** `! -s CIDR` style matches for traffic that does not come from a pod; [] when nothing is known. */
function notFromPod(local: LocalTrafficMatch): string[][] {
  switch (local.kind) {
    case 'none':
      return [];
    case 'cidrs':
      // iptables has no "not in any of": one rule per CIDR would be wrong, so a
      // single CIDR is negated, several go through a RETURN chain (below).
      return local.cidrs.length === 1 ? [[`! -s ${local.cidrs[0]}`]] : [];
    case 'interface':
      return [[`! -i ${local.name}`]];
    case 'interface-prefix':
      return [[`! -i ${local.prefix}+`]];
  }
}

export function helperRules(o: HelperRuleOptions): string {
  const s = (k: SetKey) => setName(o.family, k);
  const mark = `0x${o.masqMark.toString(16)}`;
  const reject = o.family === 'IPv4' ? 'REJECT --reject-with icmp-port-unreachable' : 'REJECT --reject-with icmp6-port-unreachable';
  // Destination a firewalled LB IP:port, source in none of its allowed ranges or addresses.
  // LOAD-BALANCER-FW counts the drops per LB IP:port (sets.ts): a set match updates the
  // element's counters whenever it finds the element, whatever the rule then does, so the
  // first test (the cheap filter for every packet) does not count, and a second one,
  // reached only by packets the rule drops, does.
  const fw = s('loadBalancerFW');
  const notAllowed = (chain: string) =>
    `-A ${chain} -m comment --comment "source not in loadBalancerSourceRanges" -m set --match-set ${fw} dst,dst ! --update-counters -m set ! --match-set ${s('loadBalancerSourceCIDR')} dst,dst,src -m set ! --match-set ${s('loadBalancerSourceIP')} dst,dst,src -m set --match-set ${fw} dst,dst -j DROP`;
  const mangle: string[] = ['*mangle', ':SVP-OUTPUT-FIREWALL - [0:0]', notAllowed('SVP-OUTPUT-FIREWALL'), 'COMMIT'];
  const nat: string[] = [
    '*nat',
    ':SVP-SERVICES - [0:0]',
    ':SVP-POSTROUTING - [0:0]',
    ':SVP-MARK-MASQ - [0:0]',
    ':SVP-CLUSTER-IP - [0:0]',
    ':SVP-LOAD-BALANCER - [0:0]',
    ':SVP-NODE-PORT - [0:0]',
    `-A SVP-MARK-MASQ -j MARK --set-xmark ${mark}/${mark}`,
    `-A SVP-POSTROUTING -m comment --comment "hairpin: a pod reaching itself" -m set --match-set ${s('loopBack')} dst,dst,src -j MASQUERADE --random-fully`,
    `-A SVP-POSTROUTING -m mark ! --mark ${mark}/${mark} -j RETURN`,
    `-A SVP-POSTROUTING -j MARK --set-xmark ${mark}/0x0`,
    `-A SVP-POSTROUTING -j MASQUERADE --random-fully`,
    `-A SVP-SERVICES -m set --match-set ${s('clusterIP')} dst,dst -j SVP-CLUSTER-IP`,
    `-A SVP-SERVICES -m set --match-set ${s('loadBalancer')} dst,dst -j SVP-LOAD-BALANCER`,
    `-A SVP-SERVICES -m comment --comment "external IPs, Cluster policy" -m set --match-set ${s('externalIP')} dst,dst -j SVP-MARK-MASQ`,
    `-A SVP-SERVICES -m addrtype --dst-type LOCAL -j SVP-NODE-PORT`,
    `-A SVP-LOAD-BALANCER -m comment --comment "Local policy keeps the client address" -m set --match-set ${s('loadBalancerLocal')} dst,dst -j RETURN`,
    `-A SVP-LOAD-BALANCER -j SVP-MARK-MASQ`,
  ];
  // ClusterIP traffic that does not come from a pod is masqueraded (all of it with masqueradeAll).
  if (o.masqueradeAll) {
    nat.push('-A SVP-CLUSTER-IP -j SVP-MARK-MASQ');
  } else if (o.local.kind === 'cidrs' && o.local.cidrs.length > 1) {
    for (const c of o.local.cidrs) nat.push(`-A SVP-CLUSTER-IP -s ${c} -j RETURN`);
    nat.push('-A SVP-CLUSTER-IP -j SVP-MARK-MASQ');
  } else {
    for (const m of notFromPod(o.local)) nat.push(`-A SVP-CLUSTER-IP ${m.join(' ')} -j SVP-MARK-MASQ`);
  }
  for (const p of PROTOS) {
    const P = p.toUpperCase() as 'TCP' | 'UDP' | 'SCTP';
    nat.push(`-A SVP-NODE-PORT -p ${p} -m set --match-set ${s(`nodePortLocal${P}`)} dst -j RETURN`);
    nat.push(`-A SVP-NODE-PORT -p ${p} -m set --match-set ${s(`nodePort${P}`)} dst -j SVP-MARK-MASQ`);
  }
  nat.push('COMMIT');

  const newConn = '-m conntrack --ctstate NEW';
  const filter: string[] = [
    '*filter',
    ':SVP-INPUT - [0:0]',
    notAllowed('SVP-INPUT'),
    `-A SVP-INPUT -m comment --comment "no endpoint anywhere" ${newConn} -m set --match-set ${s('noEndpoints')} dst,dst -j ${reject}`,
    `-A SVP-INPUT -m comment --comment "Local policy, no endpoint on this node" ${newConn} -m addrtype ! --src-type LOCAL -m set --match-set ${s('noLocalEndpoints')} dst,dst -j DROP`,
  ];
  for (const p of PROTOS) {
    const P = p.toUpperCase() as 'TCP' | 'UDP' | 'SCTP';
    filter.push(`-A SVP-INPUT -p ${p} -m comment --comment "node port, no endpoint anywhere" ${newConn} -m addrtype --dst-type LOCAL -m set --match-set ${s(`noEndpointsNodePort${P}`)} dst -j ${reject}`);
    filter.push(`-A SVP-INPUT -p ${p} -m comment --comment "node port, Local policy, no endpoint here" ${newConn} -m addrtype --dst-type LOCAL -m addrtype ! --src-type LOCAL -m set --match-set ${s(`noLocalEndpointsNodePort${P}`)} dst -j DROP`);
  }
  filter.push(
    `-A SVP-INPUT -p tcp -m comment --comment "health check node ports" -m set --match-set ${s('healthCheckNodePort')} dst -j ACCEPT`,
    ...(['clusterIP', 'loadBalancer', 'externalIP', 'externalIPLocal'] as const).map(
      (k) => `-A SVP-INPUT -m set --match-set ${s(k)} dst,dst -j RETURN`,
    ),
    `-A SVP-INPUT -m comment --comment "a Service address on a port it does not serve" ${newConn} -m set --match-set ${s('ipvsIPs')} dst -j ${reject}`,
    'COMMIT',
  );
  return [...mangle, ...nat, ...filter].join('\n') + '\n';
}
