// Services from the API server -> PlanService, the ones svcplane owns in its mode.
//
// Selection: coexist asks the server for `service-proxy-name=svcplane` only.
// replace needs "no proxy-name label OR ours", and a label selector cannot say OR
// (its terms are ANDed). Two watches (`!service-proxy-name` and `=svcplane`) would
// double the connections, resourceVersions and relists to keep consistent, for
// the few Services labelled for another proxy that one unfiltered watch also
// transfers; so replace watches every Service and filters here. A Service
// relabelled to another proxy then arrives as MODIFIED and leaves the store.

import { serviceRef, serviceToPlan } from '../../manifests/service.js';
import { compactService } from '../../model/compact.js';
import type { FieldIssue } from '../../model/errors.js';
import { isJsonObject } from '../../model/json-fields.js';
import { PROXY_NAME, SERVICE_PROXY_NAME_LABEL, serviceKey, type PlanService } from '../../model/plan.js';
import type { ProxyMode } from '../../model/render-input.js';
import { WatchedStore, type ResourceAdapter } from './store.js';
import { makeWatchedResource, storeOptions, type WatchedResource, type WatchOptions } from './watched-resource.js';

export const SERVICES_PATH = '/api/v1/services';

export interface ServiceWatchOptions extends WatchOptions {
  readonly mode: ProxyMode;
}

/** The server-side label selector for a mode (undefined: all Services). */
export function serviceLabelSelector(mode: ProxyMode): string | undefined {
  return mode === 'coexist' ? `${SERVICE_PROXY_NAME_LABEL}=${PROXY_NAME}` : undefined;
}

/** Whether the raw Service is ours in this mode, by its label alone (a malformed Service of another proxy is not our concern). */
export function ownsRawService(raw: unknown, mode: ProxyMode): boolean {
  const meta = isJsonObject(raw) && isJsonObject(raw.metadata) ? raw.metadata : {};
  const labels = isJsonObject(meta.labels) ? meta.labels : {};
  const proxy = labels[SERVICE_PROXY_NAME_LABEL];
  if (proxy === PROXY_NAME) return true;
  return mode === 'replace' && proxy === undefined;
}

/**
 * Services as the API server stored them: read for forwarding (the cluster's node port
 * range and service CIDRs are its own business), refusing only what cannot be forwarded.
 * Fields that do not apply go to `onIgnored` once per object version: the store parses
 * an unchanged object again on every relist.
 */
export function serviceAdapter(mode: ProxyMode, onIgnored?: WatchOptions['onIgnored']): ResourceAdapter<PlanService> {
  const reported = new Map<string, string>();
  const report = (raw: unknown, issues: readonly FieldIssue[]): void => {
    const ref = serviceRef(raw);
    const key = `${ref.namespace}/${ref.name ?? ''}`;
    const version = objectVersion(raw);
    if (reported.get(key) === version) return;
    reported.set(key, version);
    onIgnored?.(ref, issues);
  };
  return {
    kind: 'Service',
    accepts: (raw) => ownsRawService(raw, mode),
    parse: (raw) => compactService(serviceToPlan(raw, undefined, { purpose: 'forwarding' }, (issues) => report(raw, issues))),
    serviceKeys: (raw) => {
      const meta = isJsonObject(raw) && isJsonObject(raw.metadata) ? raw.metadata : {};
      const ns = typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : 'default';
      return typeof meta.name === 'string' ? [serviceKey({ namespace: ns, name: meta.name })] : [];
    },
    // The store then keeps no key string per Service: it is made when a change names it.
    serviceKeyOf: (s) => serviceKey(s),
    nameOf: (s) => s.name,
  };
}

export type ServiceStore = WatchedStore<PlanService>;

/** Watches the Services svcplane owns in `mode`; call start(). */
export function watchServices(opts: ServiceWatchOptions): WatchedResource<ServiceStore> {
  const store = new WatchedStore(serviceAdapter(opts.mode, opts.onIgnored), storeOptions(opts));
  const labelSelector = serviceLabelSelector(opts.mode);
  return makeWatchedResource(opts, store, { path: SERVICES_PATH, ...(labelSelector ? { labelSelector } : {}) });
}

/** resourceVersion when the object has one (the API always sets it), else its content. */
function objectVersion(raw: unknown): string {
  const meta = isJsonObject(raw) && isJsonObject(raw.metadata) ? raw.metadata : {};
  return typeof meta.resourceVersion === 'string' && meta.resourceVersion !== '' ? meta.resourceVersion : JSON.stringify(raw);
}
