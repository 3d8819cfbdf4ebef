// Kubernetes objects for the e2e suite, as plain JSON manifests: the backends are
// driven through the real CLI (`svcplane apply -f DIR`), as an operator would.

import type { Topology } from '../lib/topology.js';

type Obj = Record<string, unknown>;

export const LABELS = { 'service.kubernetes.io/service-proxy-name': 'svcplane' };

export interface PortSpec {
  readonly name?: string;
  readonly port: number;
  readonly targetPort?: number | string;
  readonly protocol?: 'TCP' | 'UDP';
  readonly nodePort?: number;
}

export function service(name: string, spec: Obj & { ports: PortSpec[] }, status?: Obj): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', labels: LABELS },
    spec: { selector: { app: name }, ...spec },
    ...(status ? { status } : {}),
  };
}

export interface EndpointSpec {
  readonly ip: string;
  readonly node: string;
  readonly ready?: boolean;
  readonly serving?: boolean;
  readonly terminating?: boolean;
}

export function endpointSlice(
  serviceName: string,
  family: 'IPv4' | 'IPv6',
  endpoints: EndpointSpec[],
  ports: { name?: string; port: number; protocol?: 'TCP' | 'UDP' }[],
): Obj {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${serviceName}-${family === 'IPv4' ? 'v4' : 'v6'}`,
      namespace: 'default',
      labels: { 'kubernetes.io/service-name': serviceName },
    },
    addressType: family,
    ports: ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      nodeName: e.node,
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
    })),
  };
}

/** The node under test, the cluster's Service CIDRs and kube-proxy's configuration. */
/** `kubeProxy`: fields that replace those of the KubeProxyConfiguration. */
export function clusterObjects(t: Topology, kubeProxy: Obj = {}): Obj[] {
  const n = t.node1;
  return [
    {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node1' },
      spec: { podCIDRs: [n.plan.podCIDRv4, n.plan.podCIDRv6] },
      status: {
        addresses: [
          { type: 'InternalIP', address: n.ipv4 },
          { type: 'InternalIP', address: n.ipv6 },
          { type: 'ExternalIP', address: n.externalIPv4 },
          { type: 'ExternalIP', address: n.externalIPv6 },
        ],
      },
    },
    { apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR', metadata: { name: 'kubernetes' }, spec: { cidrs: ['10.96.0.0/16', 'fd00:96::/112'] } },
    {
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      clusterCIDR: '10.244.0.0/16,fd00:244::/48',
      detectLocalMode: 'ClusterCIDR',
      nodePortAddresses: ['172.18.0.0/24', '192.168.50.0/24', 'fd00:18::/64', 'fd00:50::/64'],
      ...kubeProxy,
    },
  ];
}
