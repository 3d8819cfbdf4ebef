// RenderInput -> per IP family, a main table (`ip svcplane`, `ip6 svcplane`) and
// SHARD_COUNT shard tables (`ip svcplane-00` ... `svcplane-0f`) that hold the
// Services' DNAT chains. See README.md in this folder for the packet path. Pure:
// same input, same tables.
//
// Layout, chosen to scale: static base chains dispatch through named verdict maps
// keyed by `daddr . l4proto . dport`, so a packet's lookup cost does not grow
// with the number of Services; per-Service and per-endpoint chains do the rest.
// No anonymous sets or maps anywhere: the kernel's cost for those grows
// quadratically with their number in one table (see NOTES-datapath.md).
//
// Why shards: when a transaction adds a rule with a DNAT, a jump or a meta match,
// the kernel re-validates every chain reachable from the table's base chains
// (nf_tables_validate, through every verdict-map element). At 10k Services in one
// table that walk costs ~60-80 ms for any endpoint change; spread over 16 tables it
// walks one sixteenth. Each shard has its own nat base chains and dispatch maps;
// a Service's chains and dispatch elements live in the shard its namespace/name
// hashes to, everything else (filters, masquerading) in the main table.

import { hash } from 'node:crypto';
import type { IPFamily } from '../../model/ip.js';
import { dnatTargets, nodePortAddresses, localTrafficMatch, serviceCIDRsOf, servicePortLabel, servicePortViews, type EndpointTarget, type LocalTrafficMatch, type ServicePortView } from '../../model/service-ports.js';
import type { RenderInput } from '../../model/render-input.js';
import { cidrsOverlap, parseCIDR, type ParsedCIDR } from '../../model/ip.js';
import { firewallSources, primaryNodeIP } from '../lb-firewall.js';
import {
  addrValue, concat, counter, ctOriginal, ctStateNew, ctStatusDnat, daddr, dnat, dport, drop, fibLocal, goto, jump, l4proto, markAnd, masquerade, match, meta,
  numgenMod, reject, ret, saddr, serviceKey, setMark, thDport, updateSet, vmap,
  type Expr, type NftChain, type NftElement, type NftFamily, type NftRule, type NftSet, type NftTable,
} from './nft.js';
import { trafficComment } from '../traffic.js';
import { endpointTrafficElements, endpointTrafficRules, endpointTrafficSets } from './endpoint-traffic.js';

export const TABLE_NAME = 'svcplane';

/** How many shard tables per family hold the Services' DNAT chains. Changing it moves every Service. */
export const SHARD_COUNT = 16;

/** `svcplane-00` ... `svcplane-0f`. */
export function shardTableName(i: number): string {
  return `${TABLE_NAME}-${i.toString(16).padStart(2, '0')}`;
}

/** Every table of ours in one family: the main table, then the shards. */
export const TABLE_NAMES: readonly string[] = [TABLE_NAME, ...Array.from({ length: SHARD_COUNT }, (_, i) => shardTableName(i))];

/** The shard table of a Service: a stable hash of namespace/name, so a Service never moves. */
export function shardTableOf(namespace: string, name: string): string {
  // The first 4 bytes of sha256, big-endian (8 hex digits); crypto.hash needs no Hash object or Buffer per call.
  return shardTableName(parseInt(hash('sha256', `${namespace}/${name}`, 'hex').slice(0, 8), 16) % SHARD_COUNT);
}

/** Skeleton sets that live in each shard (dispatch); the other skeleton sets live in the main table. */
const SHARD_SETS: ReadonlySet<string> = new Set(['service-ips', 'service-nodeports']);

/** Chain and set names of the static skeleton. */
export const NFT_NAMES = {
  services: 'services',
  serviceIPs: 'service-ips',
  serviceNodePorts: 'service-nodeports',
  noEndpointServices: 'no-endpoint-services',
  noEndpointNodePorts: 'no-endpoint-nodeports',
  nodePortIPs: 'nodeport-ips',
  clusterIPs: 'cluster-ips',
  podCIDRs: 'pod-cidrs',
  firewallIPs: 'firewall-ips',
  firewallAllow: 'firewall-allow',
  serviceEndpointsCheck: 'service-endpoints-check',
  nodePortEndpointsCheck: 'nodeport-endpoints-check',
  firewallCheck: 'firewall-check',
  clusterIPsCheck: 'cluster-ips-check',
  markForMasquerade: 'mark-for-masquerade',
  masquerading: 'masquerading',
  rejectChain: 'reject-chain',
  hairpin: 'hairpin',
  serviceTraffic: 'service-traffic',
  nodePortTraffic: 'nodeport-traffic',
  countTraffic: 'count-traffic',
} as const;

/** Protocols a Service port can have: the traffic counters match each with its own rule (nft types `ct original proto-dst` from it). */
const PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;

export { trafficComment };

function familyOf(f: IPFamily): NftFamily {
  return f === 'IPv4' ? 'ip' : 'ip6';
}

function addrType(f: NftFamily): string {
  return f === 'ip' ? 'ipv4_addr' : 'ipv6_addr';
}

/** `ns/name/proto/port`: unique per Service port, readable in `nft list`. */
function portId(v: ServicePortView): string {
  return `${v.namespace}/${v.name}/${v.protocol.toLowerCase()}/${v.port}`;
}

export function clusterChainName(v: ServicePortView): string {
  return `svc-${portId(v)}`;
}
export function localChainName(v: ServicePortView): string {
  return `local-${portId(v)}`;
}
export function externalChainName(v: ServicePortView): string {
  return `ext-${portId(v)}`;
}
export function endpointChainName(v: ServicePortView, ep: EndpointTarget): string {
  return `ep-${portId(v)}__${ep.ip}/${ep.port}`;
}
export function affinitySetName(v: ServicePortView, ep: EndpointTarget): string {
  return `affinity-${portId(v)}__${ep.ip}/${ep.port}`;
}

/**
 * The Service (`namespace/name`) whose chain this is, read from the name the functions
 * above write (`PREFIX-ns/name/...`: no prefix holds a `-`, no namespace or name a `/`);
 * undefined for a skeleton chain. The streamed read-back finds a Service's chains by it.
 */
export function serviceOfChain(chain: string): string | undefined {
  const dash = chain.indexOf('-');
  const first = dash < 0 ? -1 : chain.indexOf('/', dash + 1);
  const second = first < 0 ? -1 : chain.indexOf('/', first + 1);
  return second < 0 ? undefined : chain.slice(dash + 1, second);
}

const MASQ_BIT_DEFAULT = 14;

export interface Ctx {
  readonly f: NftFamily;
  readonly masqMark: number;
  readonly local: LocalTrafficMatch;
  readonly masqueradeAll: boolean;
}

/** `<pod traffic>` (eq) or `<not pod traffic>` (ne) as expressions; [] when the detector is off. */
function localMatch(ctx: Ctx, op: '==' | '!='): Expr[] {
  const l = ctx.local;
  switch (l.kind) {
    case 'none':
      return [];
    case 'cidrs':
      return [match(saddr(ctx.f), op, `@${NFT_NAMES.podCIDRs}`)];
    case 'interface':
      return [match(meta('iifname'), op, l.name)];
    case 'interface-prefix':
      return [match(meta('iifname'), op, `${l.prefix}*`)];
  }
}

function chain(name: string, rules: NftRule[] = [], base?: NftChain['base']): NftChain {
  return base ? { name, base, rules } : { name, rules };
}

/**
 * The sources of one load-balancer IP's allow list with none inside another: the
 * allow set is an interval set, and nft refuses overlapping intervals ("File
 * exists"), e.g. a load-balancer IP inside a source range, 0.0.0.0/0, or 10.0.0.0/8 with
 * 10.1.0.0/16, all valid in a Service. Dropping the inner ones matches the same sources.
 */
function outermostSources(sources: readonly string[]): string[] {
  const asCIDR = (s: string): ParsedCIDR => parseCIDR(s.includes('/') ? s : `${s}/${s.includes(':') ? 128 : 32}`)!;
  const all = sources.map((s) => ({ s, c: asCIDR(s) }));
  return all
    .filter(({ c }, i) => !all.some((o, j) => cidrsOverlap(o.c, c) && (o.c.prefix < c.prefix || (o.c.prefix === c.prefix && j < i))))
    .map(({ s }) => s);
}

function rule(expr: Expr[], comment?: string): NftRule {
  return comment ? { expr, comment } : { expr };
}

/** Matches a destination that is a node port address (the node's chosen addresses, or any local one). */
function nodePortMatch(f: NftFamily, nodePortsAll: boolean): Expr[] {
  return nodePortsAll
    ? [fibLocal('daddr'), match(daddr(f), '!=', addrValue(f === 'ip' ? '127.0.0.0/8' : '::1/128'))]
    : [match(daddr(f), '==', `@${NFT_NAMES.nodePortIPs}`)];
}

const newJump = (target: string) => rule([ctStateNew(), jump(target)]);
/** Every packet of a DNATed connection, after DNAT, goes through the traffic counters once. */
const countJump = (): NftRule => rule([ctStatusDnat(), jump(NFT_NAMES.countTraffic)]);

/**
 * Counts every packet of a Service's connections (both directions) on its elements
 * in `service-traffic` (by the connection's original address . proto . port) or
 * `nodeport-traffic` (proto . node port). Runs after DNAT (prio -90) in prerouting
 * and output: each packet passes exactly one of them (a loopback packet passes
 * both, hence the `lo` exclusion in prerouting). Verdicts: none.
 */
function countTrafficChain(f: NftFamily): NftChain {
  const rules: NftRule[] = [];
  // Per endpoint first (endpoint-traffic.ts): the per-Service rule returns once it matched.
  for (const p of PROTOCOLS) {
    rules.push(endpointTrafficRules(f, p).service);
    rules.push(rule([l4proto(p), match(concat(ctOriginal(f, 'daddr'), meta('l4proto'), ctOriginal(f, 'proto-dst')), '==', `@${NFT_NAMES.serviceTraffic}`), ret()]));
  }
  for (const p of PROTOCOLS) {
    rules.push(rule([l4proto(p), match(concat(meta('l4proto'), ctOriginal(f, 'proto-dst')), '==', `@${NFT_NAMES.nodePortTraffic}`)]));
    rules.push(endpointTrafficRules(f, p).nodePort);
  }
  return chain(NFT_NAMES.countTraffic, rules);
}

/** The main table's chains: filters around DNAT, and masquerading. */
function mainChains(ctx: Ctx, nodePortsAll: boolean): NftChain[] {
  const f = ctx.f;
  return [
    // Base chains: filter hooks run just before (-110) and after (-90) DNAT (-100, in the shards).
    chain('filter-prerouting', [newJump(NFT_NAMES.firewallCheck)], { type: 'filter', hook: 'prerouting', prio: -110, policy: 'accept' }),
    chain('filter-input', [newJump(NFT_NAMES.nodePortEndpointsCheck), newJump(NFT_NAMES.serviceEndpointsCheck)], { type: 'filter', hook: 'input', prio: -110, policy: 'accept' }),
    chain('filter-forward', [newJump(NFT_NAMES.serviceEndpointsCheck), newJump(NFT_NAMES.clusterIPsCheck)], { type: 'filter', hook: 'forward', prio: -110, policy: 'accept' }),
    chain('filter-output', [newJump(NFT_NAMES.serviceEndpointsCheck), newJump(NFT_NAMES.firewallCheck)], { type: 'filter', hook: 'output', prio: -110, policy: 'accept' }),
    chain('filter-output-post-dnat', [newJump(NFT_NAMES.clusterIPsCheck), countJump()], { type: 'filter', hook: 'output', prio: -90, policy: 'accept' }),
    chain('filter-prerouting-post-dnat', [rule([ctStatusDnat(), match(meta('iifname'), '!=', 'lo'), jump(NFT_NAMES.countTraffic)])], { type: 'filter', hook: 'prerouting', prio: -90, policy: 'accept' }),
    chain(
      'nat-postrouting',
      [
        // A pod that reached itself through a Service must see a source other than its own.
        rule([ctStatusDnat(), match(concat(saddr(f), daddr(f)), '==', `@${NFT_NAMES.hairpin}`), jump(NFT_NAMES.markForMasquerade)], 'hairpin'),
        rule([jump(NFT_NAMES.masquerading)]),
      ],
      { type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' },
    ),
    // Regular chains of the skeleton.
    chain(NFT_NAMES.serviceEndpointsCheck, [rule([vmap(serviceKey(f), NFT_NAMES.noEndpointServices)])]),
    chain(NFT_NAMES.nodePortEndpointsCheck, [rule([...nodePortMatch(f, nodePortsAll), vmap(concat(meta('l4proto'), thDport()), NFT_NAMES.noEndpointNodePorts)])]),
    chain(NFT_NAMES.firewallCheck, [
      rule(
        [
          // Allowed sources first: the counter of a `firewall-ips` element then counts only the packets dropped.
          match(concat(daddr(f), meta('l4proto'), thDport(), saddr(f)), '!=', `@${NFT_NAMES.firewallAllow}`),
          match(serviceKey(f), '==', `@${NFT_NAMES.firewallIPs}`),
          drop(),
        ],
        'source not in loadBalancerSourceRanges',
      ),
    ]),
    chain(NFT_NAMES.clusterIPsCheck, []), // filled in by skeletonTables: needs the Service CIDRs
    chain(NFT_NAMES.markForMasquerade, [rule([setMark('|', ctx.masqMark)])]),
    chain(NFT_NAMES.masquerading, [
      rule([match(markAnd(ctx.masqMark), '==', 0), ret()]),
      rule([setMark('^', ctx.masqMark)]),
      rule([masquerade()]),
    ]),
    chain(NFT_NAMES.rejectChain, [rule([reject(f)])]),
    countTrafficChain(f),
  ];
}

/**
 * A shard's chains: DNAT dispatch at -100 in prerouting and output. Once one shard
 * DNATs a connection the kernel consults no further nat chain for it, so the
 * shards' order does not matter.
 */
function shardChains(ctx: Ctx, nodePortsAll: boolean): NftChain[] {
  const f = ctx.f;
  return [
    chain('nat-prerouting', [rule([jump(NFT_NAMES.services)])], { type: 'nat', hook: 'prerouting', prio: -100, policy: 'accept' }),
    chain('nat-output', [rule([jump(NFT_NAMES.services)])], { type: 'nat', hook: 'output', prio: -100, policy: 'accept' }),
    chain(NFT_NAMES.services, [
      rule([vmap(serviceKey(f), NFT_NAMES.serviceIPs)]),
      rule([...nodePortMatch(f, nodePortsAll), vmap(concat(meta('l4proto'), thDport()), NFT_NAMES.serviceNodePorts)]),
    ]),
    chain(NFT_NAMES.markForMasquerade, [rule([setMark('|', ctx.masqMark)])]),
  ];
}

function mainSets(f: NftFamily): NftSet[] {
  const a = addrType(f);
  const key3 = [a, 'inet_proto', 'inet_service'];
  return [
    { name: NFT_NAMES.clusterIPs, kind: 'set', type: a, elements: [] },
    { name: NFT_NAMES.nodePortIPs, kind: 'set', type: a, elements: [] },
    { name: NFT_NAMES.firewallIPs, kind: 'set', type: key3, counter: true, elements: [] },
    { name: NFT_NAMES.firewallAllow, kind: 'set', type: [...key3, a], flags: ['interval'], elements: [] },
    { name: NFT_NAMES.hairpin, kind: 'set', type: [a, a], elements: [] },
    { name: NFT_NAMES.noEndpointServices, kind: 'map', type: key3, map: 'verdict', counter: true, elements: [] },
    { name: NFT_NAMES.noEndpointNodePorts, kind: 'map', type: ['inet_proto', 'inet_service'], map: 'verdict', counter: true, elements: [] },
    { name: NFT_NAMES.serviceTraffic, kind: 'set', type: key3, counter: true, elements: [] },
    { name: NFT_NAMES.nodePortTraffic, kind: 'set', type: ['inet_proto', 'inet_service'], counter: true, elements: [] },
    ...endpointTrafficSets(f),
  ];
}

function shardSets(f: NftFamily): NftSet[] {
  const a = addrType(f);
  const key3 = [a, 'inet_proto', 'inet_service'];
  return [
    { name: NFT_NAMES.nodePortIPs, kind: 'set', type: a, elements: [] },
    { name: NFT_NAMES.podCIDRs, kind: 'set', type: a, flags: ['interval'], elements: [] },
    { name: NFT_NAMES.serviceIPs, kind: 'map', type: key3, map: 'verdict', counter: true, elements: [] },
    { name: NFT_NAMES.serviceNodePorts, kind: 'map', type: ['inet_proto', 'inet_service'], map: 'verdict', counter: true, elements: [] },
  ];
}

/**
 * The rules that spread new connections over endpoints. Endpoint i is taken with
 * probability 1/(n-i) among those left: 1/n each overall. Without affinity the
 * rule DNATs directly: no chain per endpoint, because nft reads every chain of
 * the table back before each transaction and 10^5 endpoint chains make a
 * one-element update cost a second (BENCHMARKS.md). With affinity each endpoint
 * needs its own chain to record the client (`update @affinity-…`).
 */
function loadBalanceRules(v: ServicePortView, eps: readonly EndpointTarget[]): NftRule[] {
  const rules: NftRule[] = [];
  const f = familyOf(v.family);
  const proto = v.protocol.toLowerCase();
  if (v.affinitySeconds > 0) {
    for (const ep of eps) {
      rules.push(rule([match(saddr(f), '==', `@${affinitySetName(v, ep)}`), goto(endpointChainName(v, ep))]));
    }
  }
  eps.forEach((ep, i) => {
    const left = eps.length - i;
    const pick = left > 1 ? [numgenMod(left, 0)] : [];
    // The DNAT rule's counter is the endpoint's new connections (nat sees a connection's first packet only).
    const action = v.affinitySeconds > 0 ? [goto(endpointChainName(v, ep))] : [l4proto(proto), counter(), dnat(ep.ip, ep.port)];
    rules.push(rule([...pick, ...action], `${ep.ip}:${ep.port}`));
  });
  return rules;
}

function verdictElement(key: unknown, value: Expr, comment: string): NftElement {
  return { key, value, comment };
}

/** What every fragment of one table shares: the family and the node/config facts. */
export interface TableContext {
  readonly family: IPFamily;
  readonly ctx: Ctx;
  /** The node's primary address of this family ('' when unknown): decides the LB firewall's implicit allowance. */
  readonly nodeIP: string;
}

export function tableContext(input: RenderInput, family: IPFamily): TableContext {
  return {
    family,
    ctx: {
      f: familyOf(family),
      masqMark: 2 ** (input.config.masqueradeBit ?? MASQ_BIT_DEFAULT), // 2 ** 31 stays positive, unlike 1 << 31
      local: localTrafficMatch(input.config, input.node, family),
      masqueradeAll: input.config.masqueradeAll,
    },
    nodeIP: primaryNodeIP(input.node, { family }),
  };
}

/**
 * Everything one Service port adds to a table: its chains, its affinity sets, and
 * its elements in the skeleton's sets and maps. Fragments are independent of each
 * other, so a sync can re-render only the Services that changed.
 */
export interface Fragment {
  /** The shard table that holds the chains and sets. */
  readonly table: string;
  readonly chains: readonly NftChain[];
  readonly sets: readonly NftSet[];
  /** Elements in skeleton sets, each with its table: the shard's dispatch maps, the main table's other sets. */
  readonly elements: readonly FragmentElement[];
}

export interface FragmentElement {
  readonly table: string;
  readonly set: string;
  readonly element: NftElement;
}

/**
 * The tables without any Service, main table first then the shards: base chains,
 * dispatch chains, sets with node and config facts.
 */
export function skeletonTables(input: RenderInput, tc: TableContext): NftTable[] {
  const { ctx } = tc;
  const f = ctx.f;
  const nodePorts = nodePortAddresses(input.node, input.config, tc.family);
  const fill = (sets: NftSet[]) => {
    for (const x of sets) {
      if (x.name === NFT_NAMES.podCIDRs && ctx.local.kind === 'cidrs') for (const c of ctx.local.cidrs) x.elements.push({ key: addrValue(c) });
      if (x.name === NFT_NAMES.nodePortIPs) for (const ip of nodePorts.ips) x.elements.push({ key: ip });
    }
    return sets;
  };

  const chains = mainChains(ctx, nodePorts.all);
  // Traffic to a Service CIDR that no rule DNATed: a port the ClusterIP does not
  // serve (REJECT), or an address no Service holds (DROP).
  const cipCheck = chains.find((c) => c.name === NFT_NAMES.clusterIPsCheck)!;
  cipCheck.rules.push(rule([match(daddr(f), '==', `@${NFT_NAMES.clusterIPs}`), reject(f)], 'port not served by this ClusterIP'));
  for (const cidr of serviceCIDRsOf(input, tc.family)) {
    cipCheck.rules.push(rule([match(daddr(f), '==', addrValue(cidr)), drop()], 'address not allocated to a Service'));
  }
  const main: NftTable = { family: f, name: TABLE_NAME, chains, sets: fill(mainSets(f)) };
  const shards = TABLE_NAMES.slice(1).map((name): NftTable => ({ family: f, name, chains: shardChains(ctx, nodePorts.all), sets: fill(shardSets(f)) }));
  return [main, ...shards];
}

/**
 * The fragment of one Service port. Pure. `whole` false leaves out what the text render
 * writes itself, per endpoint: the elements of the per-endpoint counted sets
 * (endpoint-traffic-text.ts), the hairpin elements and, without affinity, the policy
 * chains' load-balancing rules (dnat-text.ts); those chains then hold only their
 * masquerade rule, and render-text appends the rest.
 */
export function serviceFragment(v: ServicePortView, tc: TableContext, whole = true): Fragment {
  const { ctx } = tc;
  const f = ctx.f;
  const chains: NftChain[] = [];
  const sets: NftSet[] = [];
  const elements: FragmentElement[] = [];
  const table = shardTableOf(v.namespace, v.name);
  const add = (set: string, element: NftElement) => elements.push({ table: SHARD_SETS.has(set) ? table : TABLE_NAME, set, element });

  const label = servicePortLabel(v);
  const proto = v.protocol.toLowerCase();
  const key = (ip: string) => ({ concat: [ip, proto, v.port] });
  // The model leaves a policy's endpoints empty when no traffic of the port uses that policy.
  const usesClusterChain = v.clusterEndpoints.length > 0;
  const usesLocalChain = v.localEndpoints.length > 0;
  const internalChain = v.internalPolicyLocal ? localChainName(v) : clusterChainName(v);
  const externalPolicyChain = v.externalPolicyLocal ? localChainName(v) : clusterChainName(v);
  const usesExternalChain = v.hasEndpoints && v.externallyAccessible;

  let internalFilter: Expr | undefined;
  let externalFilter: Expr | undefined;
  if (!v.hasEndpoints) {
    internalFilter = goto(NFT_NAMES.rejectChain);
    externalFilter = goto(NFT_NAMES.rejectChain);
  } else {
    if (!v.hasInternalEndpoints) internalFilter = drop();
    if (!v.hasExternalEndpoints) externalFilter = drop();
  }

  add(NFT_NAMES.clusterIPs, { key: v.clusterIP, comment: `${v.namespace}/${v.name}` });
  const counted = trafficComment(v);
  for (const ip of [v.clusterIP, ...v.externalIPs, ...v.loadBalancerIPs]) add(NFT_NAMES.serviceTraffic, { key: key(ip), comment: counted });
  if (v.nodePort !== 0) add(NFT_NAMES.nodePortTraffic, { key: { concat: [proto, v.nodePort] }, comment: counted });
  if (whole) for (const e of endpointTrafficElements(v, counted)) add(e.set, e.element);
  if (v.hasInternalEndpoints) {
    add(NFT_NAMES.serviceIPs, verdictElement(key(v.clusterIP), goto(internalChain), `${label} cluster IP`));
  } else {
    add(NFT_NAMES.noEndpointServices, verdictElement(key(v.clusterIP), internalFilter!, `${label} cluster IP has no endpoints`));
  }
  for (const ip of v.externalIPs) {
    if (usesExternalChain) add(NFT_NAMES.serviceIPs, verdictElement(key(ip), goto(externalChainName(v)), `${label} external IP`));
    if (!v.hasExternalEndpoints) add(NFT_NAMES.noEndpointServices, verdictElement(key(ip), externalFilter!, `${label} external IP has no endpoints`));
  }
  for (const ip of v.loadBalancerIPs) {
    if (usesExternalChain) add(NFT_NAMES.serviceIPs, verdictElement(key(ip), goto(externalChainName(v)), `${label} load balancer IP`));
    if (!v.hasExternalEndpoints) add(NFT_NAMES.noEndpointServices, verdictElement(key(ip), externalFilter!, `${label} load balancer IP has no endpoints`));
    if (v.sourceRanges.length > 0) {
      add(NFT_NAMES.firewallIPs, { key: key(ip), comment: label });
      // Allowed: the source ranges, and the LB IPs themselves when a range holds the node (lb-firewall.ts).
      for (const src of outermostSources(firewallSources(v, tc.nodeIP))) {
        add(NFT_NAMES.firewallAllow, { key: { concat: [ip, proto, v.port, addrValue(src)] }, comment: label });
      }
    }
  }
  if (v.nodePort !== 0) {
    const npKey = { concat: [proto, v.nodePort] };
    if (usesExternalChain) add(NFT_NAMES.serviceNodePorts, verdictElement(npKey, goto(externalChainName(v)), `${label} node port`));
    if (!v.hasExternalEndpoints) add(NFT_NAMES.noEndpointNodePorts, verdictElement(npKey, externalFilter!, `${label} node port has no endpoints`));
  }

  // Masquerade internal traffic that does not come from a pod (or all of it).
  const internalRules: NftRule[] = [];
  if (v.hasInternalEndpoints) {
    const vipMatch = [match(daddr(f), '==', v.clusterIP), match(dport(proto), '==', v.port)];
    if (ctx.masqueradeAll) internalRules.push(rule([...vipMatch, jump(NFT_NAMES.markForMasquerade)], 'masqueradeAll'));
    else if (ctx.local.kind !== 'none') internalRules.push(rule([...vipMatch, ...localMatch(ctx, '!='), jump(NFT_NAMES.markForMasquerade)], 'not from a pod'));
  }

  if (usesExternalChain) {
    const ext: NftRule[] = [];
    if (!v.externalPolicyLocal) {
      // Endpoints may be on other nodes: masquerade so replies come back through us.
      ext.push(rule([jump(NFT_NAMES.markForMasquerade)]));
    } else {
      // Pods reaching an external address are not subject to the policy (as if
      // they went out to the load balancer and back in).
      const pod = localMatch(ctx, '==');
      if (pod.length) ext.push(rule([...pod, goto(clusterChainName(v))], 'short-circuit pod traffic'));
      // Traffic from the node itself has a node address as source: masquerade it and let it reach any endpoint.
      ext.push(rule([fibLocal('saddr'), jump(NFT_NAMES.markForMasquerade)], 'masquerade node traffic'));
      ext.push(rule([fibLocal('saddr'), goto(clusterChainName(v))], 'short-circuit node traffic'));
    }
    if (v.hasExternalEndpoints) ext.push(rule([goto(externalPolicyChain)]));
    chains.push(chain(externalChainName(v), ext));
  }

  const policyChain = (name: string, eps: readonly EndpointTarget[]) => {
    const rules = name === internalChain ? [...internalRules] : [];
    chains.push(chain(name, whole || v.affinitySeconds > 0 ? [...rules, ...loadBalanceRules(v, eps)] : rules));
  };
  if (usesClusterChain) policyChain(clusterChainName(v), v.clusterEndpoints);
  if (usesLocalChain) policyChain(localChainName(v), v.localEndpoints);

  for (const ep of dnatTargets(v)) {
    if (whole) add(NFT_NAMES.hairpin, { key: { concat: [ep.ip, ep.ip] } });
    if (v.affinitySeconds === 0) continue;
    const aff = affinitySetName(v, ep);
    sets.push({ name: aff, kind: 'set', type: addrType(f), flags: ['timeout'], timeout: v.affinitySeconds, size: 65535, dynamic: true, elements: [] });
    const name = endpointChainName(v, ep);
    chains.push(chain(name, [rule([updateSet(aff, saddr(f))]), rule([l4proto(proto), counter(), dnat(ep.ip, ep.port)], label)]));
  }
  return { table, chains, sets, elements };
}

/**
 * Skeleton tables plus fragments, as tables (elements deduplicated when written).
 * The main table always; a shard only when a Service lives in it, or when it is in
 * `keep` (it holds a Service whose rules are preserved as they are in the kernel).
 */
export function assembleTables(skeletons: readonly NftTable[], fragments: Iterable<Fragment>, keep: ReadonlySet<string> = new Set()): NftTable[] {
  const tables = skeletons.map((t) => ({ ...t, chains: [...t.chains], sets: t.sets.map((x) => ({ ...x, elements: [...x.elements] })) }));
  const byName = new Map(tables.map((t) => [t.name, { t, sets: new Map(t.sets.map((x) => [x.name, x])) }]));
  const used = new Set([TABLE_NAME]);
  for (const t of tables) if (keep.has(tableId(t))) used.add(t.name);
  for (const fr of fragments) {
    used.add(fr.table);
    const home = byName.get(fr.table)!.t;
    for (const c of fr.chains) home.chains.push(c);
    for (const x of fr.sets) home.sets.push(x);
    for (const e of fr.elements) byName.get(e.table)!.sets.get(e.set)!.elements.push(e.element);
  }
  return tables.filter((t) => used.has(t.name));
}

/** `family name`: how `keep` names a table. */
export function tableId(t: { family: NftFamily; name: string }): string {
  return `${t.family} ${t.name}`;
}

/**
 * The live shard tables that hold a preserved Service (namespace/name): they stay,
 * even when no other Service lives there, as `keep` for assembleTables.
 */
export function keptShards(preserve: Iterable<string>, live: readonly NftTable[]): Set<string> {
  const shards = new Set<string>();
  for (const k of preserve) {
    const slash = k.indexOf('/');
    shards.add(shardTableOf(k.slice(0, slash), k.slice(slash + 1)));
  }
  return new Set(live.filter((t) => shards.has(t.name)).map(tableId));
}

/** One family's tables: the main table, then the shards that hold a Service (or are kept). */
export function renderFamily(input: RenderInput, family: IPFamily, keep: ReadonlySet<string> = new Set()): NftTable[] {
  const tc = tableContext(input, family);
  return assembleTables(skeletonTables(input, tc), servicePortViews(input, family).map((v) => serviceFragment(v, tc)), keep);
}

/**
 * Every table; a family with no Service still gets its main table, so stale rules of
 * a removed family go away. `keep`: shard tables (tableId) that stay even when empty.
 */
export function renderTables(input: RenderInput, keep: ReadonlySet<string> = new Set()): NftTable[] {
  return [...renderFamily(input, 'IPv4', keep), ...renderFamily(input, 'IPv6', keep)];
}
