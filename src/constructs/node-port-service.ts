// type: NodePort — a ClusterIP plus a port opened on every node.

import type { Construct } from 'constructs';
import type { TrafficPolicy } from './enums.js';
import type { NodePortServicePortOptions } from './ports.js';
import { ServiceBase, type VirtualIPServiceProps } from './service-base.js';

export interface NodePortServiceProps extends VirtualIPServiceProps {
  /** Each port gets a NodePort; unset ones are picked deterministically from the app's range. */
  readonly ports: readonly NodePortServicePortOptions[];
  /**
   * LOCAL sends external traffic (NodePorts, external IPs) only to endpoints on
   * the receiving node and keeps the client's source IP.
   * @default TrafficPolicy.CLUSTER
   */
  readonly externalTrafficPolicy?: TrafficPolicy;
}

export class NodePortService extends ServiceBase {
  constructor(scope: Construct, id: string, props: NodePortServiceProps) {
    super(scope, id, { type: 'NodePort', ports: props.ports, props });
  }
}
