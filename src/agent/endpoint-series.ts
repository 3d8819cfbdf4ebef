// Which (Service port, endpoint) pairs get svcplane_endpoint_* series: the first
// MAX_ENDPOINT_SERIES in label order (namespace, service, port, protocol, endpoint, each
// compared as text) of the pairs the node's rules may count, taken from the input the
// node enforces. A pair is a Service port and one of its DNAT targets (every backend
// counts those), or one of its serving terminating endpoints (IPVS keeps them as
// weight-0 real servers while their connections drain, and counts them).
//
// Why from the input and not from a read: the readers are told the pairs before they
// read (EndpointFilter), so no other endpoint's sample is made. At 10k Services x 10
// endpoints a read made 300k endpoint samples and a key per sample to keep 6000, and a
// scrape grew the agent's heap from 95 to ~250 MB (src/agent/README.md, "Session 21").
// What the kernel counts and the input say are the same once a sync has applied it;
// between, a pair of the input not yet in the kernel holds a place without a series.
//
// Services are taken in order and only until the bound is reached; the rest are only
// counted (svcplane_endpoint_series_omitted). Pure.

import type { EndpointFilter, TrafficSample } from '../backends/traffic.js';
import { endpointText } from '../backends/trace-result.js';
import { compareByNamespaceName } from '../model/plan-constants.js';
import { proxiedServices, type RenderInput } from '../model/render-input.js';
import { countedEndpoints, slicesByService, viewsOfService } from '../model/service-ports.js';

export interface ExportedEndpointPairs extends EndpointFilter {
  /** Whether an endpoint sample's pair (its Service port and endpoint) is exported. */
  keeps(s: TrafficSample): boolean;
  /** How many pairs are exported (at most the bound). */
  readonly exported: number;
  /** The input's pairs beyond the bound. */
  readonly omitted: number;
}

/** A (Service port, endpoint) pair as a key, in label order when compared as text: namespace, service, port, protocol, endpoint. */
export function endpointPairKey(s: Pick<TrafficSample, 'namespace' | 'service' | 'port' | 'protocol' | 'endpoint'>): string {
  return `${s.namespace}\u0000${s.service}\u0000${s.port}\u0000${s.protocol}\u0000${s.endpoint ?? ''}`;
}

/** The pairs of the first Services (namespace, name order) up to `max`, and how many there are in all. */
export function exportedEndpointPairs(input: RenderInput, max: number): ExportedEndpointPairs {
  const services = [...proxiedServices(input.plan, input.mode)].sort(compareByNamespaceName);
  const bySvc = slicesByService(input.endpointSlices);
  const exact = new Set<string>();
  // namespace -> service -> endpoints: what the readers ask, without a string made per question.
  const loose = new Map<string, Map<string, Set<string>>>();
  let total = 0;
  for (const svc of services) {
    const slices = bySvc.get(`${svc.namespace}/${svc.name}`) ?? [];
    const views = [...viewsOfService(svc, 'IPv4', slices, input.node), ...viewsOfService(svc, 'IPv6', slices, input.node)];
    if (exact.size >= max) {
      // Past the bound: counted only (a port's pairs are distinct: its port and protocol are).
      for (const v of views) total += countedEndpoints(v).length;
      continue;
    }
    // Within a Service, label order is the pair keys' as text (port 443 before 80).
    const rest = views.flatMap((v) =>
      countedEndpoints(v).map((ep) => {
        const endpoint = endpointText(ep.ip, ep.port);
        return { key: endpointPairKey({ namespace: svc.namespace, service: svc.name, port: v.port, protocol: v.protocol, endpoint }), endpoint };
      }),
    );
    rest.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    total += rest.length;
    for (const p of rest) {
      if (exact.size >= max) break;
      exact.add(p.key);
      let names = loose.get(svc.namespace);
      if (!names) loose.set(svc.namespace, (names = new Map()));
      let endpoints = names.get(svc.name);
      if (!endpoints) names.set(svc.name, (endpoints = new Set()));
      endpoints.add(p.endpoint);
    }
  }
  return {
    has: (namespace, service, endpoint) => loose.get(namespace)?.get(service)?.has(endpoint) ?? false,
    keeps: (s) => s.endpoint !== undefined && exact.has(endpointPairKey(s)),
    exported: exact.size,
    omitted: total - exact.size,
  };
}
