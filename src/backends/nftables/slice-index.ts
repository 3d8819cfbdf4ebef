// The EndpointSlices of each Service, for a full sync's render of every Service. As
// slicesByService (src/model/service-ports.ts), in the same order, but keyed by the slices'
// own namespace and name strings, and a lone slice (a Service's usual count) kept as itself:
// at 44k Services that map's 44k new `namespace/name` keys and one-slice arrays were ~3 MB
// of the first sync's heap while the Services were rendered.

import type { EndpointSliceInfo } from '../../model/endpoints.js';

export class SliceIndex {
  private readonly byNamespace = new Map<string, Map<string, EndpointSliceInfo | EndpointSliceInfo[]>>();

  constructor(slices: readonly EndpointSliceInfo[]) {
    for (const s of slices) {
      let names = this.byNamespace.get(s.namespace);
      if (!names) this.byNamespace.set(s.namespace, (names = new Map()));
      const had = names.get(s.serviceName);
      if (had === undefined) names.set(s.serviceName, s);
      else if (Array.isArray(had)) had.push(s);
      else names.set(s.serviceName, [had, s]);
    }
  }

  /** The Service's slices, in the order given. */
  of(namespace: string, name: string): readonly EndpointSliceInfo[] {
    const had = this.byNamespace.get(namespace)?.get(name);
    return had === undefined ? [] : Array.isArray(had) ? had : [had];
  }
}
