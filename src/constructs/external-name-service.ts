// type: ExternalName — a DNS alias (CNAME); no virtual IP, no endpoints, no proxy rules.

import type { Construct } from 'constructs';
import type { ServicePortOptions } from './ports.js';
import { ServiceBase, type ServiceBaseProps } from './service-base.js';

export interface ExternalNameServiceProps extends ServiceBaseProps {
  /** The DNS name the Service aliases, e.g. `db.example.com`. */
  readonly externalName: string;
  /** Informational only: nothing forwards these ports. */
  readonly ports?: readonly ServicePortOptions[];
}

export class ExternalNameService extends ServiceBase {
  constructor(scope: Construct, id: string, props: ExternalNameServiceProps) {
    super(scope, id, { type: 'ExternalName', ports: props.ports ?? [], props });
  }
}
