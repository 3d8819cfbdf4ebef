// The agent's Prometheus metrics, under kube-proxy's names where kube-proxy has one,
// in a registry of their own (no process-global state: tests build several).

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface AgentMetrics {
  readonly registry: Registry;
  readonly syncDuration: Histogram;
  readonly networkProgrammingDuration: Histogram;
  readonly lastSyncTimestamp: Gauge;
  readonly lastQueuedTimestamp: Gauge;
  readonly endpointChanges: Counter;
  readonly serviceChanges: Counter;
  readonly syncFailures: Counter<'reason'>;
  readonly malformedObjects: Counter<'kind'>;
  readonly ignoredFields: Counter<'kind'>;
  readonly conntrackDeletions: Counter;
  readonly sysctlUnset: Gauge<'name'>;
  readonly watchLastEvent: Gauge<'resource'>;
}

/** kube-proxy's buckets: 1 ms doubling, 15 of them (up to ~16 s). */
const SYNC_BUCKETS = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i);
/** kube-proxy's network programming buckets: 0.25 s to 5 min, coarser as they grow. */
const PROGRAMMING_BUCKETS = [
  0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 120, 180, 240, 300,
];

export function createAgentMetrics(opts: { processMetrics?: boolean } = {}): AgentMetrics {
  const registry = new Registry();
  if (opts.processMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    syncDuration: new Histogram({
      name: 'kubeproxy_sync_proxy_rules_duration_seconds',
      help: 'SyncProxyRules latency in seconds',
      buckets: SYNC_BUCKETS,
      registers,
    }),
    networkProgrammingDuration: new Histogram({
      name: 'kubeproxy_network_programming_duration_seconds',
      help: 'In Cluster Network Programming Latency in seconds (EndpointSlice last-change-trigger-time to rules in the kernel)',
      buckets: PROGRAMMING_BUCKETS,
      registers,
    }),
    lastSyncTimestamp: new Gauge({
      name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
      help: 'The last time proxy rules were successfully synced',
      registers,
    }),
    lastQueuedTimestamp: new Gauge({
      name: 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds',
      help: 'The last time a sync of proxy rules was queued',
      registers,
    }),
    endpointChanges: new Counter({
      name: 'kubeproxy_sync_proxy_rules_endpoint_changes_total',
      help: 'Cumulative proxy rules Endpoint changes',
      registers,
    }),
    serviceChanges: new Counter({
      name: 'kubeproxy_sync_proxy_rules_service_changes_total',
      help: 'Cumulative proxy rules Service changes',
      registers,
    }),
    syncFailures: new Counter({
      name: 'svcplane_sync_proxy_rules_failures_total',
      help: 'Syncs that did not reach the kernel: reason "apply" (the kernel tool failed; retried) or "render" (nothing sent)',
      labelNames: ['reason'] as const,
      registers,
    }),
    malformedObjects: new Counter({
      name: 'svcplane_malformed_objects_total',
      help: 'Objects refused as unsafe to forward and skipped (the previous good version, if any, is kept); ignored fields are svcplane_ignored_fields_total',
      labelNames: ['kind'] as const,
      registers,
    }),
    ignoredFields: new Counter({
      name: 'svcplane_ignored_fields_total',
      help: 'Fields that do not apply, ignored on accepted objects (one per field per object version); the object still forwards',
      labelNames: ['kind'] as const,
      registers,
    }),
    conntrackDeletions: new Counter({
      name: 'svcplane_conntrack_deletions_total',
      help: 'UDP conntrack entries deleted after endpoint changes',
      registers,
    }),
    sysctlUnset: new Gauge({
      name: 'svcplane_sysctl_unset',
      help: 'A sysctl the backend needs that the agent could not set (1 while unset, checked on full syncs)',
      labelNames: ['name'] as const,
      registers,
    }),
    watchLastEvent: new Gauge({
      name: 'svcplane_watch_last_event_timestamp_seconds',
      help: 'When the API server last answered a list or watch of this resource (event, bookmark, list, clean watch end)',
      labelNames: ['resource'] as const,
      registers,
    }),
  };
}
