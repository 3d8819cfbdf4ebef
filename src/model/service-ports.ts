// The decisions every backend shares, made once: for each Service port and IP
// family, which addresses capture traffic and which endpoints each kind of traffic
// may reach on this node, following kube-proxy's (v1.33) CategorizeEndpoints and
// traffic-policy rules. Backends only turn these views into their own syntax.

import type { ProxyConfig } from './config.js';
import type { Endpoint, EndpointSliceInfo } from './endpoints.js';
import { canonicalCIDR, cidrContains, compareIPs, ipFamilyOf, parseCIDR, parseIP, parseV4Number, type IPFamily } from './ip.js';
import type { NodeContext } from './node.js';
import type { PlanService, Protocol } from './plan.js';
import { compareByNamespaceName } from './plan-constants.js';
import { proxiedServices, type RenderInput } from './render-input.js';

/** One endpoint as a DNAT target for one Service port. */
export interface EndpointTarget {
  readonly ip: string;
  readonly port: number;
  /** On this node (nodeName equals the node's name). */
  readonly local: boolean;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
}

export interface ServicePortView {
  readonly namespace: string;
  readonly name: string;
  /** The Service port's name; '' for a single unnamed port. */
  readonly portName: string;
  readonly protocol: Protocol;
  readonly family: IPFamily;
  readonly port: number;
  /** 0 when the port has none. */
  readonly nodePort: number;
  /** This family's ClusterIP. */
  readonly clusterIP: string;
  readonly externalIPs: readonly string[];
  /** LoadBalancer ingress IPs of this family in VIP mode (Proxy-mode IPs are not captured). */
  readonly loadBalancerIPs: readonly string[];
  /** This family's loadBalancerSourceRanges (empty: no firewall). */
  readonly sourceRanges: readonly string[];
  /** ClientIP affinity timeout in seconds; 0 without affinity. */
  readonly affinitySeconds: number;
  readonly internalPolicyLocal: boolean;
  readonly externalPolicyLocal: boolean;
  /** NodePort, LB IPs or external IPs exist: traffic can arrive from outside. */
  readonly externallyAccessible: boolean;
  /** healthCheckNodePort, 0 when none. */
  readonly healthCheckNodePort: number;
  /** Endpoints for "Cluster" policy (topology applied; terminating fallback; empty when no traffic uses Cluster policy). */
  readonly clusterEndpoints: readonly EndpointTarget[];
  /** Endpoints on this node for "Local" policy (empty when no policy is Local). */
  readonly localEndpoints: readonly EndpointTarget[];
  /**
   * Endpoints that are terminating but still serving, whether or not they are in
   * use (IPVS keeps them as weight-0 real servers so open connections drain).
   */
  readonly servingTerminatingEndpoints: readonly EndpointTarget[];
  /** Some usable endpoint exists anywhere in the cluster. */
  readonly hasEndpoints: boolean;
  /** Some endpoint reaches internal (ClusterIP) traffic from this node. */
  readonly hasInternalEndpoints: boolean;
  /** Some endpoint reaches external traffic that is not short-circuited. */
  readonly hasExternalEndpoints: boolean;
}

/** A readable identity for a Service port: `ns/name:port-name` or `ns/name:80/TCP` when unnamed. */
export function servicePortLabel(v: { namespace: string; name: string; portName: string; port: number; protocol: string }): string {
  return `${v.namespace}/${v.name}:${v.portName || `${v.port}/${v.protocol}`}`;
}

/** A numeric sort key for a canonical address; IPv4 without BigInt parsing (hot path at scale). */
function sortValue(ip: string): bigint | number {
  const v4 = parseV4Number(ip);
  if (v4 !== undefined) return v4;
  return parseIP(ip)!.value + (ip.includes(':') ? 1n << 128n : 0n); // IPv6 after every IPv4
}

/** Whether the targets are in dedupe's order already, each address and port after the one before (so none repeats). */
function strictlyAscending(targets: readonly EndpointTarget[]): boolean {
  let prev = sortValue(targets[0]!.ip);
  for (let i = 1; i < targets.length; i++) {
    const v = sortValue(targets[i]!.ip);
    if (v < prev || (v === prev && targets[i]!.port <= targets[i - 1]!.port)) return false;
    prev = v;
  }
  return true;
}

/**
 * The endpoints this node may DNAT a connection of the port to: the Cluster-policy ones,
 * then the Local-policy ones not among them, once per address and port. Every backend gives
 * each of them its own DNAT state (an endpoint chain, a hairpin element, a counted element).
 */
export function dnatTargets(v: Pick<ServicePortView, 'clusterEndpoints' | 'localEndpoints'>): readonly EndpointTarget[] {
  // Most ports use one policy: that list is deduplicated already (no key string per endpoint at 10^5 endpoints).
  if (v.localEndpoints.length === 0) return v.clusterEndpoints;
  if (v.clusterEndpoints.length === 0) return v.localEndpoints;
  const byKey = new Map<string, EndpointTarget>();
  for (const ep of [...v.clusterEndpoints, ...v.localEndpoints]) if (!byKey.has(`${ep.ip}|${ep.port}`)) byKey.set(`${ep.ip}|${ep.port}`, ep);
  return [...byKey.values()];
}

/**
 * The endpoints a port's rules may count traffic of: its DNAT targets, then its serving
 * terminating endpoints not among them (IPVS keeps those as weight-0 real servers while their
 * connections drain). The agent's per-endpoint series are chosen among these (src/agent/endpoint-series.ts).
 */
export function countedEndpoints(v: Pick<ServicePortView, 'clusterEndpoints' | 'localEndpoints' | 'servingTerminatingEndpoints'>): readonly EndpointTarget[] {
  const targets = dnatTargets(v);
  const draining = v.servingTerminatingEndpoints.filter((d) => !targets.some((t) => t.ip === d.ip && t.port === d.port));
  return draining.length === 0 ? targets : [...targets, ...draining];
}

/** Endpoints with identical address and port collapse to one (they can appear in two slices). */
function dedupe(targets: EndpointTarget[]): EndpointTarget[] {
  // The usual slice lists its endpoints once each, in address order: no key string per endpoint then.
  if (targets.length < 2 || strictlyAscending(targets)) return targets;
  const byKey = new Map<string, EndpointTarget>();
  for (const t of targets) {
    const key = `${t.ip}|${t.port}`;
    const prev = byKey.get(key);
    // Prefer the more usable copy when slices disagree.
    if (!prev || (t.ready && !prev.ready) || (t.serving && !prev.serving)) byKey.set(key, t);
  }
  if (byKey.size < 2) return [...byKey.values()];
  // Parse each address once, not once per comparison.
  const keyed = [...byKey.values()].map((t) => ({ t, v: sortValue(t.ip) }));
  keyed.sort((a, b) => (a.v < b.v ? -1 : a.v > b.v ? 1 : a.t.port - b.t.port));
  return keyed.map((k) => k.t);
}

/**
 * The endpoints of a Service port in one family, their port resolved from the slice's ports by
 * name, as DNAT targets; `raw` gets each target's Endpoint at the same index (the topology
 * hints). One object per endpoint: at 10^5 endpoints a wrapper per endpoint was garbage too.
 */
function endpointsFor(
  svc: PlanService,
  portName: string,
  protocol: Protocol,
  family: IPFamily,
  slices: readonly EndpointSliceInfo[],
  node: NodeContext,
  raw: Endpoint[],
): EndpointTarget[] {
  const out: EndpointTarget[] = [];
  for (const s of slices) {
    if (s.namespace !== svc.namespace || s.serviceName !== svc.name || s.addressType !== family) continue;
    const p = s.ports.find((x) => x.name === portName && x.protocol === protocol);
    if (!p) continue;
    for (const ep of s.endpoints) {
      if (familyOfValid(ep.address) !== family) continue;
      raw.push(ep);
      out.push({
        ip: ep.address,
        port: p.port,
        local: node.name !== '' && ep.nodeName === node.name,
        ready: ep.ready,
        serving: ep.serving,
        terminating: ep.terminating,
      });
    }
  }
  return out;
}

/** kube-proxy's topology check: may this node restrict to hinted endpoints? Returns the filter, or undefined. */
function topologyFilter(
  svc: PlanService,
  eps: readonly EndpointTarget[],
  raw: readonly Endpoint[],
  node: NodeContext,
): ((i: number) => boolean) | undefined {
  const dist = svc.trafficDistribution;
  const mode = svc.topologyMode;
  const hintsWanted =
    (mode !== undefined && mode !== '' && mode.toLowerCase() !== 'disabled') ||
    dist === 'PreferClose' ||
    dist === 'PreferSameZone' ||
    dist === 'PreferSameNode';
  if (!hintsWanted) return undefined;
  const ready = raw.map((ep, i) => ({ ep, i })).filter(({ i }) => eps[i]!.ready);
  if (dist === 'PreferSameNode' && node.name) {
    if (ready.some(({ ep }) => ep.hintNodes?.includes(node.name))) {
      return (i) => raw[i]!.hintNodes?.includes(node.name) ?? false;
    }
  }
  if (!node.zone) return undefined;
  // Every ready endpoint must carry zone hints, and one must be for our zone.
  if (ready.some(({ ep }) => !ep.hintZones || ep.hintZones.length === 0)) return undefined;
  if (!ready.some(({ ep }) => ep.hintZones!.includes(node.zone!))) return undefined;
  return (i) => raw[i]!.hintZones?.includes(node.zone!) ?? false;
}

/** The family of an address already validated and canonical (cheap: no parsing). */
function familyOfValid(ip: string): IPFamily {
  return ip.includes(':') ? 'IPv6' : 'IPv4';
}

function familyAddresses(ips: readonly string[], family: IPFamily): string[] {
  return ips.filter((ip) => familyOfValid(ip) === family);
}

/** Builds the view of one Service port in one family. Exported for tests. */
export function viewServicePort(
  svc: PlanService,
  portIndex: number,
  family: IPFamily,
  slices: readonly EndpointSliceInfo[],
  node: NodeContext,
): ServicePortView | undefined {
  const sp = svc.ports[portIndex]!;
  const clusterIP = svc.clusterIPs.find((ip) => familyOfValid(ip) === family);
  if (!clusterIP) return undefined;
  const externalIPs = familyAddresses(svc.externalIPs, family);
  const loadBalancerIPs = familyAddresses(
    svc.loadBalancerIngress.filter((i) => i.ipMode === 'VIP').map((i) => i.ip),
    family,
  );
  const nodePort = sp.nodePort ?? 0;
  const externallyAccessible = nodePort !== 0 || externalIPs.length > 0 || loadBalancerIPs.length > 0;
  const internalPolicyLocal = svc.internalTrafficPolicy === 'Local';
  const externalPolicyLocal = externallyAccessible && svc.externalTrafficPolicy === 'Local';

  const raw: Endpoint[] = [];
  const targets = endpointsFor(svc, sp.name, sp.protocol, family, slices, node, raw);

  const usesCluster = !internalPolicyLocal || externallyAccessible;
  const usesLocal = internalPolicyLocal || externalPolicyLocal;

  let clusterEndpoints: EndpointTarget[] = [];
  let hasEndpoints = false;
  if (usesCluster) {
    const topo = topologyFilter(svc, targets, raw, node);
    clusterEndpoints = targets.filter((t, i) => t.ready && (!topo || topo(i)));
    // No ready endpoint anywhere: fall back to terminating endpoints that still serve.
    if (clusterEndpoints.length === 0) clusterEndpoints = targets.filter((t) => t.serving && t.terminating);
    hasEndpoints = clusterEndpoints.length > 0;
  }

  let localEndpoints: EndpointTarget[] = [];
  if (usesLocal) {
    let localReady = false;
    let localServingTerminating = false;
    for (const t of targets) {
      if (t.ready) {
        hasEndpoints = true;
        if (t.local) localReady = true;
      } else if (t.serving && t.terminating) {
        hasEndpoints = true;
        if (t.local) localServingTerminating = true;
      }
    }
    if (localReady) localEndpoints = targets.filter((t) => t.local && t.ready);
    else if (localServingTerminating) localEndpoints = targets.filter((t) => t.local && t.serving && t.terminating);
  }

  const hasInternalEndpoints = hasEndpoints && (!internalPolicyLocal || localEndpoints.length > 0);
  const hasExternalEndpoints = hasEndpoints && (!externalPolicyLocal || localEndpoints.length > 0);

  const ranges = svc.loadBalancerSourceRanges.filter((c) => parseCIDR(c)?.family === family);
  return {
    namespace: svc.namespace,
    name: svc.name,
    portName: sp.name,
    protocol: sp.protocol,
    family,
    port: sp.port,
    nodePort,
    clusterIP,
    externalIPs,
    loadBalancerIPs,
    sourceRanges: ranges,
    affinitySeconds: svc.sessionAffinity.type === 'ClientIP' ? svc.sessionAffinity.timeoutSeconds : 0,
    internalPolicyLocal,
    externalPolicyLocal,
    externallyAccessible,
    healthCheckNodePort: svc.healthCheckNodePort ?? 0,
    clusterEndpoints: usesCluster ? dedupe(clusterEndpoints) : [],
    localEndpoints: dedupe(localEndpoints),
    servingTerminatingEndpoints: dedupe(targets.filter((t) => t.serving && t.terminating)),
    hasEndpoints,
    hasInternalEndpoints,
    hasExternalEndpoints,
  };
}

/** EndpointSlices grouped by the Service they belong to (`namespace/serviceName`). */
export function slicesByService(slices: readonly EndpointSliceInfo[]): Map<string, EndpointSliceInfo[]> {
  const m = new Map<string, EndpointSliceInfo[]>();
  for (const s of slices) {
    const k = `${s.namespace}/${s.serviceName}`;
    const list = m.get(k);
    if (list) list.push(s);
    else m.set(k, [s]);
  }
  return m;
}

/** The views of one Service's ports in one family. */
export function viewsOfService(
  svc: PlanService,
  family: IPFamily,
  slices: readonly EndpointSliceInfo[],
  node: NodeContext,
): ServicePortView[] {
  const out: ServicePortView[] = [];
  for (let i = 0; i < svc.ports.length; i++) {
    const v = viewServicePort(svc, i, family, slices, node);
    if (v) out.push(v);
  }
  return out;
}

/** Every Service port view for one IP family, sorted by namespace, name, port, protocol. */
export function servicePortViews(input: RenderInput, family: IPFamily): ServicePortView[] {
  return [...eachServicePortView(input, family)];
}

/**
 * servicePortViews one Service at a time, each view made when it is asked for. Why: at 10k
 * Services x 10 endpoints the views hold ~10^5 endpoint objects; made whole before a render's
 * loop they survive every young-generation GC of it and are copied out, made as the loop goes
 * they die young (the nftables text render).
 */
export function* eachServicePortView(input: RenderInput, family: IPFamily): Generator<ServicePortView, void, undefined> {
  const services = [...proxiedServices(input.plan, input.mode)].sort(compareByNamespaceName);
  // Index once: looking slices up per Service would cost Services x slices.
  const bySvc = slicesByService(input.endpointSlices);
  for (const svc of services) yield* viewsOfService(svc, family, bySvc.get(`${svc.namespace}/${svc.name}`) ?? [], input.node);
}

/**
 * Node addresses that accept NodePort traffic, per kube-proxy's nodePortAddresses.
 * With nothing configured the modes differ: nftables serves the node's primary
 * address, iptables and IPVS every local address (kube-proxy v1.33 keeps the old
 * default there, with a warning). `all` means "every local address"; `ips` then
 * lists the ones known (IPVS needs them one by one).
 */
export function nodePortAddresses(
  node: NodeContext,
  config: ProxyConfig,
  family: IPFamily,
  unsetMeans: 'primary' | 'all' = 'primary',
): { all: boolean; ips: string[] } {
  const own = node.addresses.filter((a) => ipFamilyOf(a) === family);
  // CIDRs select among the addresses on the node's interfaces when they are known.
  const candidates = [...own, ...(node.localAddresses ?? []).filter((a) => ipFamilyOf(a) === family)];
  const wanted = config.nodePortAddresses.filter((c) => c === 'primary' || parseCIDR(c)?.family === family);
  if (config.nodePortAddresses.length === 0 && unsetMeans === 'all') return { all: true, ips: uniqueSorted(candidates) };
  if (config.nodePortAddresses.length === 0 || wanted.some((c) => c === 'primary')) {
    // Default (and "primary"): the node's primary address of this family.
    const primary = own.slice(0, 1);
    const extra = wanted.filter((c) => c !== 'primary');
    return { all: false, ips: uniqueSorted([...primary, ...matchCIDRs(candidates, extra)]) };
  }
  if (wanted.some((c) => parseCIDR(c)!.prefix === 0)) return { all: true, ips: uniqueSorted(candidates) };
  return { all: false, ips: uniqueSorted(matchCIDRs(candidates, wanted)) };
}

function matchCIDRs(ips: readonly string[], cidrs: readonly string[]): string[] {
  const parsed = cidrs.map((c) => parseCIDR(c)!);
  return ips.filter((ip) => {
    const p = parseIP(ip);
    return p !== undefined && parsed.some((c) => cidrContains(c, p));
  });
}

function uniqueSorted(ips: string[]): string[] {
  return [...new Set(ips)].sort(compareIPs);
}

/** How traffic from pods is recognised, for masquerade and short-circuit decisions. */
export type LocalTrafficMatch =
  | { readonly kind: 'none' }
  | { readonly kind: 'cidrs'; readonly cidrs: readonly string[] }
  | { readonly kind: 'interface'; readonly name: string }
  | { readonly kind: 'interface-prefix'; readonly prefix: string };

/** kube-proxy's local-traffic detector for one family. kind none: the detector is "not implemented". */
export function localTrafficMatch(config: ProxyConfig, node: NodeContext, family: IPFamily): LocalTrafficMatch {
  const ofFamily = (cidrs: readonly string[]) =>
    cidrs.filter((c) => parseCIDR(c)?.family === family).map((c) => canonicalCIDR(c)!);
  switch (config.detectLocalMode) {
    case 'ClusterCIDR': {
      const cidrs = ofFamily(config.clusterCIDRs);
      return cidrs.length ? { kind: 'cidrs', cidrs } : { kind: 'none' };
    }
    case 'NodeCIDR': {
      const cidrs = ofFamily(node.podCIDRs);
      return cidrs.length ? { kind: 'cidrs', cidrs } : { kind: 'none' };
    }
    case 'BridgeInterface':
      return config.bridgeInterface ? { kind: 'interface', name: config.bridgeInterface } : { kind: 'none' };
    case 'InterfaceNamePrefix':
      return config.interfaceNamePrefix ? { kind: 'interface-prefix', prefix: config.interfaceNamePrefix } : { kind: 'none' };
  }
}

/** The Service CIDRs of one family, canonical and sorted. */
export function serviceCIDRsOf(input: RenderInput, family: IPFamily): string[] {
  return input.plan.serviceCIDRs.filter((c) => parseCIDR(c)?.family === family);
}
