// The three kinds of Service rule, and where each one refuses (DESIGN.md, "Two kinds
// of validation"):
//
// - refuse: what cannot be forwarded safely under any cluster configuration (an
//   address that does not parse, a port outside 1-65535, an unknown protocol or
//   enum value, a hostile string, two rules for one packet). Both sides refuse.
// - allocation: the API server's allocators under ITS configuration (the node port
//   range, the service CIDRs, the second address of RequireDualStack). Authoring
//   refuses; forwarding accepts silently, since a live object was allocated under a
//   configuration the node cannot know.
// - notApplicable: a field set where it has no effect (healthCheckNodePort on a
//   ClusterIP Service). Authoring refuses; forwarding drops the field and reports
//   it as ignored, as kube-proxy ignores it.

import type { FieldIssue } from './errors.js';
import type { FieldReader } from './json-fields.js';

/** authoring: constructs at synth and `plan --strict`; forwarding: everything that programs a node. */
export type ValidationPurpose = 'authoring' | 'forwarding';

export class ServiceRules {
  /** Fields forwarding ignored (notApplicable), for one warning per object version. */
  readonly ignored: FieldIssue[] = [];

  constructor(
    readonly reader: FieldReader,
    readonly purpose: ValidationPurpose,
  ) {}

  refuse(field: string, message: string | undefined): void {
    if (message) this.reader.add(field, message);
  }

  allocation(field: string, message: string | undefined): void {
    if (message && this.purpose === 'authoring') this.reader.add(field, message);
  }

  /** True when the caller must drop the field (forwarding); authoring has refused it. */
  notApplicable(field: string, message: string): boolean {
    if (this.purpose === 'authoring') {
      this.reader.add(field, message);
      return false;
    }
    this.ignored.push({ field, message });
    return true;
  }
}
