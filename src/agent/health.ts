// kube-proxy's health semantics, as pure functions: /healthz and /livez say whether
// the rules are being kept up to date, and each healthCheckNodePort says whether
// this node has a local endpoint of its Service (load balancers send traffic of
// externalTrafficPolicy Local Services only to nodes answering 200).

import type { RenderInput } from '../model/render-input.js';
import { proxiedServices } from '../model/render-input.js';

export interface HealthState {
  /** When the agent started (ms). */
  readonly startedAt: number;
  /** Last successful sync (ms), undefined before the first. */
  readonly lastSyncedAt: number | undefined;
  /** Oldest change not yet in the kernel (ms), undefined when none waits. */
  readonly queuedSince: number | undefined;
}

export interface HealthStatus {
  readonly healthy: boolean;
  readonly body: { readonly lastUpdated: string; readonly currentTime: string; readonly nodeEligible: boolean };
}

/**
 * Healthy unless something has waited for a sync longer than `timeoutMs` (kube-proxy
 * uses 2 x syncPeriod: a full sync is due every syncPeriod, so a healthy agent never
 * lets a change or the periodic sync wait that long). Before the first sync, the
 * start counts as the time the wait began.
 */
export function healthStatus(s: HealthState, now: number, timeoutMs: number): HealthStatus {
  const waitingSince = s.lastSyncedAt === undefined ? s.startedAt : s.queuedSince;
  const stale = s.lastSyncedAt !== undefined && now - s.lastSyncedAt > timeoutMs;
  const healthy = !stale && (waitingSince === undefined || now - waitingSince <= timeoutMs);
  return {
    healthy,
    body: {
      lastUpdated: new Date(s.lastSyncedAt ?? s.startedAt).toISOString(),
      currentTime: new Date(now).toISOString(),
      nodeEligible: true,
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
  const wanted = proxiedServices(input.plan, input.mode).filter(
    (s) => s.type === 'LoadBalancer' && s.externalTrafficPolicy === 'Local' && s.healthCheckNodePort !== undefined,
  );
  if (wanted.length === 0) return out;
  const local = new Map<string, Set<string>>();
  for (const sl of input.endpointSlices) {
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

/** What a healthCheckNodePort answers. */
export function healthCheckResponse(s: HealthCheckService, proxyHealthy: boolean): { status: number; body: object } {
  const body = { service: { namespace: s.namespace, name: s.name }, localEndpoints: s.localEndpoints, serviceProxyHealthy: proxyHealthy };
  return { status: s.localEndpoints > 0 && proxyHealthy ? 200 : 503, body };
}
