// type: LoadBalancer — a NodePort Service fronted by an external load balancer.

import type { Construct } from 'constructs';
import type { NodePortServiceProps } from './node-port-service.js';
import { ServiceBase } from './service-base.js';

export interface LoadBalancerServiceProps extends NodePortServiceProps {
  /**
   * The port load balancers probe to find nodes with local endpoints; only
   * with externalTrafficPolicy LOCAL.
   * @default - picked deterministically from the NodePort range when the policy is LOCAL
   */
  readonly healthCheckNodePort?: number;
  /** Client CIDRs allowed through the load balancer (and the node's firewall). @default - all */
  readonly loadBalancerSourceRanges?: readonly string[];
  /** The load-balancer implementation to use (e.g. `metallb.io/metallb`). */
  readonly loadBalancerClass?: string;
  /** false: the load balancer needs no NodePorts, so none are allocated. @default true */
  readonly allocateLoadBalancerNodePorts?: boolean;
  /**
   * Load-balancer IPs already known (a manifest cannot carry status), recorded
   * in the `svcplane.io/load-balancer-ingress` annotation so the precompiled
   * rules capture traffic to them.
   */
  readonly loadBalancerIngress?: readonly string[];
}

export class LoadBalancerService extends ServiceBase {
  constructor(scope: Construct, id: string, props: LoadBalancerServiceProps) {
    super(scope, id, { type: 'LoadBalancer', ports: props.ports, props });
  }
}
