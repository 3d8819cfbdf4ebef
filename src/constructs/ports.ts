// Service ports as the constructs take them, and as they go into the manifest
// (defaults spelled out, so a reviewer sees what the API server would assume).

import { k8s } from 'cdk8s-plus-33';
import { Protocol } from './enums.js';

export interface ServicePortOptions {
  /** The port the Service listens on (on its ClusterIPs, external IPs, load-balancer IPs). */
  readonly port: number;
  /** Required when the Service has more than one port; an IANA service name style label (e.g. `http`). */
  readonly name?: string;
  /**
   * Where the traffic goes on the endpoint: a port number, or the name of a
   * container port (resolved per pod). Static endpoints need a number.
   * @default - the same as `port`
   */
  readonly targetPort?: number | string;
  /** @default Protocol.TCP */
  readonly protocol?: Protocol;
  /** The application protocol (e.g. `http`, `kubernetes.io/h2c`); informational for proxies. */
  readonly appProtocol?: string;
}

/** A port of a NodePort or LoadBalancer Service. */
export interface NodePortServicePortOptions extends ServicePortOptions {
  /**
   * The port opened on every node.
   * @default - picked deterministically from the app's NodePort range
   */
  readonly nodePort?: number;
}

/** The port as it goes into spec.ports, defaults written out. */
export function toKubePort(p: NodePortServicePortOptions, nodePort: number | undefined): k8s.ServicePort {
  const target = p.targetPort ?? p.port;
  return {
    ...(p.name !== undefined ? { name: p.name } : {}),
    port: p.port,
    protocol: p.protocol ?? Protocol.TCP,
    targetPort: typeof target === 'number' ? k8s.IntOrString.fromNumber(target) : k8s.IntOrString.fromString(target),
    ...(nodePort !== undefined ? { nodePort } : {}),
    ...(p.appProtocol !== undefined ? { appProtocol: p.appProtocol } : {}),
  };
}
