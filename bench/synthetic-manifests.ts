// The synthetic cluster of synthetic.ts as the Kubernetes objects a user hands to
// `svcplane render -f`: one JSON List of S Services, their S EndpointSlices, node1 (the
// node synthetic.ts renders for), its ServiceCIDR and a KubeProxyConfiguration with the
// same cluster CIDR. Rendering this List for node1 gives the same ruleset as rendering
// syntheticInput(S, E) directly (the bench's cli part measures the reading on top).

import type { EndpointSliceInfo } from '../src/model/endpoints.js';
import type { PlanService } from '../src/model/plan.js';
import { service as e2eService } from '../test/e2e/suite/manifests.js';
import { SERVICE_CIDR, serviceAt, syntheticInput } from './synthetic.js';

/** The EndpointSlice manifest of a model slice (what the API server or a mounted file holds). */
export function sliceManifest(s: EndpointSliceInfo): Record<string, unknown> {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: s.name, namespace: s.namespace, labels: { 'kubernetes.io/service-name': s.serviceName } },
    addressType: s.addressType,
    ports: s.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })),
    endpoints: s.endpoints.map((e) => ({
      addresses: [e.address],
      ...(e.nodeName ? { nodeName: e.nodeName } : {}),
      conditions: { ready: e.ready, serving: e.serving, terminating: e.terminating },
    })),
  };
}

/** The Service manifest of one synthetic ClusterIP Service (no field beyond what synthetic.ts sets). */
function serviceManifest(s: PlanService): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: s.name, namespace: s.namespace, labels: s.proxyName ? { 'service.kubernetes.io/service-proxy-name': s.proxyName } : {} },
    spec: {
      type: s.type,
      clusterIP: s.clusterIPs[0],
      clusterIPs: s.clusterIPs,
      ipFamilies: s.ipFamilies,
      ipFamilyPolicy: s.ipFamilyPolicy,
      selector: s.selector,
      ports: s.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), protocol: p.protocol, port: p.port, targetPort: p.targetPort })),
    },
  };
}

/**
 * Service i as the agent benches give it to the in-test API server: the e2e suite's
 * Service (our proxy-name label, so a COEXIST agent takes it; selector app: NAME) with the
 * synthetic ClusterIP and ports, targetPort 8080.
 */
export function apiService(i: number): Record<string, unknown> {
  const s = serviceAt(i);
  return e2eService(s.name, {
    type: 'ClusterIP',
    clusterIP: s.clusterIPs[0],
    clusterIPs: s.clusterIPs,
    ipFamilies: ['IPv4'],
    ipFamilyPolicy: 'SingleStack',
    ports: s.ports.map((p) => ({ name: p.name, port: p.port, targetPort: 8080, protocol: 'TCP' as const })),
  });
}

/** S Services × E endpoints as one `kind: List` object, JSON-serialisable. */
export function syntheticList(services: number, perService: number): Record<string, unknown> {
  const input = syntheticInput(services, new Map(), perService);
  const node = input.node;
  return {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
        kind: 'KubeProxyConfiguration',
        clusterCIDR: input.config.clusterCIDRs.join(','),
      },
      { apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR', metadata: { name: 'kubernetes' }, spec: { cidrs: [SERVICE_CIDR] } },
      {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: node.name },
        spec: { podCIDR: node.podCIDRs[0], podCIDRs: node.podCIDRs },
        status: { addresses: node.addresses.map((address) => ({ type: 'InternalIP', address })) },
      },
      ...input.plan.services.map(serviceManifest),
      ...input.endpointSlices.map(sliceManifest),
    ],
  };
}
