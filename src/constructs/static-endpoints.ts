// Static endpoints of a selector-less Service (a database outside the cluster,
// say): the EndpointSlices the endpointslice controller would write if it could
// see the backends. One slice per address family, ports mirroring the Service's.

import type { k8s } from 'cdk8s-plus-33';
import type { FieldIssue } from '../model/errors.js';
import { canonicalIP, compareIPs, ipFamilyOf, type IPFamily } from '../model/ip.js';
import { Protocol } from './enums.js';
import type { ServicePortOptions } from './ports.js';

export interface StaticEndpoint {
  /**
   * The endpoint's IP addresses: one, or one per family for a dual-stack
   * backend. List each backend as its own endpoint (a proxy uses only the
   * first address of an endpoint per family).
   */
  readonly addresses: readonly string[];
  /** The node the endpoint runs on, when it is one (for traffic policy Local). */
  readonly nodeName?: string;
  /** Its zone (topology-aware routing). */
  readonly zone?: string;
  /** @default true */
  readonly ready?: boolean;
  /** DNS hostname of the endpoint for headless Services. */
  readonly hostname?: string;
}

/** endpointslice.kubernetes.io/managed-by: who keeps the slice up to date (not the controller). */
export const ENDPOINT_SLICE_MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const ENDPOINT_SLICE_MANAGER = 'svcplane.io';
/** Set by the endpointslice controller on headless Services' slices; kube-proxy ignores those. */
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';

export interface SliceContent {
  readonly addressType: IPFamily;
  readonly endpoints: k8s.Endpoint[];
  readonly ports: k8s.EndpointPort[];
}

/** Problems with the endpoints themselves (addresses, and ports a slice cannot express). */
export function staticEndpointIssues(endpoints: readonly StaticEndpoint[], ports: readonly ServicePortOptions[]): FieldIssue[] {
  const issues: FieldIssue[] = [];
  endpoints.forEach((e, i) => {
    if (e.addresses.length === 0) issues.push({ field: `endpoints[${i}].addresses`, message: 'needs at least one address' });
    const families = new Set<IPFamily>();
    e.addresses.forEach((a, j) => {
      const family = ipFamilyOf(a);
      if (!family) {
        issues.push({ field: `endpoints[${i}].addresses[${j}]`, message: `${JSON.stringify(a)} is not an IP address` });
        return;
      }
      if (families.has(family)) {
        issues.push({ field: `endpoints[${i}].addresses[${j}]`, message: `a second ${family} address: give each backend its own endpoint` });
      }
      families.add(family);
    });
  });
  ports.forEach((p, i) => {
    if (typeof p.targetPort === 'string') {
      issues.push({ field: `spec.ports[${i}].targetPort`, message: `is the port name ${JSON.stringify(p.targetPort)}, but static endpoints have no containers to name ports: give a number` });
    }
  });
  return issues;
}

/** The slices' contents, IPv4 first; a family with no endpoint gets no slice. */
export function staticSlices(endpoints: readonly StaticEndpoint[], ports: readonly ServicePortOptions[]): SliceContent[] {
  const slicePorts: k8s.EndpointPort[] = ports.map((p) => ({
    // The controller names a single unnamed port "" too; proxies match slice ports to Service ports by name.
    name: p.name ?? '',
    port: typeof p.targetPort === 'number' ? p.targetPort : p.port,
    protocol: p.protocol ?? Protocol.TCP,
    ...(p.appProtocol !== undefined ? { appProtocol: p.appProtocol } : {}),
  }));
  const out: SliceContent[] = [];
  for (const family of ['IPv4', 'IPv6'] as const) {
    const members: k8s.Endpoint[] = [];
    for (const e of endpoints) {
      const address = e.addresses.find((a) => ipFamilyOf(a) === family);
      if (address === undefined) continue;
      members.push({
        addresses: [canonicalIP(address)!],
        conditions: { ready: e.ready ?? true },
        ...(e.hostname !== undefined ? { hostname: e.hostname } : {}),
        ...(e.nodeName !== undefined ? { nodeName: e.nodeName } : {}),
        ...(e.zone !== undefined ? { zone: e.zone } : {}),
      });
    }
    if (members.length === 0) continue;
    members.sort((a, b) => compareIPs(a.addresses[0]!, b.addresses[0]!));
    out.push({ addressType: family, endpoints: members, ports: slicePorts });
  }
  return out;
}
