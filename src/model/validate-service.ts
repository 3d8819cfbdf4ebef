// A core/v1 Service object checked the way the Kubernetes API server (v1.33) checks
// it on create: first the API's defaults are applied (type ClusterIP, protocol TCP,
// targetPort = port, ...), then every rule of ValidateService that matters to a
// proxy, plus the few rules the IP and port allocators add (node port range,
// service CIDRs, ipFamilyPolicy versus the number of families). Field paths are
// the manifest's (`spec.ports[1].nodePort`), so a user finds the line to fix.
//
// `readService` returns the defaulted Service together with the issues; the plan
// builder (src/manifests/service.ts) uses it so that reading and checking cannot
// disagree. `validateService` is the issues alone.

import type { FieldIssue } from './errors.js';
import { cidrContains, familyBits, formatCIDR, parseCIDR, parseIP, prefixMask, type ParsedCIDR, type ParsedIP } from './ip.js';
import { childPath, FieldReader, indexPath, isJsonObject, keyPath, notSupported, type JsonObject } from './json-fields.js';
import {
  dns1035LabelError,
  dns1123LabelError,
  dns1123SubdomainError,
  ianaSvcNameError,
  labelValueError,
  qualifiedNameError,
} from './names.js';
import { DEFAULT_AFFINITY_TIMEOUT_SECONDS, DEFAULT_NODE_PORT_RANGE, MAX_AFFINITY_TIMEOUT_SECONDS } from './plan.js';

/**
 * Load-balancer ingress IPs for Services whose manifest cannot carry status:
 * comma-separated IPs, each taken as ipMode VIP. Our constructs write it.
 */
export const LOAD_BALANCER_INGRESS_ANNOTATION = 'svcplane.io/load-balancer-ingress';
/** The pre-field spelling of spec.loadBalancerSourceRanges, still validated by the API server. */
export const LOAD_BALANCER_SOURCE_RANGES_ANNOTATION = 'service.beta.kubernetes.io/load-balancer-source-ranges';
/** Topology Aware Routing, and the older annotation it replaced (kube-proxy reads either). */
export const TOPOLOGY_MODE_ANNOTATION = 'service.kubernetes.io/topology-mode';
export const TOPOLOGY_AWARE_HINTS_ANNOTATION = 'service.kubernetes.io/topology-aware-hints';

export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;
export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
export const IP_FAMILY_POLICIES = ['SingleStack', 'PreferDualStack', 'RequireDualStack'] as const;
export const TRAFFIC_DISTRIBUTIONS = ['PreferClose', 'PreferSameZone', 'PreferSameNode'] as const;
const IP_FAMILIES = ['IPv4', 'IPv6'] as const;
const AFFINITIES = ['None', 'ClientIP'] as const;
const TRAFFIC_POLICIES = ['Cluster', 'Local'] as const;
const IP_MODES = ['VIP', 'Proxy'] as const;

export interface ServiceValidationOptions {
  /** The API server's --service-node-port-range; default 30000-32767. */
  readonly nodePortRange?: { readonly min: number; readonly max: number };
  /** When given (non-empty), every clusterIP must lie inside one of these. */
  readonly serviceCIDRs?: readonly string[];
}

export interface ServiceObjectPort {
  readonly name: string;
  readonly protocol: string;
  readonly port: number;
  /** Defaulted to `port` when absent, 0 or ''. */
  readonly targetPort: number | string;
  readonly nodePort?: number;
  readonly appProtocol?: string;
}

export interface ServiceObjectIngress {
  readonly ip?: string;
  readonly hostname?: string;
  /** Defaulted to VIP when an ip is set. */
  readonly ipMode?: string;
}

/** A Service after the API's defaults, values as written (not yet canonical). */
export interface ServiceObject {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly type: string;
  readonly clusterIP: string;
  /** [clusterIP] when only clusterIP was written (the API's create-time sync). */
  readonly clusterIPs: readonly string[];
  readonly headless: boolean;
  readonly ipFamilies: readonly string[];
  /** As written, or inferred: RequireDualStack when two families or IPs are given, else SingleStack. */
  readonly ipFamilyPolicy: string;
  readonly ports: readonly ServiceObjectPort[];
  /** undefined when the Service has no selector (or an empty one). */
  readonly selector: Readonly<Record<string, string>> | undefined;
  readonly externalIPs: readonly string[];
  readonly externalName?: string;
  readonly sessionAffinity: string;
  readonly affinityTimeoutSeconds: number;
  readonly externalTrafficPolicy: string;
  readonly internalTrafficPolicy: string;
  readonly healthCheckNodePort?: number;
  readonly loadBalancerSourceRanges: readonly string[];
  readonly loadBalancerClass?: string;
  readonly allocateLoadBalancerNodePorts?: boolean;
  readonly publishNotReadyAddresses: boolean;
  readonly trafficDistribution?: string;
  /** The topology-mode annotation, else the topology-aware-hints one. */
  readonly topologyMode?: string;
  /** status.loadBalancer.ingress, then the svcplane annotation's IPs. */
  readonly loadBalancerIngress: readonly ServiceObjectIngress[];
}

export interface ReadServiceResult {
  /** Undefined only when the object is not an object at all. */
  readonly service: ServiceObject | undefined;
  readonly issues: FieldIssue[];
}

export function validateService(obj: unknown, opts: ServiceValidationOptions = {}): FieldIssue[] {
  return readService(obj, opts).issues;
}

const VALID_IP_MSG = 'must be a valid IP address (e.g. 10.9.8.7 or 2001:db8::ffff)';
const VALID_CIDR_MSG = 'must be a valid CIDR (e.g. 10.9.8.0/24 or 2001:db8::/64)';
const PORT_RANGE_MSG = 'must be between 1 and 65535, inclusive';

function validPort(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}

/**
 * The API server refuses these as externalIPs and endpoint addresses
 * (ValidateNonSpecialIP): traffic to them never comes from outside the node, and
 * capturing or forwarding to them would break the node.
 */
export function specialIPError(ip: ParsedIP): string | undefined {
  const inCidr = (s: string): boolean => cidrContains(parseCIDR(s)!, ip);
  if (ip.value === 0n) return 'may not be unspecified (0.0.0.0 or ::)';
  if (inCidr('127.0.0.0/8') || inCidr('::1/128')) return 'may not be in the loopback range (127.0.0.0/8, ::1/128)';
  if (inCidr('169.254.0.0/16') || inCidr('fe80::/10')) return 'may not be in the link-local range (169.254.0.0/16, fe80::/10)';
  if (inCidr('224.0.0.0/24') || inCidr('ff02::/16')) return 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/16)';
  return undefined;
}

/**
 * Where an address may be allocated from: inside one of the CIDRs, and not the
 * network address (nor, for IPv4, the broadcast address) the allocator reserves.
 */
function serviceCIDRError(ip: ParsedIP, cidrs: readonly ParsedCIDR[]): string | undefined {
  const c = cidrs.find((x) => cidrContains(x, ip));
  if (!c) return `must be inside a service CIDR (${cidrs.map(formatCIDR).join(', ')})`;
  const bits = familyBits(c.family);
  if (c.prefix < bits - 1) {
    if (ip.value === c.network) return `must not be the network address of service CIDR ${formatCIDR(c)}`;
    const broadcast = c.network | ~prefixMask(bits, c.prefix) & ((1n << BigInt(bits)) - 1n);
    if (c.family === 'IPv4' && ip.value === broadcast) return `must not be the broadcast address of service CIDR ${formatCIDR(c)}`;
  }
  return undefined;
}

export function readService(obj: unknown, opts: ServiceValidationOptions = {}): ReadServiceResult {
  const r = new FieldReader();
  const root = r.object(obj, '(root)');
  if (!root) {
    if (obj === undefined || obj === null) r.add('(root)', 'must be a Service object, not null');
    return { service: undefined, issues: r.issues };
  }
  const range = opts.nodePortRange ?? DEFAULT_NODE_PORT_RANGE;

  if (root.kind !== undefined && root.kind !== 'Service') r.add('kind', `must be "Service", not ${JSON.stringify(root.kind)}`);
  if (root.apiVersion !== undefined && root.apiVersion !== 'v1') r.add('apiVersion', `must be "v1", not ${JSON.stringify(root.apiVersion)}`);

  // ---- metadata
  const meta = r.object(root.metadata, 'metadata') ?? {};
  const name = r.string(meta.name, 'metadata.name') ?? '';
  if (meta.name === undefined || meta.name === null || name === '') r.add('metadata.name', 'is required');
  else addIf(r, 'metadata.name', dns1035LabelError(name));
  const nsRaw = r.string(meta.namespace, 'metadata.namespace');
  const namespace = nsRaw || 'default';
  if (nsRaw) addIf(r, 'metadata.namespace', dns1123LabelError(nsRaw));
  const labels = r.stringMap(meta.labels, 'metadata.labels') ?? {};
  checkLabels(r, labels, 'metadata.labels');
  const annotations = r.stringMap(meta.annotations, 'metadata.annotations') ?? {};
  for (const k of Object.keys(annotations)) addIf(r, keyPath('metadata.annotations', k), qualifiedNameError(k));
  const topologyModeAnn = annotations[TOPOLOGY_MODE_ANNOTATION];
  const topologyHintsAnn = annotations[TOPOLOGY_AWARE_HINTS_ANNOTATION];
  if (topologyModeAnn !== undefined && topologyHintsAnn !== undefined && topologyModeAnn !== topologyHintsAnn) {
    r.add(keyPath('metadata.annotations', TOPOLOGY_MODE_ANNOTATION), `must match annotations[${TOPOLOGY_AWARE_HINTS_ANNOTATION}] when both are set`);
  }
  const topologyMode = topologyModeAnn ?? topologyHintsAnn;

  // ---- spec: read with defaults
  const spec = r.object(root.spec, 'spec') ?? {};
  const typeRaw = r.string(spec.type, 'spec.type');
  const type = typeRaw || 'ClusterIP';
  if (!(SERVICE_TYPES as readonly string[]).includes(type)) r.add('spec.type', notSupported(type, SERVICE_TYPES));
  const isLB = type === 'LoadBalancer';
  const isExternalName = type === 'ExternalName';

  const clusterIP = r.string(spec.clusterIP, 'spec.clusterIP') ?? '';
  const clusterIPsGiven = r.stringList(spec.clusterIPs, 'spec.clusterIPs') ?? [];
  // On create the API copies a lone clusterIP into clusterIPs (and never the other way).
  const clusterIPs = clusterIP !== '' && clusterIPsGiven.length === 0 ? [clusterIP] : clusterIPsGiven;
  const ipField = (i: number): string => (clusterIPsGiven.length > 0 ? indexPath('spec.clusterIPs', i) : 'spec.clusterIP');
  const headless = clusterIPs.length === 1 && clusterIPs[0] === 'None';
  const ipFamilies = r.stringList(spec.ipFamilies, 'spec.ipFamilies') ?? [];
  const policyRaw = r.string(spec.ipFamilyPolicy, 'spec.ipFamilyPolicy');

  const externalIPs = r.stringList(spec.externalIPs, 'spec.externalIPs') ?? [];
  const externallyAccessible = type === 'NodePort' || isLB || (type === 'ClusterIP' && externalIPs.length > 0);

  // ---- ports
  const portsRaw = r.array(spec.ports, 'spec.ports') ?? [];
  const ports: ServiceObjectPort[] = [];
  const portNames = new Set<string>();
  portsRaw.forEach((pv, i) => {
    const path = indexPath('spec.ports', i);
    const p = r.object(pv, path);
    if (!p) {
      if (pv === null) r.add(path, 'must be an object, not null');
      return;
    }
    const pname = r.string(p.name, childPath(path, 'name')) ?? '';
    if (pname === '') {
      if (portsRaw.length > 1) r.add(childPath(path, 'name'), 'is required when the Service has more than one port');
    } else {
      addIf(r, childPath(path, 'name'), dns1123LabelError(pname));
      if (portNames.has(pname)) r.add(childPath(path, 'name'), `duplicate port name ${JSON.stringify(pname)}`);
      portNames.add(pname);
    }
    const portNum = r.integer(p.port, childPath(path, 'port'));
    if (p.port === undefined || p.port === null) r.add(childPath(path, 'port'), 'is required');
    else if (portNum !== undefined && !validPort(portNum)) r.add(childPath(path, 'port'), PORT_RANGE_MSG);
    const protocol = r.string(p.protocol, childPath(path, 'protocol')) || 'TCP';
    if (!(PROTOCOLS as readonly string[]).includes(protocol)) r.add(childPath(path, 'protocol'), notSupported(protocol, PROTOCOLS));
    let targetPort = r.intOrString(p.targetPort, childPath(path, 'targetPort'));
    if (targetPort === undefined || targetPort === 0 || targetPort === '') {
      targetPort = portNum ?? 0;
    } else if (typeof targetPort === 'number') {
      if (!validPort(targetPort)) r.add(childPath(path, 'targetPort'), PORT_RANGE_MSG);
    } else {
      addIf(r, childPath(path, 'targetPort'), ianaSvcNameError(targetPort));
    }
    const nodePortRaw = r.integer(p.nodePort, childPath(path, 'nodePort'));
    const nodePort = nodePortRaw === 0 ? undefined : nodePortRaw;
    if (nodePort !== undefined) {
      if (type === 'ClusterIP' || isExternalName) {
        r.add(childPath(path, 'nodePort'), `may not be used when type is ${type}`);
      } else if (!validPort(nodePort)) {
        r.add(childPath(path, 'nodePort'), PORT_RANGE_MSG);
      } else if (nodePort < range.min || nodePort > range.max) {
        r.add(childPath(path, 'nodePort'), `must be in the node port range ${range.min}-${range.max}`);
      }
    }
    const appProtocol = r.string(p.appProtocol, childPath(path, 'appProtocol'));
    if (appProtocol !== undefined) addIf(r, childPath(path, 'appProtocol'), qualifiedNameError(appProtocol));
    ports.push({
      name: pname,
      protocol,
      port: portNum ?? 0,
      targetPort,
      ...(nodePort !== undefined ? { nodePort } : {}),
      ...(appProtocol !== undefined ? { appProtocol } : {}),
    });
  });
  // A spec or ports of the wrong type is already reported; "no ports" would only repeat it.
  const portsWellTyped = (root.spec === undefined || root.spec === null || isJsonObject(root.spec)) && (spec.ports == null || Array.isArray(spec.ports));
  if (portsRaw.length === 0 && !headless && !isExternalName && portsWellTyped) r.add('spec.ports', 'at least one port is required');
  // Uniqueness is per (port, protocol) and per (nodePort, protocol): TCP 53 and UDP 53 may share.
  const seenPorts = new Map<string, number>();
  const seenNodePorts = new Map<string, number>();
  ports.forEach((p, i) => {
    const k = `${p.port}/${p.protocol}`;
    const first = seenPorts.get(k);
    if (first !== undefined) r.add(indexPath('spec.ports', i), `duplicate port ${k} (also spec.ports[${first}])`);
    else seenPorts.set(k, i);
    if (p.nodePort !== undefined) {
      const nk = `${p.nodePort}/${p.protocol}`;
      const nfirst = seenNodePorts.get(nk);
      if (nfirst !== undefined) r.add(childPath(indexPath('spec.ports', i), 'nodePort'), `duplicate nodePort ${nk} (also spec.ports[${nfirst}].nodePort)`);
      else seenNodePorts.set(nk, i);
    }
  });

  // ---- type-specific
  if (headless && (type === 'LoadBalancer' || type === 'NodePort')) {
    r.add(ipField(0), `may not be 'None' for ${type} services (a headless Service has no virtual IP to expose)`);
  }
  let externalName: string | undefined;
  if (isExternalName) {
    if (clusterIP !== '') r.add('spec.clusterIP', 'may not be set for ExternalName services');
    else if (clusterIPs.length > 0) r.add('spec.clusterIPs', 'may not be set for ExternalName services');
    if (ipFamilies.length > 0) r.add('spec.ipFamilies', 'may not be set for ExternalName services');
    if (policyRaw !== undefined) r.add('spec.ipFamilyPolicy', 'may not be set for ExternalName services');
    const en = r.string(spec.externalName, 'spec.externalName') ?? '';
    // A trailing dot marks the name fully qualified; the rest must be a DNS subdomain.
    const cname = en.endsWith('.') ? en.slice(0, -1) : en;
    if (cname === '') r.add('spec.externalName', 'is required for ExternalName services');
    else addIf(r, 'spec.externalName', dns1123SubdomainError(cname));
    externalName = en;
  }

  // ---- selector
  const selectorMap = r.stringMap(spec.selector, 'spec.selector');
  if (selectorMap) checkLabels(r, selectorMap, 'spec.selector');
  const selector = selectorMap && Object.keys(selectorMap).length > 0 ? selectorMap : undefined;

  // ---- session affinity
  const sessionAffinity = r.string(spec.sessionAffinity, 'spec.sessionAffinity') || 'None';
  const sac = r.object(spec.sessionAffinityConfig, 'spec.sessionAffinityConfig');
  let affinityTimeoutSeconds = DEFAULT_AFFINITY_TIMEOUT_SECONDS;
  if (!(AFFINITIES as readonly string[]).includes(sessionAffinity)) {
    r.add('spec.sessionAffinity', notSupported(sessionAffinity, AFFINITIES));
  } else if (sessionAffinity === 'None') {
    if (sac) r.add('spec.sessionAffinityConfig', 'must not be set when sessionAffinity is None');
  } else {
    const cip = r.object(sac?.clientIP, 'spec.sessionAffinityConfig.clientIP');
    const field = 'spec.sessionAffinityConfig.clientIP.timeoutSeconds';
    const t = r.integer(cip?.timeoutSeconds, field);
    if (t !== undefined) {
      if (t < 1 || t > MAX_AFFINITY_TIMEOUT_SECONDS) r.add(field, `must be between 1 and ${MAX_AFFINITY_TIMEOUT_SECONDS} seconds`);
      else affinityTimeoutSeconds = t;
    }
  }

  // ---- cluster IPs, families, policy
  let ipFamilyPolicy = policyRaw ?? '';
  if (!isExternalName) {
    checkClusterIPs(r, { clusterIP, clusterIPs, clusterIPsGiven, ipFamilies, policyRaw, headless, ipField, serviceCIDRs: opts.serviceCIDRs ?? [] });
    if (!ipFamilyPolicy) ipFamilyPolicy = clusterIPs.length === 2 || ipFamilies.length === 2 ? 'RequireDualStack' : 'SingleStack';
  } else if (!ipFamilyPolicy) {
    ipFamilyPolicy = 'SingleStack';
  }

  // ---- external IPs
  externalIPs.forEach((ip, i) => {
    const p = parseIP(ip);
    if (!p) r.add(indexPath('spec.externalIPs', i), VALID_IP_MSG);
    else addIf(r, indexPath('spec.externalIPs', i), specialIPError(p));
  });

  // ---- load balancer fields
  const lbsr = r.stringList(spec.loadBalancerSourceRanges, 'spec.loadBalancerSourceRanges') ?? [];
  // The API tolerates space padding here (a leftover of the annotation days).
  const loadBalancerSourceRanges = lbsr.map((s) => s.trim());
  if (lbsr.length > 0) {
    if (!isLB) r.add('spec.loadBalancerSourceRanges', 'may only be used when type is LoadBalancer');
    loadBalancerSourceRanges.forEach((c, i) => {
      if (!parseCIDR(c)) r.add(indexPath('spec.loadBalancerSourceRanges', i), VALID_CIDR_MSG);
    });
  } else if (annotations[LOAD_BALANCER_SOURCE_RANGES_ANNOTATION] !== undefined) {
    const field = keyPath('metadata.annotations', LOAD_BALANCER_SOURCE_RANGES_ANNOTATION);
    if (!isLB) r.add(field, 'may only be used when type is LoadBalancer');
    const val = annotations[LOAD_BALANCER_SOURCE_RANGES_ANNOTATION]!.trim();
    if (val !== '') {
      for (const c of val.split(',').map((s) => s.trim())) {
        if (!parseCIDR(c)) r.add(field, `${JSON.stringify(c)} ${VALID_CIDR_MSG}`);
      }
    }
  }
  const allocRaw = r.boolean(spec.allocateLoadBalancerNodePorts, 'spec.allocateLoadBalancerNodePorts');
  if (allocRaw !== undefined && !isLB) r.add('spec.allocateLoadBalancerNodePorts', 'may only be used when type is LoadBalancer');
  const allocateLoadBalancerNodePorts = isLB ? (allocRaw ?? true) : undefined;
  const loadBalancerClass = r.string(spec.loadBalancerClass, 'spec.loadBalancerClass');
  if (loadBalancerClass !== undefined) {
    if (!isLB) r.add('spec.loadBalancerClass', 'may only be used when type is LoadBalancer');
    else addIf(r, 'spec.loadBalancerClass', qualifiedNameError(loadBalancerClass));
  }

  // ---- traffic policies
  const etpRaw = r.string(spec.externalTrafficPolicy, 'spec.externalTrafficPolicy');
  if (etpRaw) {
    if (!externallyAccessible) {
      r.add('spec.externalTrafficPolicy', 'may only be set for externally-accessible Services (type NodePort or LoadBalancer, or with externalIPs)');
    } else if (!(TRAFFIC_POLICIES as readonly string[]).includes(etpRaw)) {
      r.add('spec.externalTrafficPolicy', notSupported(etpRaw, TRAFFIC_POLICIES));
    }
  }
  const externalTrafficPolicy = etpRaw || 'Cluster';
  const hcRaw = r.integer(spec.healthCheckNodePort, 'spec.healthCheckNodePort');
  const healthCheckNodePort = hcRaw === 0 ? undefined : hcRaw;
  if (healthCheckNodePort !== undefined) {
    const f = 'spec.healthCheckNodePort';
    if (!(isLB && externalTrafficPolicy === 'Local')) {
      r.add(f, 'may only be set when type is LoadBalancer and externalTrafficPolicy is Local');
    } else if (!validPort(healthCheckNodePort)) {
      r.add(f, PORT_RANGE_MSG);
    } else if (healthCheckNodePort < range.min || healthCheckNodePort > range.max) {
      r.add(f, `must be in the node port range ${range.min}-${range.max}`);
    } else {
      const clash = ports.findIndex((p) => p.nodePort === healthCheckNodePort);
      if (clash >= 0) r.add(f, `must differ from every nodePort (spec.ports[${clash}].nodePort is ${healthCheckNodePort})`);
    }
  }
  const itpRaw = r.string(spec.internalTrafficPolicy, 'spec.internalTrafficPolicy');
  if (itpRaw && !(TRAFFIC_POLICIES as readonly string[]).includes(itpRaw)) {
    r.add('spec.internalTrafficPolicy', notSupported(itpRaw, TRAFFIC_POLICIES));
  }
  const internalTrafficPolicy = itpRaw || 'Cluster';
  const trafficDistribution = r.string(spec.trafficDistribution, 'spec.trafficDistribution');
  if (trafficDistribution !== undefined && !(TRAFFIC_DISTRIBUTIONS as readonly string[]).includes(trafficDistribution)) {
    r.add('spec.trafficDistribution', notSupported(trafficDistribution, TRAFFIC_DISTRIBUTIONS));
  }
  const publishNotReadyAddresses = r.boolean(spec.publishNotReadyAddresses, 'spec.publishNotReadyAddresses') ?? false;

  // ---- load-balancer ingress: status, and our annotation for manifests without status
  const loadBalancerIngress = readIngress(r, root, annotations, isLB);

  const service: ServiceObject = {
    namespace,
    name,
    labels,
    annotations,
    type,
    clusterIP,
    clusterIPs,
    headless,
    ipFamilies,
    ipFamilyPolicy,
    ports,
    selector,
    externalIPs,
    ...(externalName !== undefined ? { externalName } : {}),
    sessionAffinity,
    affinityTimeoutSeconds,
    externalTrafficPolicy,
    internalTrafficPolicy,
    ...(healthCheckNodePort !== undefined ? { healthCheckNodePort } : {}),
    loadBalancerSourceRanges,
    ...(loadBalancerClass !== undefined ? { loadBalancerClass } : {}),
    ...(allocateLoadBalancerNodePorts !== undefined ? { allocateLoadBalancerNodePorts } : {}),
    publishNotReadyAddresses,
    ...(trafficDistribution !== undefined ? { trafficDistribution } : {}),
    ...(topologyMode !== undefined ? { topologyMode } : {}),
    loadBalancerIngress,
  };
  return { service, issues: r.issues };
}

function addIf(r: FieldReader, field: string, message: string | undefined): void {
  if (message) r.add(field, message);
}

function checkLabels(r: FieldReader, labels: Readonly<Record<string, string>>, field: string): void {
  for (const [k, v] of Object.entries(labels)) {
    const ke = qualifiedNameError(k);
    if (ke) r.add(keyPath(field, k), `key ${ke}`);
    const ve = labelValueError(v);
    if (ve) r.add(keyPath(field, k), `value ${JSON.stringify(v)} ${ve}`);
  }
}

interface ClusterIPFacts {
  readonly clusterIP: string;
  readonly clusterIPs: readonly string[];
  readonly clusterIPsGiven: readonly string[];
  readonly ipFamilies: readonly string[];
  readonly policyRaw: string | undefined;
  readonly headless: boolean;
  readonly ipField: (i: number) => string;
  readonly serviceCIDRs: readonly string[];
}

/** clusterIP <-> clusterIPs <-> ipFamilies <-> ipFamilyPolicy, as validation and the IP allocator check them. */
function checkClusterIPs(r: FieldReader, f: ClusterIPFacts): void {
  const { clusterIPs, ipFamilies } = f;
  if (f.clusterIP !== '') {
    if (f.clusterIPsGiven.length > 0 && f.clusterIPsGiven[0] !== f.clusterIP) {
      r.add('spec.clusterIPs', 'first value must match spec.clusterIP');
    }
  } else if (f.clusterIPsGiven.length > 0) {
    r.add('spec.clusterIPs', 'must be empty when spec.clusterIP is not set (set both)');
  }

  const seenFamilies = new Set<string>();
  ipFamilies.forEach((fam, i) => {
    if (!(IP_FAMILIES as readonly string[]).includes(fam)) r.add(indexPath('spec.ipFamilies', i), notSupported(fam, IP_FAMILIES));
    else if (seenFamilies.has(fam)) r.add(indexPath('spec.ipFamilies', i), `duplicate family ${fam}`);
    seenFamilies.add(fam);
  });
  if (ipFamilies.length > 2) r.add('spec.ipFamilies', 'may hold at most 2 values');
  if (f.policyRaw !== undefined && !(IP_FAMILY_POLICIES as readonly string[]).includes(f.policyRaw)) {
    r.add('spec.ipFamilyPolicy', notSupported(f.policyRaw, IP_FAMILY_POLICIES));
  }

  let bad = false;
  const parsed: ParsedIP[] = [];
  clusterIPs.forEach((ip, i) => {
    if (ip === 'None') {
      if (i !== 0 || clusterIPs.length > 1) {
        bad = true;
        r.add('spec.clusterIPs', "'None' must be the first and only value");
      }
      return;
    }
    const p = parseIP(ip);
    if (!p) {
      bad = true;
      r.add(f.ipField(i), VALID_IP_MSG);
    } else {
      parsed.push(p);
    }
  });
  if (clusterIPs.length > 2) {
    r.add('spec.clusterIPs', 'may hold at most 2 values');
    bad = true;
  }
  // Later checks would only repeat a bad address's problem in other words.
  if (bad) return;
  if (parsed.length === 2 && parsed[0]!.family === parsed[1]!.family) {
    r.add('spec.clusterIPs', 'may hold at most one IP of each family (dual-stack: one IPv4 and one IPv6)');
  }
  if (!f.headless) {
    parsed.forEach((p, i) => {
      const fam = ipFamilies[i];
      if (fam && (IP_FAMILIES as readonly string[]).includes(fam) && fam !== p.family) {
        r.add(f.ipField(i), `expected an ${fam} address, as spec.ipFamilies[${i}] says`);
      }
    });
  }
  // The allocator's rules: single-stack means one family; dual-stack needs both.
  const policy = f.policyRaw;
  if (policy === 'SingleStack' && (ipFamilies.length > 1 || parsed.length > 1)) {
    r.add('spec.ipFamilyPolicy', "must be 'PreferDualStack' or 'RequireDualStack' when two IP families or clusterIPs are given");
  }
  if (policy === 'RequireDualStack' && !f.headless && parsed.length === 1) {
    // The API server would allocate the second address; a plan cannot know which one it picks.
    r.add('spec.clusterIPs', 'RequireDualStack needs a clusterIP of each family; give the secondary one too');
  }
  if (f.serviceCIDRs.length > 0) {
    const cidrs = f.serviceCIDRs.map((c) => parseCIDR(c)).filter((c): c is ParsedCIDR => c !== undefined);
    parsed.forEach((p, i) => {
      const e = serviceCIDRError(p, cidrs);
      if (e) r.add(f.ipField(i), e);
    });
  }
}

function readIngress(
  r: FieldReader,
  root: JsonObject,
  annotations: Readonly<Record<string, string>>,
  isLB: boolean,
): ServiceObjectIngress[] {
  const out: ServiceObjectIngress[] = [];
  const status = r.object(root.status, 'status');
  const lb = r.object(status?.loadBalancer, 'status.loadBalancer');
  const ingress = r.array(lb?.ingress, 'status.loadBalancer.ingress') ?? [];
  if (ingress.length > 0 && !isLB) r.add('status.loadBalancer.ingress', 'may only be used when type is LoadBalancer');
  ingress.forEach((iv, i) => {
    const path = indexPath('status.loadBalancer.ingress', i);
    const o = r.object(iv, path);
    if (!o) return;
    const ip = r.string(o.ip, childPath(path, 'ip'));
    const hostname = r.string(o.hostname, childPath(path, 'hostname'));
    let ipMode = r.string(o.ipMode, childPath(path, 'ipMode'));
    if (ip !== undefined && ip !== '') {
      if (!parseIP(ip)) r.add(childPath(path, 'ip'), VALID_IP_MSG);
      ipMode ??= 'VIP';
    }
    if (hostname !== undefined && hostname !== '') {
      if (parseIP(hostname)) r.add(childPath(path, 'hostname'), 'must be a DNS name, not an IP address');
      else addIf(r, childPath(path, 'hostname'), dns1123SubdomainError(hostname));
    }
    if (ipMode !== undefined) {
      if (!ip) r.add(childPath(path, 'ipMode'), 'may only be set when ip is set');
      else if (!(IP_MODES as readonly string[]).includes(ipMode)) r.add(childPath(path, 'ipMode'), notSupported(ipMode, IP_MODES));
    }
    out.push({
      ...(ip ? { ip } : {}),
      ...(hostname ? { hostname } : {}),
      ...(ipMode !== undefined ? { ipMode } : {}),
    });
  });
  const ann = annotations[LOAD_BALANCER_INGRESS_ANNOTATION];
  if (ann !== undefined) {
    const field = keyPath('metadata.annotations', LOAD_BALANCER_INGRESS_ANNOTATION);
    if (!isLB) r.add(field, 'may only be used when type is LoadBalancer');
    for (const ip of ann.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
      if (!parseIP(ip)) r.add(field, `${JSON.stringify(ip)} ${VALID_IP_MSG}`);
      else out.push({ ip, ipMode: 'VIP' });
    }
  }
  return out;
}
