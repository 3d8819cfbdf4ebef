// fast-check arbitraries for *valid* inputs: whole scenarios (Services of every type,
// their EndpointSlices, a Node, ServiceCIDRs, a KubeProxyConfiguration) that the API
// server would accept and that collectInputs must accept in strict mode.
//
// Uniqueness the API server's allocators guarantee (cluster IPs, node ports, names)
// is built in by index: Service i owns 10.96.1.(i+1), fd00:10:96::1:(i+1) and node
// ports 30000+10i.., so random choices never collide by accident. Everything else
// (types, ports, protocols, policies, affinity, families, conditions, hints, the
// configuration) is random.

import fc from 'fast-check';
import type { InputDocument } from '../../../src/manifests/inputs.js';
import type { ProxyMode } from '../../../src/model/render-input.js';

export type Json = Record<string, unknown>;

/** What the pipeline is run on: documents as collectInputs reads them, plus the flags. */
export interface Scenario {
  readonly docs: InputDocument[];
  readonly mode: ProxyMode;
  readonly nodeName?: string;
}

export const SERVICE_CIDRS = { v4: '10.96.0.0/16', v6: 'fd00:10:96::/112' } as const;
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

/** Every source string collectInputs sees is `fuzz#N`, so messages can be matched to documents. */
export function toDocs(objects: readonly Json[]): InputDocument[] {
  return objects.map((object, i) => ({ object, source: `fuzz#${i + 1}` }));
}

const dnsLabel = fc.stringMatching(/^[a-z]([-a-z0-9]{0,10}[a-z0-9])?$/);
/** An IANA service name (a named targetPort): lowercase, a letter, no "--", at most 15. */
const ianaName = fc.stringMatching(/^[a-z]{1,4}(-[a-z0-9]{1,4}){0,2}$/);
const family = fc.constantFrom('IPv4', 'IPv6');

interface PortSpec {
  readonly port: number;
  readonly protocol: (typeof PROTOCOLS)[number];
  /** A number, or a named port the slices resolve. */
  readonly target: number | string;
  readonly targetNumber: number;
  readonly appProtocol?: string;
}

const portSpecs = fc
  .uniqueArray(
    fc.record({
      port: fc.integer({ min: 1, max: 65535 }),
      protocol: fc.constantFrom(...PROTOCOLS),
      named: fc.option(ianaName, { nil: undefined }),
      targetNumber: fc.integer({ min: 1, max: 65535 }),
      appProtocol: fc.option(fc.constantFrom('http', 'kubernetes.io/h2c', 'grpc'), { nil: undefined }),
    }),
    { minLength: 1, maxLength: 4, selector: (p) => `${p.port}/${p.protocol}` },
  )
  .map((ps): PortSpec[] => {
    // Named target ports must be unique per protocol for a slice to resolve them; make them so.
    const seen = new Set<string>();
    return ps.map((p) => {
      const name = p.named && !seen.has(p.named) ? p.named : undefined;
      if (name) seen.add(name);
      return {
        port: p.port,
        protocol: p.protocol,
        target: name ?? p.targetNumber,
        targetNumber: p.targetNumber,
        ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
      };
    });
  });

const serviceType = fc.constantFrom('ClusterIP', 'ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName', 'Headless');
type ServiceKind = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName' | 'Headless';

/** The random choices for one Service; addresses and node ports come from its index. */
const serviceChoices = fc.record({
  kind: serviceType as fc.Arbitrary<ServiceKind>,
  ports: portSpecs,
  stack: fc.constantFrom('v4', 'v6', 'v4v6', 'v6v4', 'unset'),
  dualPolicy: fc.constantFrom('RequireDualStack', 'PreferDualStack'),
  writeFamilies: fc.boolean(),
  writeClusterIPs: fc.boolean(),
  affinity: fc.option(fc.option(fc.integer({ min: 1, max: 86400 }), { nil: undefined }), { nil: null }),
  etp: fc.option(fc.constantFrom('Cluster', 'Local'), { nil: undefined }),
  itp: fc.option(fc.constantFrom('Cluster', 'Local'), { nil: undefined }),
  externalIPs: fc.subarray(['203.0.113.10', '203.0.113.11', '2001:db8::10']),
  sourceRanges: fc.subarray(['198.51.100.0/24', ' 192.0.2.0/25 ', '2001:db8:1::/64', '0.0.0.0/0']),
  ingress: fc.subarray([
    { ip: '198.51.100.200' },
    { ip: '198.51.100.201', ipMode: 'Proxy' },
    { ip: '2001:db8:2::1', ipMode: 'VIP' },
    { hostname: 'lb.example.com' },
  ]),
  nodePorts: fc.boolean(),
  healthCheck: fc.boolean(),
  allocateLBNodePorts: fc.option(fc.boolean(), { nil: undefined }),
  ours: fc.boolean(),
  otherProxy: fc.boolean(),
  publishNotReady: fc.option(fc.boolean(), { nil: undefined }),
  trafficDistribution: fc.option(fc.constantFrom('PreferClose', 'PreferSameZone', 'PreferSameNode'), { nil: undefined }),
  topology: fc.option(fc.constantFrom('Auto', 'auto', 'Disabled'), { nil: undefined }),
  noSelector: fc.boolean(),
  /** A lone port may go without a name; several must all have one. */
  nameLonePort: fc.boolean(),
});
type ServiceChoices = typeof serviceChoices extends fc.Arbitrary<infer T> ? T : never;

function clusterIPsFor(i: number, stack: string): string[] {
  const v4 = `10.96.1.${i + 1}`;
  const v6 = `fd00:10:96::${(0x100 + i + 1).toString(16)}`;
  return stack === 'v4' ? [v4] : stack === 'v6' ? [v6] : stack === 'v4v6' ? [v4, v6] : stack === 'v6v4' ? [v6, v4] : [];
}

const familyOf = (ip: string): string => (ip.includes(':') ? 'IPv6' : 'IPv4');

/** A Service manifest the API server accepts, with the facts its slices need. */
export interface BuiltService {
  readonly object: Json;
  readonly name: string;
  readonly ports: readonly PortSpec[];
  /** Families its slices may use (those of its cluster IPs, or both when unknown). */
  readonly families: readonly string[];
  readonly kind: ServiceKind;
  readonly nameLonePort: boolean;
}

/** Port j's name, the same on the Service and on its slices ('' = unnamed). */
function portName(count: number, nameLonePort: boolean, j: number): string {
  return count > 1 || nameLonePort ? `p${j}` : '';
}

export function buildService(i: number, name: string, namespace: string, c: ServiceChoices): BuiltService {
  const type = c.kind === 'Headless' ? 'ClusterIP' : c.kind;
  const external = type === 'NodePort' || type === 'LoadBalancer' || (type === 'ClusterIP' && c.kind !== 'Headless' && c.externalIPs.length > 0);
  const ports = c.ports.map((p, j) => ({
    ...(portName(c.ports.length, c.nameLonePort, j) !== '' ? { name: portName(c.ports.length, c.nameLonePort, j) } : {}),
    port: p.port,
    ...(p.protocol !== 'TCP' || j % 2 === 1 ? { protocol: p.protocol } : {}),
    targetPort: p.target,
    ...(c.nodePorts && (type === 'NodePort' || type === 'LoadBalancer') ? { nodePort: 30000 + i * 10 + j } : {}),
    ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
  }));
  const spec: Json = { type, ports };
  if (!c.noSelector) spec.selector = { app: name };
  let families: string[] = ['IPv4', 'IPv6'];
  if (type === 'ExternalName') {
    spec.externalName = 'db.example.com';
    if (c.kind === 'ExternalName' && c.ports.length % 2 === 0) delete spec.ports; // ports are optional here
  } else if (c.kind === 'Headless') {
    spec.clusterIP = 'None';
  } else {
    const ips = clusterIPsFor(i, c.stack);
    if (ips.length > 0) {
      spec.clusterIP = ips[0];
      if (c.writeClusterIPs || ips.length > 1) spec.clusterIPs = ips;
      if (c.writeFamilies) spec.ipFamilies = ips.map(familyOf);
      if (ips.length > 1) spec.ipFamilyPolicy = c.dualPolicy;
      else if (c.writeFamilies) spec.ipFamilyPolicy = 'SingleStack';
      families = ips.map(familyOf);
    }
  }
  if (type !== 'ExternalName' && c.kind !== 'Headless') {
    if (c.affinity !== null) {
      spec.sessionAffinity = 'ClientIP';
      if (c.affinity !== undefined) spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: c.affinity } };
    }
    if (c.externalIPs.length > 0) spec.externalIPs = c.externalIPs;
  }
  if (external && c.etp) spec.externalTrafficPolicy = c.etp;
  if (c.itp) spec.internalTrafficPolicy = c.itp;
  if (c.publishNotReady !== undefined) spec.publishNotReadyAddresses = c.publishNotReady;
  if (c.trafficDistribution) spec.trafficDistribution = c.trafficDistribution;
  const status: Json = {};
  if (type === 'LoadBalancer') {
    if (c.sourceRanges.length > 0) spec.loadBalancerSourceRanges = c.sourceRanges;
    if (c.allocateLBNodePorts !== undefined) spec.allocateLoadBalancerNodePorts = c.allocateLBNodePorts;
    if (c.healthCheck && c.etp === 'Local') spec.healthCheckNodePort = 31000 + i;
    if (c.ingress.length > 0) status.loadBalancer = { ingress: c.ingress };
  }
  const labels: Json = {};
  if (c.ours) labels['service.kubernetes.io/service-proxy-name'] = 'svcplane';
  else if (c.otherProxy) labels['service.kubernetes.io/service-proxy-name'] = 'other-proxy';
  const annotations: Json = {};
  if (c.topology) annotations['service.kubernetes.io/topology-mode'] = c.topology;
  const object: Json = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels, annotations },
    spec,
    ...(Object.keys(status).length > 0 ? { status } : {}),
  };
  return { object, name, ports: c.ports, families, kind: c.kind, nameLonePort: c.nameLonePort };
}

/** Random conditions, absent as often as present (absent means ready and serving). */
const conditions = fc.option(
  fc.record(
    { ready: fc.boolean(), serving: fc.boolean(), terminating: fc.boolean() },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);

const endpointChoices = fc.record({
  host: fc.integer({ min: 1, max: 250 }),
  conditions,
  nodeName: fc.option(fc.constantFrom('node1', 'node2'), { nil: undefined }),
  zone: fc.option(fc.constantFrom('zone-a', 'zone-b'), { nil: undefined }),
  hints: fc.option(fc.subarray(['zone-a', 'zone-b'], { minLength: 1 }), { nil: undefined }),
  nodeHints: fc.option(fc.subarray(['node1', 'node2'], { minLength: 1 }), { nil: undefined }),
  extraAddress: fc.boolean(),
});

const sliceChoices = fc.record({
  family,
  endpoints: fc.array(endpointChoices, { maxLength: 5 }),
  dropPort: fc.boolean(),
  extraPort: fc.boolean(),
});

/** An EndpointSlice for `s` whose ports resolve its named and numbered target ports. */
export function buildSlice(s: BuiltService, namespace: string, k: number, c: typeof sliceChoices extends fc.Arbitrary<infer T> ? T : never): Json {
  const fam = s.families.includes(c.family) ? c.family : s.families[0]!;
  const addr = (h: number): string => (fam === 'IPv4' ? `10.244.${(h % 3) + 1}.${h}` : `fd00:244:${(h % 3) + 1}::${h.toString(16)}`);
  let ports = s.ports.map((p, j) => ({
    name: portName(s.ports.length, s.nameLonePort, j),
    port: p.targetNumber,
    protocol: p.protocol,
  }));
  if (c.dropPort && ports.length > 1) ports = ports.slice(1);
  if (c.extraPort) ports.push({ name: 'unused', port: 9999, protocol: 'TCP' });
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${s.name}-${fam === 'IPv4' ? 'v4' : 'v6'}-${k}`, namespace, labels: { 'kubernetes.io/service-name': s.name } },
    addressType: fam,
    endpoints: c.endpoints.map((e) => ({
      addresses: e.extraAddress ? [addr(e.host), addr(e.host + 1)] : [addr(e.host)],
      ...(e.conditions ? { conditions: e.conditions } : {}),
      ...(e.nodeName ? { nodeName: e.nodeName } : {}),
      ...(e.zone ? { zone: e.zone } : {}),
      ...(e.hints || e.nodeHints
        ? {
            hints: {
              ...(e.hints ? { forZones: e.hints.map((name) => ({ name })) } : {}),
              ...(e.nodeHints ? { forNodes: e.nodeHints.map((name) => ({ name })) } : {}),
            },
          }
        : {}),
    })),
    ports,
  };
}

export const NODE_OBJECT: Json = {
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: 'node1', labels: { 'topology.kubernetes.io/zone': 'zone-a' } },
  spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24', 'fd00:244:1::/64'] },
  status: {
    addresses: [
      { type: 'Hostname', address: 'node1' },
      { type: 'InternalIP', address: '192.168.50.1' },
      { type: 'InternalIP', address: 'fd00:50::1' },
      { type: 'ExternalIP', address: '198.51.100.50' },
    ],
  },
};

export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'sh', 'dh', 'sed', 'nq'] as const;

/** A KubeProxyConfiguration that kube-proxy accepts, with each rule-changing field random. */
export const proxyConfigObject: fc.Arbitrary<Json> = fc
  .record(
    {
      mode: fc.constantFrom('', 'iptables', 'ipvs', 'nftables'),
      clusterCIDR: fc.constantFrom('', '10.244.0.0/16', '10.244.0.0/16,fd00:244::/48', 'fd00:244::/48', ' 10.244.0.0/16 , fd00:244::/48 '),
      detect: fc.constantFrom(
        {},
        { detectLocalMode: 'ClusterCIDR' },
        { detectLocalMode: 'NodeCIDR' },
        { detectLocalMode: 'BridgeInterface', detectLocal: { bridgeInterface: 'cbr0' } },
        { detectLocalMode: 'InterfaceNamePrefix', detectLocal: { interfaceNamePrefix: 'veth' } },
      ),
      nodePortAddresses: fc.constantFrom(undefined, [], ['primary'], ['192.168.50.0/24'], ['192.168.0.0/16', 'fd00:50::/64'], ['127.0.0.0/8']),
      masqueradeAll: fc.boolean(),
      masqueradeBit: fc.integer({ min: 0, max: 31 }),
      localhostNodePorts: fc.boolean(),
      scheduler: fc.constantFrom('', ...SCHEDULERS),
      hostnameOverride: fc.constantFrom('', 'node1', ' Node1 ', 'node2'),
      syncPeriod: fc.constantFrom('30s', '1m', '0', '1h30m', '500ms'),
      // The node-level settings: they change no rule, the render must not mind them.
      ipvsNode: fc.constantFrom(
        { excludeCIDRs: ['10.200.0.0/16'], strictARP: true },
        { tcpTimeout: '15m', tcpFinTimeout: '30s', udpTimeout: '0s' },
        { excludeCIDRs: [], strictARP: false },
      ),
      conntrack: fc.constantFrom({}, { maxPerCore: 0 }, { maxPerCore: 65536, min: 131072, tcpEstablishedTimeout: '2h', tcpBeLiberal: true, udpTimeout: '30s' }),
      listen: fc.constantFrom({}, { healthzBindAddress: '0.0.0.0:10256', metricsBindAddress: '[::1]:10249' }),
      // Fields svcplane accepts and ignores with a warning.
      ignored: fc.constantFrom({}, { oomScoreAdj: -999, featureGates: { SomeGate: true } }, { winkernel: { enableDSR: false }, configSyncPeriod: '15m' }),
    },
    { requiredKeys: ['detect'] },
  )
  .map((c) => {
    const section = {
      ...(c.masqueradeAll !== undefined ? { masqueradeAll: c.masqueradeAll } : {}),
      ...(c.masqueradeBit !== undefined ? { masqueradeBit: c.masqueradeBit } : {}),
      ...(c.syncPeriod !== undefined ? { syncPeriod: c.syncPeriod, minSyncPeriod: '1s' } : {}),
    };
    return {
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      ...(c.mode ? { mode: c.mode } : {}),
      ...(c.clusterCIDR !== undefined ? { clusterCIDR: c.clusterCIDR } : {}),
      ...c.detect,
      ...(c.nodePortAddresses !== undefined ? { nodePortAddresses: c.nodePortAddresses } : {}),
      iptables: { ...section, ...(c.localhostNodePorts !== undefined ? { localhostNodePorts: c.localhostNodePorts } : {}) },
      nftables: section,
      ipvs: { ...(c.scheduler !== undefined ? { scheduler: c.scheduler } : {}), syncPeriod: '30s', ...c.ipvsNode },
      ...(c.hostnameOverride !== undefined ? { hostnameOverride: c.hostnameOverride } : {}),
      ...(c.conntrack !== undefined ? { conntrack: c.conntrack } : {}),
      ...c.listen,
      ...c.ignored,
    };
  });

const serviceCIDRObjects = fc.constantFrom<Json[]>(
  [],
  [{ apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR', metadata: { name: 'kubernetes' }, spec: { cidrs: [SERVICE_CIDRS.v4, SERVICE_CIDRS.v6] } }],
  [
    { apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR', metadata: { name: 'v4' }, spec: { cidrs: [SERVICE_CIDRS.v4] } },
    { apiVersion: 'networking.k8s.io/v1beta1', kind: 'ServiceCIDR', metadata: { name: 'v6' }, spec: { cidrs: [SERVICE_CIDRS.v6] } },
  ],
);

/** The objects of one valid scenario, before they become documents. */
export interface ValidWorld {
  readonly services: BuiltService[];
  readonly objects: Json[];
  readonly mode: ProxyMode;
  readonly nodeName?: string;
}

export const validWorld: fc.Arbitrary<ValidWorld> = fc
  .record({
    services: fc.uniqueArray(fc.record({ name: dnsLabel, namespace: fc.constantFrom('default', '', 'shop', 'kube-system'), c: serviceChoices }), {
      minLength: 1,
      maxLength: 4,
      selector: (s) => `${s.namespace || 'default'}/${s.name}`,
    }),
    slices: fc.array(fc.array(sliceChoices, { maxLength: 2 }), { minLength: 4, maxLength: 4 }),
    node: fc.boolean(),
    config: fc.option(proxyConfigObject, { nil: undefined }),
    cidrs: serviceCIDRObjects,
    mode: fc.constantFrom<ProxyMode>('coexist', 'replace'),
    nodeName: fc.constantFrom(undefined, 'node1', 'NODE1'),
    order: fc.boolean(),
  })
  .map((w): ValidWorld => {
    const services = w.services.map((s, i) => buildService(i, s.name, s.namespace, s.c));
    const slices = services.flatMap((s, i) =>
      s.kind === 'ExternalName' ? [] : w.slices[i]!.map((c, k) => buildSlice(s, w.services[i]!.namespace, k, c)),
    );
    const rest = [...w.cidrs, ...(w.node ? [NODE_OBJECT] : []), ...(w.config ? [w.config] : [])];
    // collectInputs sorts by kind itself: document order must not matter.
    const objects = w.order ? [...services.map((s) => s.object), ...slices, ...rest] : [...rest, ...slices.reverse(), ...services.map((s) => s.object)];
    return { services, objects, mode: w.mode, ...(w.nodeName ? { nodeName: w.nodeName } : {}) };
  });

export function scenarioOf(w: ValidWorld): Scenario {
  return { docs: toDocs(w.objects), mode: w.mode, ...(w.nodeName ? { nodeName: w.nodeName } : {}) };
}
