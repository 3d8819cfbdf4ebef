// A headless Service (clusterIP: None): no virtual IP and no proxy rules; DNS
// answers with the endpoints' addresses directly.

import type { Construct } from 'constructs';
import type { ServicePortOptions } from './ports.js';
import { ServiceBase, type EndpointServiceProps } from './service-base.js';

export interface HeadlessServiceProps extends EndpointServiceProps {
  /** Ports are optional: they only name ports for DNS SRV records. */
  readonly ports?: readonly ServicePortOptions[];
}

export class HeadlessService extends ServiceBase {
  constructor(scope: Construct, id: string, props: HeadlessServiceProps = {}) {
    super(scope, id, { type: 'ClusterIP', headless: true, ports: props.ports ?? [], props });
  }
}
