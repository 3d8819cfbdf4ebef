// kube-proxy's health semantics, as pure functions: /healthz and /livez say whether
// the rules are being kept up to date, and each healthCheckNodePort says whether
// this node has a local endpoint of its Service (load balancers send traffic of
// externalTrafficPolicy Local Services only to nodes answering 200).

import type { PlanService } from '../model/plan.js';
import { proxiedWhere, type RenderInput } from '../model/render-input.js';

export interface HealthState {
  /** Last successful sync (ms), undefined before the first. */
  readonly lastSyncedAt: number | undefined;
  /** Oldest change (or due periodic sync) not yet in the kernel (ms), undefined when none waits. */
  readonly queuedSince: number | undefined;
}

/** /livez: are the rules kept up to date. */
export interface LivezStatus {
  readonly healthy: boolean;
  readonly body: { readonly lastUpdated: string; readonly currentTime: string };
}

/** What else /healthz weighs besides fresh rules. */
export interface HealthzFacts {
  /** KEP-3836: false when the Node is being deleted or tainted ToBeDeletedByClusterAutoscaler. */
  readonly nodeEligible: boolean;
  /** Why the node is not eligible (e.g. 'taint ToBeDeletedByClusterAutoscaler'). */
  readonly nodeIneligibleReason?: string | undefined;
  /** Sysctls the backend needs that the agent could not set (name: error). */
  readonly unsetSysctls: readonly { readonly name: string; readonly error: string }[];
  /** API watches that heard nothing for longer than the bound (resource: seconds since). */
  readonly staleWatches: readonly { readonly resource: string; readonly silentSeconds: number }[];
}

/** /healthz: fresh rules and an eligible node, with the details that explain a 503. */
export interface HealthzStatus {
  readonly healthy: boolean;
  readonly body: {
    readonly lastUpdated: string;
    readonly currentTime: string;
    readonly nodeEligible: boolean;
    readonly nodeIneligibleReason?: string;
    readonly unsetSysctls?: readonly { readonly name: string; readonly error: string }[];
    readonly staleWatches?: readonly { readonly resource: string; readonly silentSeconds: number }[];
  };
}

/**
 * kube-proxy's rule (proxy_health.go): unhealthy only when something has waited
 * for a sync longer than `timeoutMs` (kube-proxy uses 2 x syncPeriod: a healthy
 * agent never lets a change or the periodic sync wait that long). Healthy while
 * starting up with nothing queued, e.g. while waiting for the API server: a
 * liveness probe must not restart an agent that cannot sync for lack of input (its
 * rules stay as they are; /healthz says what is wrong). `lastUpdated` is now when
 * healthy (kube-proxy keeps that compatibility), else the last successful sync.
 */
export function livezStatus(s: HealthState, now: number, timeoutMs: number): LivezStatus {
  const stale = s.lastSyncedAt !== undefined && now - s.lastSyncedAt > timeoutMs;
  const late = s.queuedSince !== undefined && now - s.queuedSince > timeoutMs;
  const healthy = !stale && !late;
  return {
    healthy,
    body: { lastUpdated: new Date(healthy ? now : (s.lastSyncedAt ?? 0)).toISOString(), currentTime: new Date(now).toISOString() },
  };
}

/**
 * /healthz (what load balancers and readiness ask): fresh rules, an eligible node
 * (kube-proxy), and, ours, every sysctl the backend needs set and every API watch
 * heard from within its bound. The body says which failed.
 */
export function healthzStatus(live: LivezStatus, f: HealthzFacts): HealthzStatus {
  const healthy = live.healthy && f.nodeEligible && f.unsetSysctls.length === 0 && f.staleWatches.length === 0;
  return {
    healthy,
    body: {
      ...live.body,
      nodeEligible: f.nodeEligible,
      ...(f.nodeIneligibleReason && !f.nodeEligible ? { nodeIneligibleReason: f.nodeIneligibleReason } : {}),
      ...(f.unsetSysctls.length ? { unsetSysctls: f.unsetSysctls } : {}),
      ...(f.staleWatches.length ? { staleWatches: f.staleWatches } : {}),
    },
  };
}

export interface HealthCheckService {
  readonly namespace: string;
  readonly name: string;
  readonly port: number;
  /** Ready endpoints of the Service on this node. */
  readonly localEndpoints: number;
}

/**
 * The healthCheckNodePort of each LoadBalancer Service with externalTrafficPolicy
 * Local svcplane owns, with its count of ready endpoints on this node (as kube-proxy
 * counts them: distinct addresses, any port, ready only).
 */
export function healthCheckServices(input: RenderInput): HealthCheckService[] {
  const out: HealthCheckService[] = [];
  const wanted = healthCheckedServices(input);
  if (wanted.length === 0) return out;
  const local = new Map<string, Set<string>>();
  const names = new Set(wanted.map((s) => s.name));
  for (const sl of input.endpointSlices) {
    // Only the wanted Services' slices (the name test spares a string per slice).
    if (!names.has(sl.serviceName)) continue;
    const k = `${sl.namespace}/${sl.serviceName}`;
    for (const e of sl.endpoints) {
      if (!e.ready || input.node.name === '' || e.nodeName !== input.node.name) continue;
      let set = local.get(k);
      if (!set) local.set(k, (set = new Set()));
      set.add(e.address);
    }
  }
  for (const s of wanted) {
    out.push({ namespace: s.namespace, name: s.name, port: s.healthCheckNodePort!, localEndpoints: local.get(`${s.namespace}/${s.name}`)?.size ?? 0 });
  }
  return out.sort((a, b) => a.port - b.port);
}

// Asked after every sync: by the identity of the plan's Service list (kept while no
// Service changes), not a walk over every Service per endpoint change.
const checked = new WeakMap<readonly PlanService[], { mode: string; services: PlanService[] }>();
function healthCheckedServices(input: RenderInput): PlanService[] {
  const hit = checked.get(input.plan.services);
  if (hit && hit.mode === input.mode) return hit.services;
  // The few health-checked ones first: proxiedServices of every Service was an array as long as the list, per list.
  const services = proxiedWhere(input, (s) => s.type === 'LoadBalancer' && s.externalTrafficPolicy === 'Local' && s.healthCheckNodePort !== undefined);
  checked.set(input.plan.services, { mode: input.mode, services });
  return services;
}

/** What a healthCheckNodePort answers. */
export function healthCheckResponse(s: HealthCheckService, proxyHealthy: boolean): { status: number; body: object } {
  const body = { service: { namespace: s.namespace, name: s.name }, localEndpoints: s.localEndpoints, serviceProxyHealthy: proxyHealthy };
  return { status: s.localEndpoints > 0 && proxyHealthy ? 200 : 503, body };
}
