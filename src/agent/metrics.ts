// The agent's Prometheus metrics: kube-proxy's set (names, help, types, labels and
// buckets as kube-proxy v1.34/v1.35's pkg/proxy/metrics and its metrics reference),
// registered per backend as kube-proxy registers them per mode, plus svcplane's own
// under svcplane_*. A registry of their own (no process-global state: tests build several).

import { Counter, Gauge, Histogram, Registry, registerProcessMetrics } from './prom/index.js';
import type { KubeProxyMetricsMode } from '../backends/backend.js';
import { agentBackends } from '../backends/registry.js';
import type { IPFamily } from '../model/ip.js';
import { readKubeProxyRuleCounters, type KubeProxyRuleCounters } from '../backends/iptables/kube-proxy-counters.js';
import { registerRuleCounterMetrics, restoreToolFamily } from './rule-counter-metrics.js';

type Family = 'ip_family';

export interface AgentMetrics {
  readonly registry: Registry;
  readonly syncDuration: Histogram<Family>;
  readonly syncFullDuration: Histogram<Family>;
  readonly syncPartialDuration: Histogram<Family>;
  readonly networkProgrammingDuration: Histogram<Family>;
  readonly lastSyncTimestamp: Gauge<Family>;
  readonly lastQueuedTimestamp: Gauge<Family>;
  /** Services with EndpointSlice changes not yet synced. */
  readonly endpointChangesPending: Gauge;
  /** EndpointSlice changes (objects, not Services). */
  readonly endpointChanges: Counter;
  readonly serviceChangesPending: Gauge;
  readonly serviceChanges: Counter;
  readonly noLocalEndpoints: Gauge<Family | 'traffic_policy'>;
  readonly iptablesRestoreFailures: Counter<Family>;
  readonly iptablesPartialRestoreFailures: Counter<Family>;
  readonly iptablesRules: Gauge<Family | 'table'>;
  readonly iptablesRulesLast: Gauge<Family | 'table'>;
  readonly nftablesSyncFailures: Counter<Family>;
  readonly nftablesCleanupFailures: Counter<Family>;
  readonly healthzTotal: Counter<'code'>;
  readonly livezTotal: Counter<'code'>;
  readonly conntrackReconcileDuration: Histogram<Family>;
  readonly conntrackDeletedEntries: Counter<Family>;
  readonly syncFailures: Counter<'reason'>;
  /** 1 for the plan in force; one series (the previous one is removed on reload). */
  readonly planInfo: Gauge<'digest' | 'revision' | 'source'>;
  readonly malformedObjects: Counter<'kind'>;
  readonly ignoredFields: Counter<'kind'>;
  readonly sysctlUnset: Gauge<'name'>;
  readonly watchLastEvent: Gauge<'resource'>;
  /**
   * A sync failed in the kernel tool (`error`, what the syncer threw): the per-mode
   * counters kube-proxy increments, each with the family to label it with.
   */
  applyFailures(full: boolean, error: unknown, families: readonly IPFamily[]): [Counter<Family>, IPFamily][];
}

/** Reads the counts behind kube-proxy's two nfacct metrics (iptables mode). */
export type RuleCountersReader = () => Promise<KubeProxyRuleCounters>;

/** kube-proxy's ExponentialBuckets(0.001, 2, 15): 1 ms doubling up to ~16 s. */
export const SYNC_BUCKETS: readonly number[] = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i);

function linear(start: number, width: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start + width * i);
}

/**
 * kube-proxy's network programming buckets: 0, 0.25 s, 0.5 s, then 1-59 s by 1 s, 60-115 s
 * by 5 s, 2-5 min by 30 s. The leading 0 is kube-proxy's too: its metrics.go joins the
 * linear runs with component-base's MergeBuckets, which starts from a slice holding one 0.
 */
export const PROGRAMMING_BUCKETS: readonly number[] = [0, ...linear(0.25, 0.25, 2), ...linear(1, 1, 59), ...linear(60, 5, 12), ...linear(120, 30, 7)];

/** The kube-proxy mode whose metric set the backend gets (the backend says; userspace gets the common set only). */
function modeOf(backend: string): KubeProxyMetricsMode | 'other' {
  return agentBackends().find((b) => b.name === backend)?.metricsMode ?? 'other';
}

export function createAgentMetrics(opts: { processMetrics?: boolean; backend?: string; ruleCounters?: RuleCountersReader } = {}): AgentMetrics {
  const registry = new Registry();
  if (opts.processMetrics) registerProcessMetrics(registry);
  const mode = modeOf(opts.backend ?? 'nftables');
  const all = [registry];
  // Not registered: the metric exists (the agent's code stays the same) but is not exported.
  const when = (registered: boolean) => (registered ? all : []);
  const family = ['ip_family'] as const;
  const m: Omit<AgentMetrics, 'applyFailures'> = {
    registry,
    syncDuration: new Histogram({ name: 'kubeproxy_sync_proxy_rules_duration_seconds', help: 'SyncProxyRules latency in seconds', labelNames: family, buckets: [...SYNC_BUCKETS], registers: all }),
    // kube-proxy registers these two for iptables only; svcplane's nftables syncs are partial too.
    syncFullDuration: new Histogram({
      name: 'kubeproxy_sync_full_proxy_rules_duration_seconds',
      help: 'SyncProxyRules latency in seconds for full resyncs',
      labelNames: family,
      buckets: [...SYNC_BUCKETS],
      registers: when(mode === 'iptables' || mode === 'nftables'),
    }),
    syncPartialDuration: new Histogram({
      name: 'kubeproxy_sync_partial_proxy_rules_duration_seconds',
      help: 'SyncProxyRules latency in seconds for partial resyncs',
      labelNames: family,
      buckets: [...SYNC_BUCKETS],
      registers: when(mode === 'iptables' || mode === 'nftables'),
    }),
    networkProgrammingDuration: new Histogram({
      name: 'kubeproxy_network_programming_duration_seconds',
      help: 'In Cluster Network Programming Latency in seconds',
      labelNames: family,
      buckets: [...PROGRAMMING_BUCKETS],
      registers: all,
    }),
    lastSyncTimestamp: new Gauge({ name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds', help: 'The last time proxy rules were successfully synced', labelNames: family, registers: all }),
    lastQueuedTimestamp: new Gauge({ name: 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds', help: 'The last time a sync of proxy rules was queued', labelNames: family, registers: all }),
    endpointChangesPending: new Gauge({ name: 'kubeproxy_sync_proxy_rules_endpoint_changes_pending', help: 'Pending proxy rules Endpoint changes', registers: all }),
    endpointChanges: new Counter({ name: 'kubeproxy_sync_proxy_rules_endpoint_changes_total', help: 'Cumulative proxy rules Endpoint changes', registers: all }),
    serviceChangesPending: new Gauge({ name: 'kubeproxy_sync_proxy_rules_service_changes_pending', help: 'Pending proxy rules Service changes', registers: all }),
    serviceChanges: new Counter({ name: 'kubeproxy_sync_proxy_rules_service_changes_total', help: 'Cumulative proxy rules Service changes', registers: all }),
    noLocalEndpoints: new Gauge({
      name: 'kubeproxy_sync_proxy_rules_no_local_endpoints_total',
      help: 'Number of services with a Local traffic policy and no endpoints',
      labelNames: ['ip_family', 'traffic_policy'] as const,
      registers: all,
    }),
    iptablesRestoreFailures: new Counter({
      name: 'kubeproxy_sync_proxy_rules_iptables_restore_failures_total',
      help: 'Cumulative proxy iptables restore failures',
      labelNames: family,
      registers: when(mode === 'iptables' || mode === 'ipvs'),
    }),
    iptablesPartialRestoreFailures: new Counter({
      name: 'kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total',
      help: 'Cumulative proxy iptables partial restore failures',
      labelNames: family,
      registers: when(mode === 'iptables'),
    }),
    iptablesRules: new Gauge({
      name: 'kubeproxy_sync_proxy_rules_iptables_total',
      help: 'Total number of iptables rules owned by kube-proxy',
      labelNames: ['ip_family', 'table'] as const,
      registers: when(mode === 'iptables'),
    }),
    iptablesRulesLast: new Gauge({
      name: 'kubeproxy_sync_proxy_rules_iptables_last',
      help: 'Number of iptables rules written by kube-proxy in last sync',
      labelNames: ['ip_family', 'table'] as const,
      registers: when(mode === 'iptables'),
    }),
    nftablesSyncFailures: new Counter({
      name: 'kubeproxy_sync_proxy_rules_nftables_sync_failures_total',
      help: 'Cumulative proxy nftables sync failures',
      labelNames: family,
      registers: when(mode === 'nftables'),
    }),
    nftablesCleanupFailures: new Counter({
      name: 'kubeproxy_sync_proxy_rules_nftables_cleanup_failures_total',
      help: 'Cumulative proxy nftables cleanup failures',
      labelNames: family,
      registers: when(mode === 'nftables'),
    }),
    healthzTotal: new Counter({ name: 'kubeproxy_proxy_healthz_total', help: 'Cumulative proxy healthz HTTP status', labelNames: ['code'] as const, registers: all }),
    livezTotal: new Counter({ name: 'kubeproxy_proxy_livez_total', help: 'Cumulative proxy livez HTTP status', labelNames: ['code'] as const, registers: all }),
    conntrackReconcileDuration: new Histogram({
      name: 'kubeproxy_conntrack_reconciler_sync_duration_seconds',
      help: 'ReconcileConntrackFlowsLatency latency in seconds',
      labelNames: family,
      buckets: [...SYNC_BUCKETS],
      registers: all,
    }),
    conntrackDeletedEntries: new Counter({
      name: 'kubeproxy_conntrack_reconciler_deleted_entries_total',
      help: 'Cumulative conntrack flows deleted by conntrack reconciler',
      labelNames: family,
      registers: all,
    }),
    syncFailures: new Counter({
      name: 'svcplane_sync_proxy_rules_failures_total',
      help: 'Syncs that did not reach the kernel: reason "apply" (the kernel tool failed; retried) or "render" (nothing sent)',
      labelNames: ['reason'] as const,
      registers: all,
    }),
    planInfo: new Gauge({
      name: 'svcplane_plan_info',
      help: 'The plan this agent enforces (value 1): digest of its content, the revision it was synthesised from, source "plan" (a plan file) or "config" (API mode without a plan: digest of the configuration)',
      labelNames: ['digest', 'revision', 'source'] as const,
      registers: all,
    }),
    malformedObjects: new Counter({
      name: 'svcplane_malformed_objects_total',
      help: 'Objects refused as unsafe to forward and skipped (the previous good version, if any, is kept); ignored fields are svcplane_ignored_fields_total',
      labelNames: ['kind'] as const,
      registers: all,
    }),
    ignoredFields: new Counter({
      name: 'svcplane_ignored_fields_total',
      help: 'Fields that do not apply, ignored on accepted objects (one per field per object version); the object still forwards',
      labelNames: ['kind'] as const,
      registers: all,
    }),
    sysctlUnset: new Gauge({
      name: 'svcplane_sysctl_unset',
      help: 'A sysctl the backend needs that the agent could not set (1 while unset, checked on full syncs)',
      labelNames: ['name'] as const,
      registers: all,
    }),
    watchLastEvent: new Gauge({
      name: 'svcplane_watch_last_event_timestamp_seconds',
      help: 'When the API server last answered a list or watch of this resource (event, bookmark, list, clean watch end)',
      labelNames: ['resource'] as const,
      registers: all,
    }),
  };
  if (mode === 'iptables') registerRuleCounterMetrics(registry, opts.ruleCounters ?? (() => readKubeProxyRuleCounters()));
  // kube-proxy's nftables mode counts sync failures; its iptables mode restore failures
  // (and partial ones apart); its IPVS mode the restore failures of its helper iptables
  // rules only (an ipvsadm or ipset failure is not one), in the family of the tool.
  const applyFailures = (full: boolean, error: unknown, families: readonly IPFamily[]): [Counter<Family>, IPFamily][] => {
    const each = (cs: Counter<Family>[]) => families.flatMap((f) => cs.map((c): [Counter<Family>, IPFamily] => [c, f]));
    if (mode === 'nftables') return each([m.nftablesSyncFailures]);
    if (mode === 'iptables') return each([m.iptablesRestoreFailures, ...(full ? [] : [m.iptablesPartialRestoreFailures])]);
    const restore = mode === 'ipvs' ? restoreToolFamily(error) : undefined;
    return restore ? [[m.iptablesRestoreFailures, restore]] : [];
  };
  return { ...m, applyFailures };
}

/** Sets one gauge per family to the same value. */
export function setPerFamily(g: Gauge<Family>, families: readonly IPFamily[], value: number): void {
  for (const f of families) g.set({ ip_family: f }, value);
}
