// Kubernetes objects for the cluster testbed, as the API server would hold them: Nodes
// with their zone label, svcplane's Services (test/e2e/suite/manifests.ts), and
// EndpointSlices with zones, topology hints and the last-change-trigger-time annotation.

import { ZONE_LABEL } from '../../src/manifests/node.js';
import { LAST_CHANGE_TRIGGER_TIME_ANNOTATION } from '../../src/agent/watch/endpointslices.js';
import type { NodePlan } from './plan.js';

type Obj = Record<string, unknown>;

export { service } from '../e2e/suite/manifests.js';

export function nodeObject(n: NodePlan): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, [ZONE_LABEL]: n.zone } },
    spec: { podCIDR: n.podCIDR, podCIDRs: [n.podCIDR] },
    status: { addresses: [{ type: 'InternalIP', address: n.ip }, { type: 'Hostname', address: n.name }] },
  };
}

export interface ClusterEndpoint {
  readonly ip: string;
  readonly node: string;
  readonly zone?: string;
  readonly ready?: boolean;
  readonly serving?: boolean;
  readonly terminating?: boolean;
  /** hints.forZones (what the EndpointSlice controller sets for PreferSameZone / PreferClose). */
  readonly forZones?: readonly string[];
  /** hints.forNodes (PreferSameNode). */
  readonly forNodes?: readonly string[];
}

export interface SlicePort {
  readonly name?: string;
  readonly port: number;
  readonly protocol?: 'TCP' | 'UDP';
}

/** One IPv4 slice `<service>-v4`; `triggerTime` (epoch ms) becomes the last-change-trigger-time. */
export function endpointSlice(service: string, endpoints: readonly ClusterEndpoint[], ports: readonly SlicePort[], triggerTime?: number): Obj {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${service}-v4`,
      namespace: 'default',
      labels: { 'kubernetes.io/service-name': service },
      ...(triggerTime !== undefined ? { annotations: { [LAST_CHANGE_TRIGGER_TIME_ANNOTATION]: new Date(triggerTime).toISOString() } } : {}),
    },
    addressType: 'IPv4',
    ports: ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      nodeName: e.node,
      ...(e.zone ? { zone: e.zone } : {}),
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
      ...(e.forZones || e.forNodes
        ? { hints: { ...(e.forZones ? { forZones: e.forZones.map((name) => ({ name })) } : {}), ...(e.forNodes ? { forNodes: e.forNodes.map((name) => ({ name })) } : {}) } }
        : {}),
    })),
  };
}
