// type: ClusterIP — a virtual IP inside the cluster.

import type { Construct } from 'constructs';
import type { TrafficPolicy } from './enums.js';
import type { ServicePortOptions } from './ports.js';
import { ServiceBase, type VirtualIPServiceProps } from './service-base.js';

export interface ClusterIPServiceProps extends VirtualIPServiceProps {
  readonly ports: readonly ServicePortOptions[];
  /**
   * How traffic to the externalIPs is spread; only valid together with
   * `externalIPs` (the one way a ClusterIP Service is reachable from outside).
   * @default TrafficPolicy.CLUSTER
   */
  readonly externalTrafficPolicy?: TrafficPolicy;
}

export class ClusterIPService extends ServiceBase {
  constructor(scope: Construct, id: string, props: ClusterIPServiceProps) {
    super(scope, id, { type: 'ClusterIP', ports: props.ports, props });
  }
}
