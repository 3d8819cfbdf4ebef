// The agent's watch layer: Services, EndpointSlices, ServiceCIDRs and its own Node from the API
// server, as model values, kept through API server outages. See src/agent/README.md.

export { Backoff, jitterBetween, type BackoffOptions } from './backoff.js';
export { ApiError, isGone } from './api-error.js';
export {
  DEFAULT_ENDPOINTSLICE_SELECTOR,
  ENDPOINTSLICES_PATH,
  EndpointSliceStore,
  LAST_CHANGE_TRIGGER_TIME_ANNOTATION,
  watchEndpointSlices,
  type EndpointSliceWatchOptions,
  type TriggerTime,
} from './endpointslices.js';
export { DEFAULT_WATCH_TIMING, ResilientListWatch, type ListIntake, type ListWatchSink, type ListWatchState, type WatchTiming } from './list-watch.js';
export { defaultWatchLogger, type WatchLogger } from './logger.js';
export { NodeStore, NODES_PATH, nodeEligibility, TO_BE_DELETED_TAINT, watchNode, type NodeEligibility, type NodeWatchOptions, type WatchedNode } from './node.js';
export { LIST_PAGE_SIZE, listPages, listRaw, type PageSink, type RawList } from './raw-list.js';
export {
  ownsRawService,
  serviceLabelSelector,
  SERVICES_PATH,
  watchServices,
  type ServiceStore,
  type ServiceWatchOptions,
} from './services.js';
export { SERVICECIDRS_PATH, ServiceCIDRStore, watchServiceCIDRs, type ClusterServiceCIDR } from './servicecidrs.js';
export { WatchedStore, objectKey, type MalformedObject, type ResourceAdapter, type WatchedStoreEvents } from './store.js';
export { WatchedResource, type WatchOptions } from './watched-resource.js';
