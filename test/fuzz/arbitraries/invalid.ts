// fast-check arbitraries for *invalid* inputs: a valid scenario with exactly one
// field of one object broken, and what the error must name (the object and the
// field path). Two families of breakage:
//
// - targeted mutations: values the API server refuses for that field (bad IPs,
//   port 0 and 65536, unknown protocols and enums, bad names, missing required
//   fields, a cluster IP outside the ServiceCIDRs, duplicates, out-of-range node
//   ports...);
// - wrong types: any field of a Service, EndpointSlice or KubeProxyConfiguration
//   replaced by a JSON value of another type.

import fc from 'fast-check';
import { allPaths, fieldOf, getPath, setPath, type JsonPath } from './json-paths.js';
import { NODE_OBJECT, SERVICE_CIDRS, proxyConfigObject, toDocs, validWorld, type Json, type Scenario } from './valid.js';

type TargetKind = 'Service' | 'EndpointSlice' | 'KubeProxyConfiguration' | 'Node' | 'ServiceCIDR';

/** A scenario with one broken field, and what its error must say. */
export interface BrokenScenario extends Scenario {
  /** The object as an error names it, e.g. `Service shop/web` or `KubeProxyConfiguration`. */
  readonly ref: string;
  /** The broken field, e.g. `spec.ports[1].port`. */
  readonly field: string;
  /** Which mutation, for the failure report. */
  readonly mutation: string;
}

interface Broken {
  readonly object: Json;
  readonly field: string;
  /** Objects to add to the scenario (e.g. ServiceCIDRs a check needs). */
  readonly extra?: Json[];
}

interface Mutation {
  readonly name: string;
  readonly kind: TargetKind;
  /** The broken object, or undefined when this mutation does not fit this object. */
  apply(o: Json, all: readonly Json[]): Broken | undefined;
}

const spec = (o: Json): Json => (o.spec ?? {}) as Json;
const ports = (o: Json): Json[] => (Array.isArray(spec(o).ports) ? (spec(o).ports as Json[]) : []);
const type = (o: Json): string => (spec(o).type as string | undefined) ?? 'ClusterIP';
const headless = (o: Json): boolean => spec(o).clusterIP === 'None';
const hasVIP = (o: Json): boolean => type(o) !== 'ExternalName' && !headless(o);

/** `path` := `value`; the error names `field` (default: the path itself). */
function at(o: Json, path: JsonPath, value: unknown, field = fieldOf(path)): Broken {
  return { object: setPath(o, path, value), field };
}

const CIDR_OBJECT: Json = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'ServiceCIDR',
  metadata: { name: 'fuzz-cidrs' },
  spec: { cidrs: [SERVICE_CIDRS.v4, SERVICE_CIDRS.v6] },
};

const portMutation = (name: string, key: string, value: unknown, when: (o: Json, p: Json) => boolean = () => true): Mutation => ({
  name,
  kind: 'Service',
  apply: (o) => {
    const i = ports(o).findIndex((p) => when(o, p));
    return i < 0 ? undefined : at(o, ['spec', 'ports', i, key], value);
  },
});

/** clusterIP (and clusterIPs[0], which must equal it) := ip; errors name the field the API reads it from. */
function replaceFirstIP(o: Json, ip: string): Broken {
  const s: Json = { ...spec(o), clusterIP: ip };
  const listed = Array.isArray(s.clusterIPs);
  if (listed) s.clusterIPs = [ip, ...(s.clusterIPs as string[]).slice(1)];
  return { object: { ...o, spec: s }, field: listed ? 'spec.clusterIPs[0]' : 'spec.clusterIP' };
}

const nodePortType = (o: Json): boolean => type(o) === 'NodePort' || type(o) === 'LoadBalancer';

const SERVICE_MUTATIONS: Mutation[] = [
  { name: 'empty name', kind: 'Service', apply: (o) => at(o, ['metadata', 'name'], '') },
  { name: 'missing name', kind: 'Service', apply: (o) => at(o, ['metadata', 'name'], undefined) },
  { name: 'name with capitals', kind: 'Service', apply: (o) => at(o, ['metadata', 'name'], 'Web_Front') },
  { name: 'name starting with a digit', kind: 'Service', apply: (o) => at(o, ['metadata', 'name'], '1web') },
  { name: 'name over 63', kind: 'Service', apply: (o) => at(o, ['metadata', 'name'], 'a'.repeat(64)) },
  { name: 'bad namespace', kind: 'Service', apply: (o) => at(o, ['metadata', 'namespace'], 'Shop Floor') },
  { name: 'bad label key', kind: 'Service', apply: (o) => at(o, ['metadata', 'labels', 'bad key!'], 'x') },
  { name: 'bad label value', kind: 'Service', apply: (o) => at(o, ['metadata', 'labels', 'tier'], 'not ok') },
  { name: 'bad annotation key', kind: 'Service', apply: (o) => at(o, ['metadata', 'annotations', '-x-'], 'v') },
  { name: 'unknown type', kind: 'Service', apply: (o) => at(o, ['spec', 'type'], 'Ingress') },
  portMutation('port 0', 'port', 0),
  portMutation('port 65536', 'port', 65536),
  portMutation('port -1', 'port', -1),
  portMutation('port not an integer', 'port', 80.5),
  portMutation('port as a string', 'port', '80'),
  { name: 'port missing', kind: 'Service', apply: (o) => (ports(o).length ? at(o, ['spec', 'ports', 0, 'port'], undefined) : undefined) },
  portMutation('unknown protocol', 'protocol', 'ICMP'),
  portMutation('lowercase protocol', 'protocol', 'tcp'),
  portMutation('targetPort 65536', 'targetPort', 65536),
  portMutation('targetPort negative', 'targetPort', -5),
  portMutation('targetPort bad name', 'targetPort', 'Http_Port'),
  portMutation('targetPort name over 15', 'targetPort', 'abcdefghijklmnop'),
  portMutation('targetPort digits only', 'targetPort', '8080'),
  portMutation('targetPort boolean', 'targetPort', true),
  portMutation('port name with capitals', 'name', 'HTTP'),
  portMutation('nodePort out of range', 'nodePort', 1000, nodePortType),
  portMutation('nodePort 65536', 'nodePort', 65536, nodePortType),
  portMutation('nodePort on a ClusterIP Service', 'nodePort', 30500, (o) => type(o) === 'ClusterIP'),
  portMutation('bad appProtocol', 'appProtocol', 'h2 c'),
  {
    name: 'duplicate port',
    kind: 'Service',
    apply: (o) => {
      const ps = ports(o);
      if (ps.length === 0) return undefined;
      const dup = { ...ps[0]!, name: 'dup', nodePort: undefined };
      return at(o, ['spec', 'ports', ps.length], dup, `spec.ports[${ps.length}]`);
    },
  },
  { name: 'no ports', kind: 'Service', apply: (o) => (hasVIP(o) ? at(o, ['spec', 'ports'], []) : undefined) },
  { name: 'unnamed second port', kind: 'Service', apply: (o) => (ports(o).length > 1 ? at(o, ['spec', 'ports', 1, 'name'], undefined) : undefined) },
  { name: 'clusterIP not an IP', kind: 'Service', apply: (o) => (hasVIP(o) ? replaceFirstIP(o, '10.96.1.300') : undefined) },
  {
    name: 'clusterIP outside the ServiceCIDRs',
    kind: 'Service',
    apply: (o) => {
      if (!hasVIP(o) || typeof spec(o).clusterIP !== 'string') return undefined;
      const v6 = (spec(o).clusterIP as string).includes(':');
      return { ...replaceFirstIP(o, v6 ? 'fd00:10:97::5' : '10.97.0.5'), extra: [CIDR_OBJECT] };
    },
  },
  {
    name: 'clusterIP is the ServiceCIDR network address',
    kind: 'Service',
    apply: (o) => {
      if (!hasVIP(o) || spec(o).clusterIPs !== undefined || typeof spec(o).clusterIP !== 'string') return undefined;
      const v6 = (spec(o).clusterIP as string).includes(':');
      return { ...at(o, ['spec', 'clusterIP'], v6 ? 'fd00:10:96::' : '10.96.0.0'), extra: [CIDR_OBJECT] };
    },
  },
  {
    name: 'clusterIPs disagrees with clusterIP',
    kind: 'Service',
    apply: (o) => (hasVIP(o) && Array.isArray(spec(o).clusterIPs) ? at(o, ['spec', 'clusterIPs', 0], '10.96.200.200', 'spec.clusterIPs') : undefined),
  },
  { name: 'two IPs of one family', kind: 'Service', apply: (o) => (hasVIP(o) && Array.isArray(spec(o).clusterIPs) && (spec(o).clusterIPs as unknown[]).length === 2 ? at(o, ['spec', 'clusterIPs', 1], (spec(o).clusterIP as string).includes(':') ? 'fd00:10:96::999' : '10.96.99.99', 'spec.clusterIPs') : undefined) },
  { name: 'unknown ipFamilyPolicy', kind: 'Service', apply: (o) => (type(o) !== 'ExternalName' ? at(o, ['spec', 'ipFamilyPolicy'], 'DualStack') : undefined) },
  { name: 'unknown ipFamily', kind: 'Service', apply: (o) => (type(o) !== 'ExternalName' ? at(o, ['spec', 'ipFamilies'], ['IPv5'], 'spec.ipFamilies[0]') : undefined) },
  { name: 'externalIP not an IP', kind: 'Service', apply: (o) => at(o, ['spec', 'externalIPs'], ['203.0.113.x'], 'spec.externalIPs[0]') },
  { name: 'loopback externalIP', kind: 'Service', apply: (o) => at(o, ['spec', 'externalIPs'], ['127.0.0.1'], 'spec.externalIPs[0]') },
  { name: 'unknown sessionAffinity', kind: 'Service', apply: (o) => at(o, ['spec', 'sessionAffinity'], 'Cookie') },
  {
    name: 'affinity timeout 0',
    kind: 'Service',
    apply: (o) => ({ object: { ...o, spec: { ...spec(o), sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } } } }, field: 'spec.sessionAffinityConfig.clientIP.timeoutSeconds' }),
  },
  {
    name: 'affinity timeout over a day',
    kind: 'Service',
    apply: (o) => ({ object: { ...o, spec: { ...spec(o), sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 86401 } } } }, field: 'spec.sessionAffinityConfig.clientIP.timeoutSeconds' }),
  },
  { name: 'unknown externalTrafficPolicy', kind: 'Service', apply: (o) => (nodePortType(o) ? at(o, ['spec', 'externalTrafficPolicy'], 'Nearest') : undefined) },
  { name: 'externalTrafficPolicy on an internal Service', kind: 'Service', apply: (o) => (type(o) === 'ClusterIP' && !spec(o).externalIPs ? at(o, ['spec', 'externalTrafficPolicy'], 'Local') : undefined) },
  { name: 'unknown internalTrafficPolicy', kind: 'Service', apply: (o) => at(o, ['spec', 'internalTrafficPolicy'], 'local') },
  { name: 'unknown trafficDistribution', kind: 'Service', apply: (o) => at(o, ['spec', 'trafficDistribution'], 'Anywhere') },
  { name: 'bad loadBalancerSourceRange', kind: 'Service', apply: (o) => (type(o) === 'LoadBalancer' ? at(o, ['spec', 'loadBalancerSourceRanges'], ['10.0.0.0/33'], 'spec.loadBalancerSourceRanges[0]') : undefined) },
  { name: 'loadBalancerSourceRanges off a LoadBalancer', kind: 'Service', apply: (o) => (type(o) !== 'LoadBalancer' ? at(o, ['spec', 'loadBalancerSourceRanges'], ['10.0.0.0/8']) : undefined) },
  { name: 'healthCheckNodePort off a Local LoadBalancer', kind: 'Service', apply: (o) => (type(o) !== 'LoadBalancer' ? at(o, ['spec', 'healthCheckNodePort'], 31999) : undefined) },
  { name: 'ingress IP not an IP', kind: 'Service', apply: (o) => (type(o) === 'LoadBalancer' ? at(o, ['status'], { loadBalancer: { ingress: [{ ip: '198.51.100.256' }] } }, 'status.loadBalancer.ingress[0].ip') : undefined) },
  { name: 'unknown ipMode', kind: 'Service', apply: (o) => (type(o) === 'LoadBalancer' ? at(o, ['status'], { loadBalancer: { ingress: [{ ip: '198.51.100.9', ipMode: 'Direct' }] } }, 'status.loadBalancer.ingress[0].ipMode') : undefined) },
  { name: 'bad selector key', kind: 'Service', apply: (o) => at(o, ['spec', 'selector'], { 'app name': 'x' }, 'spec.selector[app name]') },
  { name: 'bad externalName', kind: 'Service', apply: (o) => (type(o) === 'ExternalName' ? at(o, ['spec', 'externalName'], 'db..example.com') : undefined) },
  { name: 'headless NodePort', kind: 'Service', apply: (o) => (type(o) === 'NodePort' ? at(o, ['spec'], { ...spec(o), clusterIP: 'None', clusterIPs: undefined }, 'spec.clusterIP') : undefined) },
  {
    name: 'duplicate Service',
    kind: 'Service',
    apply: (o) => ({ object: o, field: 'metadata.name', extra: [{ ...o, spec: { ...spec(o), clusterIP: undefined, clusterIPs: undefined, ipFamilyPolicy: undefined, ipFamilies: undefined } }] }),
  },
];

const sliceEndpoints = (o: Json): Json[] => (Array.isArray(o.endpoints) ? (o.endpoints as Json[]) : []);
const withEndpoint = (name: string, f: (o: Json) => Broken): Mutation => ({
  name,
  kind: 'EndpointSlice',
  apply: (o) => (sliceEndpoints(o).length > 0 ? f(o) : undefined),
});
const withSlicePort = (name: string, key: string, value: unknown): Mutation => ({
  name,
  kind: 'EndpointSlice',
  apply: (o) => (Array.isArray(o.ports) && o.ports.length > 0 ? at(o, ['ports', 0, key], value) : undefined),
});

const SLICE_MUTATIONS: Mutation[] = [
  { name: 'slice name with capitals', kind: 'EndpointSlice', apply: (o) => at(o, ['metadata', 'name'], 'Web_Slice') },
  { name: 'slice without service-name label', kind: 'EndpointSlice', apply: (o) => at(o, ['metadata', 'labels'], {}, 'metadata.labels[kubernetes.io/service-name]') },
  { name: 'bad service-name label', kind: 'EndpointSlice', apply: (o) => at(o, ['metadata', 'labels', 'kubernetes.io/service-name'], 'web front') },
  { name: 'unknown addressType', kind: 'EndpointSlice', apply: (o) => at(o, ['addressType'], 'IPv5') },
  { name: 'missing addressType', kind: 'EndpointSlice', apply: (o) => at(o, ['addressType'], undefined) },
  withEndpoint('endpoint address not an IP', (o) => at(o, ['endpoints', 0, 'addresses', 0], '10.244.1.999')),
  withEndpoint('endpoint address of the other family', (o) => at(o, ['endpoints', 0, 'addresses', 0], o.addressType === 'IPv4' ? 'fd00::1' : '10.0.0.1')),
  withEndpoint('loopback endpoint', (o) => at(o, ['endpoints', 0, 'addresses', 0], o.addressType === 'IPv4' ? '127.0.0.1' : '::1')),
  withEndpoint('endpoint without addresses', (o) => at(o, ['endpoints', 0, 'addresses'], [])),
  withEndpoint('ready as a string', (o) => at(o, ['endpoints', 0, 'conditions'], { ready: 'yes' }, 'endpoints[0].conditions.ready')),
  withEndpoint('bad nodeName', (o) => at(o, ['endpoints', 0, 'nodeName'], 'Node_1')),
  withEndpoint('bad hostname', (o) => at(o, ['endpoints', 0, 'hostname'], 'pod.one')),
  withEndpoint('hint without a name', (o) => at(o, ['endpoints', 0, 'hints'], { forZones: [{}] }, 'endpoints[0].hints.forZones[0].name')),
  withEndpoint('too many zone hints', (o) => at(o, ['endpoints', 0, 'hints'], { forZones: Array.from({ length: 9 }, (_, i) => ({ name: `z${i}` })) }, 'endpoints[0].hints.forZones')),
  withSlicePort('slice port 0', 'port', 0),
  withSlicePort('slice port 65536', 'port', 65536),
  withSlicePort('slice port protocol', 'protocol', 'ICMP'),
  withSlicePort('slice port name', 'name', 'HTTP'),
  withSlicePort('slice port appProtocol', 'appProtocol', 'a b'),
  {
    name: 'duplicate EndpointSlice',
    kind: 'EndpointSlice',
    apply: (o) => ({ object: o, field: 'metadata.name', extra: [structuredClone(o)] }),
  },
];

/** The configuration with a conntrack section (the valid arbitrary may leave it out). */
const withConntrack = (o: Json): Json => ({ ...o, conntrack: { ...((o.conntrack ?? {}) as Json) } });

const CONFIG_MUTATIONS: Mutation[] = [
  { name: 'unknown mode', kind: 'KubeProxyConfiguration', apply: (o) => at(o, ['mode'], 'userspace') },
  { name: 'bad clusterCIDR', kind: 'KubeProxyConfiguration', apply: (o) => at(o, ['clusterCIDR'], '10.244.0.0/40') },
  { name: 'three clusterCIDRs', kind: 'KubeProxyConfiguration', apply: (o) => at(o, ['clusterCIDR'], '10.1.0.0/16,10.2.0.0/16,fd00::/64') },
  { name: 'unknown detectLocalMode', kind: 'KubeProxyConfiguration', apply: (o) => at(o, ['detectLocalMode'], 'PodCIDR') },
  { name: 'BridgeInterface without a bridge', kind: 'KubeProxyConfiguration', apply: (o) => ({ object: { ...o, detectLocalMode: 'BridgeInterface', detectLocal: {} }, field: 'detectLocal.bridgeInterface' }) },
  { name: 'InterfaceNamePrefix without a prefix', kind: 'KubeProxyConfiguration', apply: (o) => ({ object: { ...o, detectLocalMode: 'InterfaceNamePrefix', detectLocal: { interfaceNamePrefix: '' } }, field: 'detectLocal.interfaceNamePrefix' }) },
  { name: 'bad nodePortAddresses', kind: 'KubeProxyConfiguration', apply: (o) => at(o, ['nodePortAddresses'], ['192.168.0.0/16', 'eth0'], 'nodePortAddresses[1]') },
  { name: 'primary mixed with CIDRs', kind: 'KubeProxyConfiguration', apply: (o) => at(o, ['nodePortAddresses'], ['192.168.0.0/16', 'primary'], 'nodePortAddresses[1]') },
  { name: 'masqueradeBit 32', kind: 'KubeProxyConfiguration', apply: (o) => at(o, ['iptables', 'masqueradeBit'], 32) },
  { name: 'nftables masqueradeBit -1', kind: 'KubeProxyConfiguration', apply: (o) => at(o, ['nftables', 'masqueradeBit'], -1) },
  { name: 'masqueradeAll as a string', kind: 'KubeProxyConfiguration', apply: (o) => at(o, ['iptables', 'masqueradeAll'], 'true') },
  { name: 'syncPeriod not a duration', kind: 'KubeProxyConfiguration', apply: (o) => at(o, ['ipvs', 'syncPeriod'], '5 minutes') },
  { name: 'negative minSyncPeriod', kind: 'KubeProxyConfiguration', apply: (o) => at(o, ['nftables', 'minSyncPeriod'], '-1s') },
  { name: 'unknown IPVS scheduler', kind: 'KubeProxyConfiguration', apply: (o) => at(o, ['ipvs', 'scheduler'], 'fastest') },
  // Strict decoding, as kube-proxy's: a misspelt key must not pass as "unset".
  { name: 'misspelt clusterCidr', kind: 'KubeProxyConfiguration', apply: (o) => at(o, ['clusterCidr'], '10.244.0.0/16') },
  { name: 'unknown conntrack key', kind: 'KubeProxyConfiguration', apply: (o) => at(withConntrack(o), ['conntrack', 'maxPerCPU'], 8) },
  { name: 'unknown ipvs key', kind: 'KubeProxyConfiguration', apply: (o) => at(o, ['ipvs', 'strictArp'], true) },
  { name: 'bad excludeCIDRs', kind: 'KubeProxyConfiguration', apply: (o) => at(o, ['ipvs', 'excludeCIDRs'], ['10.200.0.0/16', '10.200.0.1'], 'ipvs.excludeCIDRs[1]') },
  { name: 'bad conntrack timeout', kind: 'KubeProxyConfiguration', apply: (o) => at(withConntrack(o), ['conntrack', 'tcpCloseWaitTimeout'], '1 hour') },
  { name: 'healthzBindAddress without a port', kind: 'KubeProxyConfiguration', apply: (o) => at(o, ['healthzBindAddress'], '0.0.0.0') },
];

const NODE_MUTATIONS: Mutation[] = [
  { name: 'node name with capitals', kind: 'Node', apply: (o) => at(o, ['metadata', 'name'], 'Node_1') },
  { name: 'bad podCIDR', kind: 'Node', apply: (o) => at(o, ['spec'], { podCIDR: '10.244.1.0/33' }, 'spec.podCIDR') },
  { name: 'bad podCIDRs', kind: 'Node', apply: (o) => at(o, ['spec', 'podCIDRs', 1], 'fd00:244:1::/129') },
  { name: 'two podCIDRs of one family', kind: 'Node', apply: (o) => at(o, ['spec', 'podCIDRs', 1], '10.245.0.0/24', 'spec.podCIDRs') },
  { name: 'addresses not a list', kind: 'Node', apply: (o) => at(o, ['status', 'addresses'], 'x') },
];

const CIDR_MUTATIONS: Mutation[] = [
  { name: 'ServiceCIDR with host bits', kind: 'ServiceCIDR', apply: (o) => at(o, ['spec', 'cidrs', 0], '10.96.0.1/16') },
  { name: 'ServiceCIDR not canonical', kind: 'ServiceCIDR', apply: (o) => at(o, ['spec', 'cidrs'], ['fd00:10:96:0::/112'], 'spec.cidrs[0]') },
  { name: 'ServiceCIDR prefix 33', kind: 'ServiceCIDR', apply: (o) => at(o, ['spec', 'cidrs', 0], '10.96.0.0/33') },
  { name: 'ServiceCIDR without cidrs', kind: 'ServiceCIDR', apply: (o) => at(o, ['spec', 'cidrs'], []) },
  { name: 'ServiceCIDR with two v4', kind: 'ServiceCIDR', apply: (o) => at(o, ['spec', 'cidrs'], ['10.96.0.0/16', '10.97.0.0/16'], 'spec.cidrs') },
  { name: 'ServiceCIDR without a name', kind: 'ServiceCIDR', apply: (o) => at(o, ['metadata', 'name'], undefined) },
];

export const MUTATIONS: readonly Mutation[] = [...SERVICE_MUTATIONS, ...SLICE_MUTATIONS, ...CONFIG_MUTATIONS, ...NODE_MUTATIONS, ...CIDR_MUTATIONS];

/** The ref an error must name, from the object as broken. */
export function refOf(o: Json): string {
  const meta = (typeof o.metadata === 'object' && o.metadata !== null ? o.metadata : {}) as Json;
  const kind = o.kind as string;
  if (kind === 'KubeProxyConfiguration') return kind;
  const name = typeof meta.name === 'string' ? meta.name : undefined;
  const namespaced = kind === 'Service' || kind === 'EndpointSlice';
  const ns = namespaced ? `${typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : 'default'}/` : '';
  return name === undefined ? kind : `${kind} ${ns}${name}`;
}

/** Objects of `kind` in the world; a default one is added for the kinds a world may lack. */
function targets(objects: readonly Json[], kind: TargetKind): { objects: Json[]; indexes: number[] } {
  const list = [...objects];
  if (!list.some((o) => o.kind === kind)) {
    if (kind === 'Node') list.push(NODE_OBJECT);
    if (kind === 'ServiceCIDR') list.push(CIDR_OBJECT);
  }
  return { objects: list, indexes: list.flatMap((o, i) => (o.kind === kind ? [i] : [])) };
}

function breakWorld(objects: readonly Json[], m: Mutation, pick: number, mode: Scenario['mode']): BrokenScenario | undefined {
  const t = targets(objects, m.kind);
  if (t.indexes.length === 0) return undefined;
  const i = t.indexes[pick % t.indexes.length]!;
  const b = m.apply(t.objects[i]!, t.objects);
  if (!b) return undefined;
  const list = [...t.objects];
  list[i] = b.object;
  // Extra ServiceCIDRs only add a constraint the mutation relies on; drop any already there.
  const extraIsCIDR = b.extra?.some((e) => e.kind === 'ServiceCIDR');
  const all = [...list.filter((o) => !(extraIsCIDR && o.kind === 'ServiceCIDR')), ...(b.extra ?? [])];
  return { docs: toDocs(all), mode, ref: refOf(b.object), field: b.field, mutation: m.name };
}

/** A valid world with one targeted mutation applied. */
export const brokenScenario: fc.Arbitrary<BrokenScenario> = fc
  .tuple(validWorld, fc.constantFrom(...MUTATIONS), fc.nat(), proxyConfigObject)
  .map(([w, m, pick, config]) => {
    const objects = w.objects.some((o) => o.kind === 'KubeProxyConfiguration') || m.kind !== 'KubeProxyConfiguration' ? w.objects : [...w.objects, config];
    return breakWorld(objects, m, pick, w.mode);
  })
  .filter((s): s is BrokenScenario => s !== undefined);

/** A JSON value of a different type than `v` (null counts as "absent", so never null). */
function otherTypeValue(v: unknown): fc.Arbitrary<unknown> {
  const all: Array<[string, fc.Arbitrary<unknown>]> = [
    ['string', fc.constantFrom('x', '', '80', 'true')],
    ['number', fc.constantFrom(0, 1, -1, 1.5, 80, 1e21)],
    ['boolean', fc.boolean()],
    ['array', fc.constantFrom([], ['x'], [1])],
    ['object', fc.constantFrom({}, { a: 1 })],
  ];
  const t = Array.isArray(v) ? 'array' : typeof v;
  return fc.oneof(...all.filter(([k]) => k !== t).map(([, a]) => a));
}

/**
 * Fields where another type is still valid, or that are not one of ours: an
 * int-or-string (targetPort) takes numbers and strings; `kind` decides whether
 * the object is ours at all (another kind is skipped with a warning).
 */
function wrongTypeApplies(kind: string, path: JsonPath, replacement: unknown): boolean {
  if (path.length === 1 && path[0] === 'kind') return false;
  // Only a core Service keeps its kind under another apiVersion; the others become someone else's objects.
  if (path.length === 1 && path[0] === 'apiVersion' && kind !== 'Service') return false;
  const last = path[path.length - 1];
  if (last === 'targetPort' && (typeof replacement === 'number' || typeof replacement === 'string')) return false;
  return true;
}

/** A valid world with one field of one Service, EndpointSlice or KubeProxyConfiguration given a value of the wrong type. */
export const wrongTypeScenario: fc.Arbitrary<BrokenScenario> = fc
  .tuple(validWorld, fc.nat(), fc.nat(), fc.nat())
  .chain(([w, pickObject, pickPath]) => {
    const candidates = w.objects.flatMap((o, i) => (['Service', 'EndpointSlice', 'KubeProxyConfiguration'].includes(o.kind as string) ? [i] : []));
    const i = candidates[pickObject % candidates.length]!;
    const o = w.objects[i]!;
    const paths = allPaths(o);
    const path = paths[pickPath % paths.length]!;
    const value = getPath(o, path);
    return otherTypeValue(value).map((replacement): BrokenScenario | undefined => {
      if (!wrongTypeApplies(o.kind as string, path, replacement)) return undefined;
      const objects = [...w.objects];
      objects[i] = setPath(o, path, replacement);
      return { docs: toDocs(objects), mode: w.mode, ref: refOf(objects[i]!), field: fieldOf(path), mutation: `${fieldOf(path)} := ${JSON.stringify(replacement)}` };
    });
  })
  .filter((s): s is BrokenScenario => s !== undefined);
