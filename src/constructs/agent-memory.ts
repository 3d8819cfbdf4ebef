// How much memory the agent needs for a cluster of a given size, per backend: the
// DaemonSet's default requests and limits, and agentMemoryMiB for those who set their
// own. A linear fit of the compiled agent's measured peak (VmHWM, `npm run bench`'s
// agent-memory part: offline and API mode, first full sync, a resync and 1000 endpoint
// changes; BENCHMARKS.md), so the figures follow the code as the bench re-measures it.

import type { AgentBackend, TrafficMetrics } from './node-agent.js';

/** The size of the cluster an agent serves. */
export interface AgentScale {
  /** Services the agent programs (every Service in REPLACE mode, the labelled ones in COEXIST mode). */
  readonly services: number;
  /**
   * Endpoints in all, summed over those Services' EndpointSlices.
   * @default 10 x services
   */
  readonly endpoints?: number;
}

/** The peak of the agent, in MiB: base + per Service + per endpoint. */
interface MemoryFit {
  /** node, its modules and the agent's own with a handful of Services. */
  readonly baseMiB: number;
  readonly perServiceKiB: number;
  readonly perEndpointKiB: number;
}

/**
 * An envelope of the compiled agent's measured peaks (VmHWM; offline and API mode,
 * first full sync, resync and 1000 endpoint changes; no scrape: trafficMetrics 'off'), not a regression: the base covers
 * the small and mid sizes, where one sync of every Service at once sets the peak, and the
 * slopes the large ones. Points (MiB, the larger of the two modes) and where they come
 * from (FIT_SOURCE):
 *   nftables: 2 Services 59.4; 1k x 10 86.3 (1000 changes at once); 10k x 10 117.7;
 *             44k x 1 135.1.
 *   iptables: 2 Services 60.0; 1k x 10 84.2; 10k x 10 141.0; 44k x 1 177.0.
 * Each point is at or under the estimate (the request) with 4-10 % to spare (one build's
 * peak moves by 5-10 MiB between runs), and so under 1.25 x it (the limit).
 * The base (85 MiB) is the idle agent's ~60 plus what one sync of every Service at once
 * holds at 1k. Earlier fits, as the agent's peaks came down: 90 MiB + 1.65/0.3 KiB
 * (nftables) and 90 + 2.8/0.35 (iptables) at aac0681 (iptables 44k x 1 at 224 MiB); 100 MiB
 * fitted to 9fb4fe0 (idle ~73, iptables 10k x 10 at 176); 150 MiB at cc24ae1 (nftables
 * 10k x 10 at 184, iptables at 322 MiB).
 * IPVS is not measured (it needs the VM): it renders fewer rules than iptables and keeps
 * ipsets and virtual servers beside them, so it gets iptables' figures.
 */
const FITS: Readonly<Record<`${AgentBackend}`, MemoryFit>> = {
  nftables: { baseMiB: 85, perServiceKiB: 1.1, perEndpointKiB: 0.3 },
  iptables: { baseMiB: 85, perServiceKiB: 1.9, perEndpointKiB: 0.45 },
  ipvs: { baseMiB: 85, perServiceKiB: 1.9, perEndpointKiB: 0.45 },
};

/**
 * The same with a Prometheus scraping /metrics (every trafficMetrics level but OFF): a scrape
 * reads the rules' counters and writes ~3 series per Service port (svcplane_service_*), which
 * at 44k Services costs the agent 59-66 MiB over the peaks above, at 10k x 10 10-17 MiB. Points:
 * VmHWM after the first sync, a resync, 1000 changes and three scrapes, the larger of offline and
 * API mode (src/agent/README.md "Session 21", e3c441c, one run each):
 *   nftables: 10k x 10 127 (offline; API 125); 44k x 1 195 (offline; API 190).
 *   iptables: 10k x 10 140 (offline; API 139); 44k x 1 238 (API; offline 231).
 * 44k x 1 is under the estimate by 7.7 % (nftables) and 5.5 % (iptables), 10k x 10 by more.
 * The small sizes are the fits above (a scrape of a few Services costs little). Only the
 * per-Service slope grows: the series are per Service port. IPVS gets iptables' figures.
 */
const SCRAPED_FITS: Readonly<Record<`${AgentBackend}`, MemoryFit>> = {
  nftables: { baseMiB: 85, perServiceKiB: 2.6, perEndpointKiB: 0.3 },
  iptables: { baseMiB: 85, perServiceKiB: 3.4, perEndpointKiB: 0.45 },
  ipvs: { baseMiB: 85, perServiceKiB: 3.4, perEndpointKiB: 0.45 },
};

/** The runs the points come from. */
export const FIT_SOURCE =
  'BENCHMARKS.md at 18f1432 (2026-12-07, whole npm run bench: 2 Services, 1k x 10, 10k x 10, 44k x 1, offline and API mode, 1000 changes); scraped: src/agent/README.md "Session 21" (e3c441c, 10k x 10 and 44k x 1, offline and API mode, 1000 changes and 3 scrapes)';

/** Headroom over the measured peak for the limit: GC timing and a burst of changes. */
const LIMIT_HEADROOM = 1.25;

/** The cluster size the DaemonSet's default resources are for. */
export const DEFAULT_AGENT_SCALE: AgentScale = { services: 2000 };

/**
 * The agent's expected peak (MiB) at `scale` with `backend`, rounded up: scraped (the
 * default, as an agent whose /metrics Prometheus reads), or with `trafficMetrics` 'off'.
 */
export function agentPeakMiB(scale: AgentScale, backend?: `${AgentBackend}`, trafficMetrics: `${TrafficMetrics}` = 'endpoints'): number {
  // The NodeAgent's default backend when none is named.
  const fits = trafficMetrics === 'off' ? FITS : SCRAPED_FITS;
  const f = backend === undefined ? fits.nftables : fits[backend];
  const services = Math.max(0, scale.services);
  const endpoints = Math.max(0, scale.endpoints ?? 10 * services);
  return Math.ceil(f.baseMiB + (services * f.perServiceKiB + endpoints * f.perEndpointKiB) / 1024);
}

/**
 * Memory limit (MiB) for an agent serving `services` Services (10 endpoints each unless
 * `endpoints` says otherwise): the expected peak plus 25 %, rounded up. E.g.
 * `resources: { limits: { memory: `${agentMemoryMiB(10_000, { backend: AgentBackend.IPTABLES })}Mi` } }`.
 */
export function agentMemoryMiB(services: number, options: { readonly endpoints?: number; readonly backend?: `${AgentBackend}`; readonly trafficMetrics?: `${TrafficMetrics}` } = {}): number {
  const scale = { services, ...(options.endpoints !== undefined ? { endpoints: options.endpoints } : {}) };
  return Math.ceil(LIMIT_HEADROOM * agentPeakMiB(scale, options.backend, options.trafficMetrics));
}

/**
 * Requests and limits for an agent at `scale`: the request is the expected peak (what the
 * scheduler should reserve on every node), the limit agentMemoryMiB's. No CPU limit:
 * throttling delays syncs.
 */
export function agentResources(scale: AgentScale, backend: `${AgentBackend}`, trafficMetrics: `${TrafficMetrics}` = 'endpoints'): { requests: { cpu: string; memory: string }; limits: { memory: string } } {
  return {
    requests: { cpu: '100m', memory: `${agentPeakMiB(scale, backend, trafficMetrics)}Mi` },
    limits: { memory: `${agentMemoryMiB(scale.services, { ...(scale.endpoints !== undefined ? { endpoints: scale.endpoints } : {}), backend, trafficMetrics })}Mi` },
  };
}
