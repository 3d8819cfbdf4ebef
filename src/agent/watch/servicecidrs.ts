// ServiceCIDRs (networking.k8s.io/v1, cluster-scoped) -> the cluster's service
// ranges, as kube-proxy watches them since 1.33: the DROP (or REJECT) for
// addresses inside the ranges that no Service holds follows what the cluster says,
// not the ranges the plan was synthesised with. Ranges only shape that rule; they
// never refuse a Service (DESIGN.md, "Two kinds of validation").
//
// A ServiceCIDR change concerns no Service in particular: `change` fires with an
// empty key set, and the agent syncs fully.

import { compareCIDRs, serviceCIDRToCIDRs } from '../../manifests/servicecidr.js';
import { WatchedStore, type ResourceAdapter, type WatchedStoreOptions } from './store.js';
import { makeWatchedResource, storeOptions, type WatchedResource, type WatchOptions } from './watched-resource.js';

export const SERVICECIDRS_PATH = '/apis/networking.k8s.io/v1/servicecidrs';

/** One ServiceCIDR object's ranges, under its name. */
export interface ClusterServiceCIDR {
  readonly name: string;
  readonly cidrs: readonly string[];
}

export const serviceCIDRAdapter: ResourceAdapter<ClusterServiceCIDR> = {
  kind: 'ServiceCIDR',
  parse: (raw) => ({ name: (raw as { metadata: { name: string } }).metadata.name, cidrs: serviceCIDRToCIDRs(raw) }),
  serviceKeys: () => [],
  compare: (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
};

export class ServiceCIDRStore extends WatchedStore<ClusterServiceCIDR> {
  constructor(opts: WatchedStoreOptions) {
    super(serviceCIDRAdapter, opts);
  }

  /**
   * Every range of every ServiceCIDR, canonical, sorted, once each; undefined until the
   * first list came back (then the plan's ranges stand in).
   */
  cidrs(): string[] | undefined {
    if (!this.synced) return undefined;
    const all = new Set<string>();
    for (const s of this.snapshot()) for (const c of s.cidrs) all.add(c);
    return [...all].sort(compareCIDRs);
  }
}

export function watchServiceCIDRs(opts: WatchOptions): WatchedResource<ServiceCIDRStore> {
  return makeWatchedResource(opts, new ServiceCIDRStore(storeOptions(opts)), { path: SERVICECIDRS_PATH });
}
