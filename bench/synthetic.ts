// Synthetic cluster for the benchmark: S ClusterIP Services, one TCP port each,
// E ready endpoints each (10 unless a scenario says otherwise) spread over two nodes.
// Deterministic: same S and E, same input.

import type { EndpointSliceInfo } from '../src/model/endpoints.js';
import type { PlanService } from '../src/model/plan.js';
import type { RenderInput } from '../src/model/render-input.js';
import { ep, input, port, slice, svc } from '../test/helpers/model.js';

export const ENDPOINTS_PER_SERVICE = 10;
/** A /12 holds the 44k ClusterIPs of the largest scenario (a /16 would not). */
export const SERVICE_CIDR = '10.96.0.0/12';

function v4(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

const SVC_BASE = (10 << 24) | (96 << 16); // 10.96.0.0
const POD_BASE = (10 << 24) | (244 << 16); // 10.244.0.0
// Pod addresses 10.244.0.1 .. 10.244.255.254; past 65534 endpoints in all they wrap
// around, so some pods back more than one Service (as real pods can). Within one
// Service they stay distinct as long as E <= 65534.
const POD_ADDRESSES = 65534;

export function serviceName(i: number): string {
  return `svc-${String(i).padStart(5, '0')}`;
}

export function endpointAddress(serviceIndex: number, j: number, perService = ENDPOINTS_PER_SERVICE): string {
  return v4(POD_BASE + 1 + ((serviceIndex * perService + j) % POD_ADDRESSES));
}

export function serviceAt(i: number): PlanService {
  return svc({ name: serviceName(i), clusterIPs: [v4(SVC_BASE + 10 + i)], ports: [port(80, 8080)] });
}

/** The slice of Service i: `perService` endpoints, plus `extra` more. */
export function sliceAt(i: number, extra = 0, perService = ENDPOINTS_PER_SERVICE): EndpointSliceInfo {
  const endpoints = [];
  for (let j = 0; j < perService + extra; j++) {
    // Extra endpoints (j >= perService) take the next Service's pod addresses: distinct within this Service.
    endpoints.push(ep(endpointAddress(i, j, perService), j % 2 === 0 ? 'node1' : 'node2'));
  }
  return slice(serviceName(i), endpoints, [{ port: 8080 }]);
}

/** S Services x E endpoints; `grown` maps a Service index to how many endpoints it gets on top. */
export function syntheticInput(services: number, grown: ReadonlyMap<number, number> = new Map(), perService = ENDPOINTS_PER_SERVICE): RenderInput {
  const svcs: PlanService[] = [];
  const slices: EndpointSliceInfo[] = [];
  for (let i = 0; i < services; i++) {
    svcs.push(serviceAt(i));
    slices.push(sliceAt(i, grown.get(i) ?? 0, perService));
  }
  return input(svcs, slices, { serviceCIDRs: [SERVICE_CIDR] });
}
