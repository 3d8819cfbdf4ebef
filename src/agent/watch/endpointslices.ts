// EndpointSlices (discovery.k8s.io/v1, all namespaces) -> EndpointSliceInfo, and
// the last-change-trigger-time of each slice version for the agent's
// network_programming_duration metric (time from the change that made the
// endpoints controller write the slice to the rules being in the kernel).
//
// Server-side selection: `!service.kubernetes.io/headless`, as kube-proxy does:
// headless Services get no rules, and their slices are a good share of a busy
// cluster's churn. Not filtered by service-proxy-name: the endpoints controller
// copies it from the Service, but hand-written slices (static endpoints) may not
// carry it; slices of Services we do not own are simply never rendered.

import {
  endpointSliceAddressType,
  readEndpointSlice,
  SERVICE_NAME_LABEL,
} from '../../manifests/endpointslice.js';
import { compactSlice } from '../../model/compact.js';
import type { EndpointSliceInfo } from '../../model/endpoints.js';
import { isJsonObject } from '../../model/json-fields.js';
import { HEADLESS_SERVICE_LABEL } from './labels.js';
import { ByNamespace } from './by-namespace.js';
import { WatchedStore, type ResourceAdapter, type WatchedStoreOptions } from './store.js';
import { makeWatchedResource, storeOptions, type WatchedResource, type WatchOptions } from './watched-resource.js';

export const ENDPOINTSLICES_PATH = '/apis/discovery.k8s.io/v1/endpointslices';
export const LAST_CHANGE_TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';
export const DEFAULT_ENDPOINTSLICE_SELECTOR = `!${HEADLESS_SERVICE_LABEL}`;

/** One slice version whose endpoints change has to reach the kernel. */
export interface TriggerTime {
  /** namespace/name of the Service. */
  readonly service: string;
  /** namespace/name of the slice. */
  readonly slice: string;
  /** Epoch milliseconds from the annotation. */
  readonly time: number;
  /** The slice's addressType (kube-proxy labels the metric with the family of the proxier that saw it). */
  readonly family: 'IPv4' | 'IPv6';
}

/** The Service (namespace/name) a raw slice belongs to, when its label says. */
export function rawSliceServiceKey(raw: unknown): string | undefined {
  if (!isJsonObject(raw) || !isJsonObject(raw.metadata)) return undefined;
  const m = raw.metadata;
  const ns = typeof m.namespace === 'string' && m.namespace ? m.namespace : 'default';
  const labels = isJsonObject(m.labels) ? m.labels : {};
  const svc = labels[SERVICE_NAME_LABEL];
  return typeof svc === 'string' && svc !== '' ? `${ns}/${svc}` : undefined;
}

/** The annotation as epoch ms; undefined when absent or not a time. */
export function triggerTimeOf(raw: unknown): number | undefined {
  if (!isJsonObject(raw) || !isJsonObject(raw.metadata) || !isJsonObject(raw.metadata.annotations)) return undefined;
  const v = raw.metadata.annotations[LAST_CHANGE_TRIGGER_TIME_ANNOTATION];
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

export const endpointSliceAdapter: ResourceAdapter<EndpointSliceInfo> = {
  kind: 'EndpointSlice',
  parse(raw) {
    // FQDN slices are valid and carry nothing a proxy forwards to.
    if (endpointSliceAddressType(raw) === 'FQDN') return undefined;
    return compactSlice(readEndpointSlice(raw).info);
  },
  serviceKeys(raw) {
    const k = rawSliceServiceKey(raw);
    return k ? [k] : [];
  },
  serviceKeyOf: (s) => (s.serviceName ? `${s.namespace}/${s.serviceName}` : undefined),
  nameOf: (s) => s.name,
};

/** What a slice version's trigger time needs of the raw object, read when it is decoded. */
interface SliceTrigger {
  readonly time: number;
  readonly service: string | undefined;
  readonly family: 'IPv4' | 'IPv6';
}

export class EndpointSliceStore extends WatchedStore<EndpointSliceInfo, SliceTrigger> {
  /**
   * Per slice: the trigger time of the version in the store. Keyed as the store is
   * (ByNamespace, by the slice value's own name string): a map by `namespace/name` held one
   * such string per annotated slice (the EndpointSlice controller annotates the slices it
   * manages: most of a cluster's), ~40 bytes each now that the store holds none.
   */
  private readonly triggerTimes = new ByNamespace<number>();
  private pending: TriggerTime[] = [];

  constructor(opts: WatchedStoreOptions) {
    super(endpointSliceAdapter, opts);
  }

  /** The last-change-trigger-time (epoch ms) of the slice version held for namespace/name. */
  triggerTime(sliceKey: string): number | undefined {
    return this.triggerTimes.get(sliceKey);
  }

  /**
   * The trigger times of slice versions that changed the model since the last call,
   * oldest first per slice. The reconciler takes them when it starts a sync and,
   * once the rules are in, observes now - time for each.
   */
  takeTriggerTimes(): TriggerTime[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  protected override noteOf(raw: unknown): SliceTrigger | undefined {
    const time = triggerTimeOf(raw);
    if (time === undefined) return undefined;
    // kube-proxy labels the metric with the family of the proxier that saw the slice.
    return { time, service: rawSliceServiceKey(raw), family: endpointSliceAddressType(raw) === 'IPv6' ? 'IPv6' : 'IPv4' };
  }

  protected override goodVersion(key: string, trigger: SliceTrigger | undefined, value: EndpointSliceInfo): void {
    if (trigger === undefined) {
      this.triggerTimes.delete(key);
      return;
    }
    const before = this.triggerTimes.get(key);
    this.triggerTimes.set(key, trigger.time, value.name);
    // Only a new trigger: a later version with the same annotation is the same change.
    if (before !== trigger.time && trigger.service) this.pending.push({ service: trigger.service, slice: key, time: trigger.time, family: trigger.family });
  }

  protected override removed(key: string): void {
    this.triggerTimes.delete(key);
  }
}

export interface EndpointSliceWatchOptions extends WatchOptions {
  /** Server-side label selector; default `!service.kubernetes.io/headless`. "" for none. */
  readonly labelSelector?: string;
}

/** Watches EndpointSlices in all namespaces; call start(). */
export function watchEndpointSlices(opts: EndpointSliceWatchOptions): WatchedResource<EndpointSliceStore> {
  const store = new EndpointSliceStore(storeOptions(opts));
  const labelSelector = opts.labelSelector ?? DEFAULT_ENDPOINTSLICE_SELECTOR;
  return makeWatchedResource(opts, store, { path: ENDPOINTSLICES_PATH, ...(labelSelector ? { labelSelector } : {}) });
}
