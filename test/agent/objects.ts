// Raw API objects for the watch tests, as the API server would return them.

type Obj = Record<string, any>;

export function apiService(name: string, clusterIP: string, opts: { namespace?: string; proxy?: string | null; port?: number } = {}): Obj {
  const labels: Record<string, string> = {};
  const proxy = opts.proxy === undefined ? 'svcplane' : opts.proxy;
  if (proxy !== null) labels['service.kubernetes.io/service-proxy-name'] = proxy;
  return {
    metadata: { name, namespace: opts.namespace ?? 'default', labels },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      clusterIPs: [clusterIP],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      selector: { app: name },
      ports: [{ name: 'http', protocol: 'TCP', port: opts.port ?? 80, targetPort: 8080 }],
    },
  };
}

export function apiSlice(
  service: string,
  addresses: string[],
  opts: { name?: string; namespace?: string; triggerTime?: string; headless?: boolean } = {},
): Obj {
  return {
    metadata: {
      name: opts.name ?? `${service}-abc`,
      namespace: opts.namespace ?? 'default',
      labels: {
        'kubernetes.io/service-name': service,
        ...(opts.headless ? { 'service.kubernetes.io/headless': '' } : {}),
      },
      ...(opts.triggerTime ? { annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': opts.triggerTime } } : {}),
    },
    addressType: 'IPv4',
    ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
  };
}

export function apiNode(name: string, ip: string, zone?: string): Obj {
  return {
    metadata: { name, labels: zone ? { 'topology.kubernetes.io/zone': zone } : {} },
    spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] },
    status: { addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }] },
  };
}
