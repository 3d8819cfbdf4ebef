// RenderInput -> the iptables chains of one IP family (filter and nat), with
// kube-proxy's (v1.33) iptables-mode semantics. See README.md in this folder for
// the packet path. Pure: same input, same chains, same order.
//
// Every endpoint and policy decision comes from src/model/service-ports.ts; this
// file only writes those decisions as iptables rules.
//
// Every rule that belongs to a Service carries a comment that starts with
// `namespace/name:port`: that is how apply recognises a Service's rules in the
// kernel when it must leave them as they are (preserve.ts).

import type { IPFamily } from '../../model/ip.js';
import type { RenderInput } from '../../model/render-input.js';
import {
  dnatTargets, localTrafficMatch, nodePortAddresses, servicePortLabel, servicePortViews,
  type EndpointTarget, type LocalTrafficMatch, type ServicePortView,
} from '../../model/service-ports.js';
import { firewallSources, primaryNodeIP } from '../lb-firewall.js';
import { CHAINS, clusterChain, endpointChain, externalChain, firewallChain, localChain } from './names.js';
import { dnatTarget, markMatch, randomMatch, recentMask, rejectTarget, ruleLine, type RuleSpec } from './rule.js';

export interface IptChain {
  readonly name: string;
  readonly rules: string[];
}

/** The chains we own in one family's filter and nat tables, in render order. */
export interface IptTables {
  readonly family: IPFamily;
  readonly filter: IptChain[];
  readonly nat: IptChain[];
}

export type TableName = 'filter' | 'nat';
/** Every table a chain of ours can live in: IPVS mode's helper rules also use mangle. */
export type AnyTable = TableName | 'mangle';

/** A jump from a built-in chain to ours; apply ensures these, render lists them. */
export interface BuiltinJump {
  readonly table: AnyTable;
  readonly chain: string;
  readonly rule: readonly string[];
}

const JUMP_COMMENT = 'svcplane';

/**
 * The jumps from the built-in chains, as `iptables -t TABLE -I CHAIN …` arguments after the
 * chain, in the order apply inserts them (each with a command of its own, after the restore
 * that wrote our chains): the jumps that DNAT (nat PREROUTING and OUTPUT) come last. When
 * they are all missing (someone flushed the tables), every state in between is then safe:
 * nothing is DNATed until masquerading and the filter chains are in place. DNAT first
 * would, for that moment, send hairpin and NodePort connections to remote endpoints
 * without masquerading, and their replies would bypass the node that DNATed them (seen in
 * the cluster faults test: such connections timed out right after a flushed node's repair).
 * Removal goes in the reverse order.
 */
export const BUILTIN_JUMPS: readonly BuiltinJump[] = [
  { table: 'nat', chain: 'POSTROUTING', rule: ['-m', 'comment', '--comment', `${JUMP_COMMENT} postrouting rules`, '-j', CHAINS.postrouting] },
  { table: 'filter', chain: 'INPUT', rule: ['-m', 'comment', '--comment', `${JUMP_COMMENT} input rules`, '-j', CHAINS.input] },
  { table: 'filter', chain: 'FORWARD', rule: ['-m', 'comment', '--comment', `${JUMP_COMMENT} forward rules`, '-j', CHAINS.forward] },
  { table: 'filter', chain: 'OUTPUT', rule: ['-m', 'comment', '--comment', `${JUMP_COMMENT} output rules`, '-j', CHAINS.output] },
  { table: 'nat', chain: 'PREROUTING', rule: ['-m', 'comment', '--comment', `${JUMP_COMMENT} service portals`, '-j', CHAINS.services] },
  { table: 'nat', chain: 'OUTPUT', rule: ['-m', 'comment', '--comment', `${JUMP_COMMENT} service portals`, '-j', CHAINS.services] },
];

const DEFAULT_MASQ_BIT = 14;

export interface Ctx {
  readonly family: IPFamily;
  readonly masqMark: number;
  readonly local: LocalTrafficMatch;
  readonly masqueradeAll: boolean;
  /** The node's primary address of this family ('' when unknown): decides the LB firewall's implicit allowance. */
  readonly nodeIP: string;
  /** NodePorts answer on 127.0.0.1 in this family (localhostNodePorts below). */
  readonly localhostNodePorts: boolean;
}

/** Collects rules per chain, keeping the order in which chains were first named. */
export class Table {
  private readonly chains = new Map<string, string[]>();
  chain(name: string): void {
    if (!this.chains.has(name)) this.chains.set(name, []);
  }
  add(chain: string, r: RuleSpec): void {
    // One lookup per rule (10^5 per render at 10k Services), not has + set + get.
    let rules = this.chains.get(chain);
    if (rules === undefined) this.chains.set(chain, (rules = []));
    rules.push(ruleLine(chain, r));
  }
  /** Each chain, in the order first named, with its rules as added (not copies: for a caller that drops the table next). */
  forEachChain(fn: (name: string, rules: readonly string[]) => void): void {
    for (const [name, rules] of this.chains) fn(name, rules);
  }
  list(): IptChain[] {
    // Copies of exact length: a pushed-to array keeps room for 17 or more elements, and the
    // syncer keeps every chain's array between syncs (110k chains at 10k Services: ~12 MB).
    return [...this.chains].map(([name, rules]) => ({ name, rules: rules.slice() }));
  }
}

/**
 * The local-traffic detector as a rule fragment: pod traffic (`local`) or not.
 * undefined when the detector is off. kube-proxy's detector holds one CIDR per
 * family; with several, the first is used.
 */
function localSpec(ctx: Ctx, local: boolean): Partial<RuleSpec> | undefined {
  const l = ctx.local;
  switch (l.kind) {
    case 'none':
      return undefined;
    case 'cidrs':
      return { src: l.cidrs[0]!, notSrc: !local };
    case 'interface':
      return { inIface: l.name, notInIface: !local };
    case 'interface-prefix':
      return { inIface: `${l.prefix}+`, notInIface: !local };
  }
}

export function skeleton(input: RenderInput, ctx: Ctx, filter: Table, nat: Table): void {
  const f = ctx.family;
  const newState = '-m conntrack --ctstate NEW';
  // filter: our own entry chains, jumped to from INPUT, FORWARD and OUTPUT.
  filter.add(CHAINS.input, { comment: 'load balancer firewall', matches: [newState], target: `-j ${CHAINS.proxyFirewall}` });
  filter.add(CHAINS.input, { comment: 'health check service ports', target: `-j ${CHAINS.nodePorts}` });
  filter.add(CHAINS.input, { comment: 'externally-visible service portals', matches: [newState], target: `-j ${CHAINS.externalServices}` });
  filter.add(CHAINS.input, { target: `-j ${CHAINS.firewall}` });
  filter.add(CHAINS.forward, { comment: 'load balancer firewall', matches: [newState], target: `-j ${CHAINS.proxyFirewall}` });
  // kube-proxy drops INVALID (out-of-window) packets, which would otherwise reach the pod
  // un-DNATed and reset the connection, unless the node's conntrack is TCP-liberal.
  if (!input.node.conntrackTCPBeLiberal) filter.add(CHAINS.forward, { matches: ['-m conntrack --ctstate INVALID'], target: '-j DROP' });
  filter.add(CHAINS.forward, { comment: 'forwarding rules', matches: [markMatch(ctx.masqMark)], target: '-j ACCEPT' });
  filter.add(CHAINS.forward, { comment: 'forwarding conntrack rule', matches: ['-m conntrack --ctstate RELATED,ESTABLISHED'], target: '-j ACCEPT' });
  filter.add(CHAINS.forward, { comment: 'service portals', matches: [newState], target: `-j ${CHAINS.services}` });
  filter.add(CHAINS.forward, { comment: 'externally-visible service portals', matches: [newState], target: `-j ${CHAINS.externalServices}` });
  filter.add(CHAINS.output, { comment: 'load balancer firewall', matches: [newState], target: `-j ${CHAINS.proxyFirewall}` });
  filter.add(CHAINS.output, { comment: 'service portals', matches: [newState], target: `-j ${CHAINS.services}` });
  filter.add(CHAINS.output, { target: `-j ${CHAINS.firewall}` });
  for (const c of [CHAINS.services, CHAINS.externalServices, CHAINS.nodePorts, CHAINS.proxyFirewall, CHAINS.firewall]) filter.chain(c);
  if (localhostNodePorts(input, f)) {
    // 127.0.0.1 is routable (route_localnet): refuse connections to it from outside the node.
    filter.add(CHAINS.firewall, {
      src: '127.0.0.0/8', notSrc: true, dst: '127.0.0.0/8', comment: 'block incoming localnet connections',
      matches: ['-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT'], target: '-j DROP',
    });
  }

  // nat
  nat.chain(CHAINS.services);
  nat.chain(CHAINS.nodePorts);
  nat.add(CHAINS.postrouting, { matches: [markMatch(ctx.masqMark, true)], target: '-j RETURN' });
  // Clear the mark so a packet re-traversing the rules (e.g. over a tunnel) is not masqueraded twice.
  nat.add(CHAINS.postrouting, { target: `-j MARK --set-xmark 0x${ctx.masqMark.toString(16)}/0x0` });
  nat.add(CHAINS.postrouting, { comment: 'service traffic requiring SNAT', target: '-j MASQUERADE --random-fully' });
  nat.add(CHAINS.markMasq, { target: `-j MARK --set-xmark 0x${ctx.masqMark.toString(16)}/0x${ctx.masqMark.toString(16)}` });
}

/** NodePorts answer on 127.0.0.1 (IPv4 only; needs route_localnet), as kube-proxy's iptables mode. */
export function localhostNodePorts(input: RenderInput, family: IPFamily): boolean {
  return family === 'IPv4' && input.config.localhostNodePorts && nodePortAddresses(input.node, input.config, family, 'all').all;
}

/** The last rule of nat SVP-SERVICES: node addresses go on to the NodePorts. */
export function nodePortsTail(input: RenderInput, ctx: Ctx, nat: Table): void {
  const comment = 'service nodeports; NOTE: this must be the last rule in this chain';
  const np = nodePortAddresses(input.node, input.config, ctx.family, 'all');
  if (np.all) {
    const matches = ['-m addrtype --dst-type LOCAL'];
    if (ctx.family === 'IPv6') nat.add(CHAINS.services, { dst: '::1/128', notDst: true, comment, matches, target: `-j ${CHAINS.nodePorts}` });
    else if (!input.config.localhostNodePorts) nat.add(CHAINS.services, { dst: '127.0.0.0/8', notDst: true, comment, matches, target: `-j ${CHAINS.nodePorts}` });
    else nat.add(CHAINS.services, { comment, matches, target: `-j ${CHAINS.nodePorts}` });
    return;
  }
  for (const ip of np.ips) nat.add(CHAINS.services, { dst: ip, comment, target: `-j ${CHAINS.nodePorts}` });
}

/** Endpoint i of n is taken with probability 1/(n-i) among those left: 1/n each overall. */
function endpointRules(v: ServicePortView, chain: string, eps: readonly EndpointTarget[], label: string, nat: Table): void {
  nat.chain(chain);
  if (v.affinitySeconds > 0) {
    for (const ep of eps) {
      const sep = endpointChain(v, ep.ip, ep.port);
      nat.add(chain, {
        comment: `${label} -> ${dnatTarget(ep.ip, ep.port)}`,
        matches: [`-m recent --rcheck --seconds ${v.affinitySeconds} --reap --name ${sep} --mask ${recentMask(v.family)} --rsource`],
        target: `-j ${sep}`,
      });
    }
  }
  eps.forEach((ep, i) => {
    const left = eps.length - i;
    nat.add(chain, {
      comment: `${label} -> ${dnatTarget(ep.ip, ep.port)}`,
      matches: left > 1 ? [randomMatch(left)] : [],
      target: `-j ${endpointChain(v, ep.ip, ep.port)}`,
    });
  });
}

/** A value computed on first use, then kept. */
function once(make: () => string): () => string {
  let value: string | undefined;
  return () => (value ??= make());
}

export function servicePort(v: ServicePortView, ctx: Ctx, filter: Table, nat: Table): void {
  const f = ctx.family;
  const label = servicePortLabel(v);
  const proto = v.protocol.toLowerCase();
  // A rule to one of the port's addresses, as one object literal: cloned from a spread and added to
  // (`{ ...vip(ip), comment, target }`), each was several times larger, one per Service address at 44k Services.
  const vipRule = (dst: string, comment: string, target: string): RuleSpec => ({ dst, proto, dport: v.port, comment, target });

  // Each name is a sha256: hash only those this port uses (a ClusterIP port needs one of four).
  const svcChain = once(() => clusterChain(v));
  const svlChain = once(() => localChain(v));
  const extChain = once(() => externalChain(v));
  const fwChain = once(() => firewallChain(v));
  const usesClusterPolicy = v.clusterEndpoints.length > 0;
  const usesLocalPolicy = v.localEndpoints.length > 0;
  const internalChain = v.internalPolicyLocal ? svlChain : svcChain;
  const externalPolicyChain = v.externalPolicyLocal ? svlChain : svcChain;
  const usesExternal = v.hasEndpoints && v.externallyAccessible;
  const usesFirewall = v.hasEndpoints && v.loadBalancerIPs.length > 0 && v.sourceRanges.length > 0;
  const lbTarget = usesFirewall ? fwChain : extChain;

  // What filter does with traffic no nat rule DNATed.
  let internalFilter = '';
  let internalComment = '';
  let externalFilter = '';
  let externalComment = '';
  if (!v.hasEndpoints) {
    internalFilter = externalFilter = rejectTarget(f);
    internalComment = externalComment = `${label} has no endpoints`;
  } else {
    if (!v.hasInternalEndpoints) {
      internalFilter = '-j DROP';
      internalComment = `${label} has no local endpoints`;
    }
    if (!v.hasExternalEndpoints) {
      externalFilter = '-j DROP';
      externalComment = `${label} has no local endpoints`;
    }
  }

  // ClusterIP.
  if (v.hasInternalEndpoints) nat.add(CHAINS.services, vipRule(v.clusterIP, `${label} cluster IP`, `-j ${internalChain()}`));
  else filter.add(CHAINS.services, vipRule(v.clusterIP, internalComment, internalFilter));

  // External IPs.
  for (const ip of v.externalIPs) {
    if (v.hasEndpoints) nat.add(CHAINS.services, vipRule(ip, `${label} external IP`, `-j ${extChain()}`));
    if (!v.hasExternalEndpoints) filter.add(CHAINS.externalServices, vipRule(ip, externalComment, externalFilter));
  }

  // LoadBalancer IPs, and the source-range firewall: anything still addressed to the
  // LB IP after nat (not DNATed by the SVP-FW chain) is dropped in filter.
  for (const ip of v.loadBalancerIPs) {
    if (v.hasEndpoints) nat.add(CHAINS.services, vipRule(ip, `${label} loadbalancer IP`, `-j ${lbTarget()}`));
    if (usesFirewall) filter.add(CHAINS.proxyFirewall, vipRule(ip, `${label} traffic not accepted by ${fwChain()}`, '-j DROP'));
  }
  if (!v.hasExternalEndpoints) {
    for (const ip of v.loadBalancerIPs) filter.add(CHAINS.externalServices, vipRule(ip, externalComment, externalFilter));
  }

  // NodePort (not subject to loadBalancerSourceRanges, as in kube-proxy). Where NodePorts
  // answer on 127.0.0.1, a rule of their own takes the localhost connections first, only so
  // that its counter counts them (kube-proxy's localhost_nodeports_accepted metric,
  // kube-proxy-counters.ts); the next rule would send them to the same chain.
  if (v.nodePort !== 0) {
    if (v.hasEndpoints && ctx.localhostNodePorts) nat.add(CHAINS.nodePorts, { proto, dst: '127.0.0.0/8', comment: label, dport: v.nodePort, target: `-j ${extChain()}` });
    if (v.hasEndpoints) nat.add(CHAINS.nodePorts, { proto, comment: label, dport: v.nodePort, target: `-j ${extChain()}` });
    if (!v.hasExternalEndpoints) {
      filter.add(CHAINS.externalServices, { proto, comment: externalComment, matches: ['-m addrtype --dst-type LOCAL'], dport: v.nodePort, target: externalFilter });
    }
  }

  // The health check port is accepted whether or not this node has endpoints.
  if (v.healthCheckNodePort !== 0) {
    filter.add(CHAINS.nodePorts, { proto: 'tcp', comment: `${label} health check node port`, dport: v.healthCheckNodePort, target: '-j ACCEPT' });
  }

  // Internal traffic: masquerade what does not come from a pod (or everything).
  if (v.hasInternalEndpoints) {
    const base = vipRule(v.clusterIP, `${label} cluster IP`, `-j ${CHAINS.markMasq}`);
    const notPod = localSpec(ctx, false);
    if (ctx.masqueradeAll) nat.add(internalChain(), base);
    else if (notPod) nat.add(internalChain(), { ...base, ...notPod });
  }

  if (usesExternal) {
    nat.chain(extChain());
    if (!v.externalPolicyLocal) {
      // Endpoints may be on other nodes: masquerade so that replies come back through us.
      nat.add(extChain(), { comment: `${label} masquerade traffic for external destinations`, target: `-j ${CHAINS.markMasq}` });
    } else {
      // Pods reaching an external address are subject to neither policy (as if
      // they went out to the load balancer and came back in).
      const pod = localSpec(ctx, true);
      if (pod) nat.add(extChain(), { ...pod, comment: `${label} pod traffic for external destinations`, target: `-j ${svcChain()}` });
      // The node's own traffic has a node address as source: masquerade it, any endpoint will do.
      nat.add(extChain(), { comment: `${label} masquerade LOCAL traffic for external destinations`, matches: ['-m addrtype --src-type LOCAL'], target: `-j ${CHAINS.markMasq}` });
      nat.add(extChain(), { comment: `${label} route LOCAL traffic for external destinations`, matches: ['-m addrtype --src-type LOCAL'], target: `-j ${svcChain()}` });
    }
    if (v.hasExternalEndpoints) nat.add(extChain(), { comment: `${label} external destinations`, target: `-j ${externalPolicyChain()}` });
  }

  if (usesFirewall) {
    nat.chain(fwChain());
    const lb = `${label} loadbalancer IP`;
    // The ranges, then the LB IPs themselves when a range holds the node (lb-firewall.ts).
    for (const src of firewallSources(v, ctx.nodeIP)) nat.add(fwChain(), { src, comment: lb, target: `-j ${extChain()}` });
    nat.add(fwChain(), { comment: `${label} other traffic will be dropped by ${CHAINS.proxyFirewall}`, target: '-j RETURN' });
  }

  if (usesClusterPolicy) endpointRules(v, svcChain(), v.clusterEndpoints, label, nat);
  if (usesLocalPolicy) endpointRules(v, svlChain(), v.localEndpoints, label, nat);

  // One chain per endpoint reachable from this node: hairpin masquerade, affinity, DNAT.
  for (const ep of dnatTargets(v)) {
    const sep = endpointChain(v, ep.ip, ep.port);
    nat.add(sep, { src: ep.ip, comment: label, target: `-j ${CHAINS.markMasq}` });
    const recent = v.affinitySeconds > 0 ? [`-m recent --set --name ${sep} --mask ${recentMask(f)} --rsource`] : [];
    nat.add(sep, { proto, comment: label, matches: recent, target: `-j DNAT --to-destination ${dnatTarget(ep.ip, ep.port)}` });
  }
}

/** The chains of one family. A family with no Service still gets its skeleton, so stale rules go away. */
export function renderFamily(input: RenderInput, family: IPFamily): IptTables {
  const ctx = familyContext(input, family);
  const filter = new Table();
  const nat = new Table();
  skeleton(input, ctx, filter, nat);
  for (const v of servicePortViews(input, family)) servicePort(v, ctx, filter, nat);
  nodePortsTail(input, ctx, nat);
  return { family, filter: filter.list(), nat: nat.list() };
}

/** What every rule of one family depends on besides its Service (syncer.ts caches per Service under it). */
export function familyContext(input: RenderInput, family: IPFamily): Ctx {
  return {
    family,
    masqMark: 2 ** (input.config.masqueradeBit ?? DEFAULT_MASQ_BIT), // 2 ** 31 stays positive, unlike 1 << 31
    local: localTrafficMatch(input.config, input.node, family),
    masqueradeAll: input.config.masqueradeAll,
    nodeIP: primaryNodeIP(input.node, { family }),
    localhostNodePorts: localhostNodePorts(input, family),
  };
}

export function renderIptables(input: RenderInput): IptTables[] {
  return [renderFamily(input, 'IPv4'), renderFamily(input, 'IPv6')];
}
