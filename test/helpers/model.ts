// Builders for model values in tests: a Service or EndpointSlice with only the
// fields a test cares about; everything else takes the API's defaults.

import { DEFAULT_PROXY_CONFIG, type ProxyConfig } from '../../src/model/config.js';
import type { Endpoint, EndpointSliceInfo } from '../../src/model/endpoints.js';
import type { NodeContext } from '../../src/model/node.js';
import { PLAN_API_VERSION, PLAN_KIND, PROXY_NAME, compareByNamespaceName, type Plan, type PlanService, type ServicePort } from '../../src/model/plan.js';
import type { ProxyMode, RenderInput } from '../../src/model/render-input.js';

export function svc(p: Partial<PlanService> & { name: string; clusterIPs: string[]; ports: ServicePort[] }): PlanService {
  return {
    namespace: 'default',
    type: 'ClusterIP',
    proxyName: PROXY_NAME,
    headless: false,
    ipFamilies: p.clusterIPs.map((ip) => (ip.includes(':') ? 'IPv6' : 'IPv4')),
    ipFamilyPolicy: p.clusterIPs.length > 1 ? 'RequireDualStack' : 'SingleStack',
    selector: { app: p.name },
    externalIPs: [],
    loadBalancerIngress: [],
    loadBalancerSourceRanges: [],
    sessionAffinity: { type: 'None' },
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    publishNotReadyAddresses: false,
    ...p,
  };
}

export function port(port: number, targetPort: number | string = port, extra: Partial<ServicePort> = {}): ServicePort {
  return { name: '', protocol: 'TCP', port, targetPort, ...extra };
}

export function ep(address: string, nodeName?: string, extra: Partial<Endpoint> = {}): Endpoint {
  return { address, ready: true, serving: true, terminating: false, ...(nodeName ? { nodeName } : {}), ...extra };
}

export function slice(
  serviceName: string,
  endpoints: Endpoint[],
  ports: { name?: string; port: number; protocol?: 'TCP' | 'UDP' | 'SCTP' }[],
  extra: Partial<EndpointSliceInfo> = {},
): EndpointSliceInfo {
  return {
    namespace: 'default',
    name: `${serviceName}-${extra.addressType === 'IPv6' ? 'v6' : 'v4'}`,
    serviceName,
    addressType: 'IPv4',
    ports: ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
    endpoints,
    ...extra,
  };
}

export function plan(services: PlanService[], serviceCIDRs = ['10.96.0.0/16', 'fd00:10:96::/112']): Plan {
  return {
    apiVersion: PLAN_API_VERSION,
    kind: PLAN_KIND,
    serviceCIDRs,
    nodePortRange: { min: 30000, max: 32767 },
    services: [...services].sort(compareByNamespaceName),
  };
}

export const NODE1: NodeContext = { name: 'node1', addresses: ['192.168.50.1', 'fd00:50::1'], podCIDRs: ['10.244.1.0/24', 'fd00:244:1::/64'] };

export function input(
  services: PlanService[],
  endpointSlices: EndpointSliceInfo[] = [],
  opts: { node?: NodeContext; config?: Partial<ProxyConfig>; mode?: ProxyMode; serviceCIDRs?: string[] } = {},
): RenderInput {
  return {
    plan: plan(services, opts.serviceCIDRs),
    endpointSlices,
    node: opts.node ?? NODE1,
    config: { ...DEFAULT_PROXY_CONFIG, clusterCIDRs: ['10.244.0.0/16', 'fd00:244::/48'], ...opts.config },
    mode: opts.mode ?? 'coexist',
  };
}

/** An EndpointSlice manifest (IPv4, port 80/TCP) for Service default/<name>, as a file of offline mode holds it. */
export function sliceManifest(name: string, ips: string[], extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${name}-a`, namespace: 'default', labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    ports: [{ name: '', port: 80, protocol: 'TCP' }],
    endpoints: ips.map((ip) => ({ addresses: [ip] })),
    ...extra,
  };
}
