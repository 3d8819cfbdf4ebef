// Synthetic cluster for the benchmark: S ClusterIP Services, one TCP port each,
// 10 ready endpoints each spread over two nodes. Deterministic: same S, same input.

import type { EndpointSliceInfo } from '../src/model/endpoints.js';
import type { PlanService } from '../src/model/plan.js';
import type { RenderInput } from '../src/model/render-input.js';
import { ep, input, port, slice, svc } from '../test/helpers/model.js';

export const ENDPOINTS_PER_SERVICE = 10;
/** A /12 holds 10k ClusterIPs comfortably (a /16 would too, but leaves no room to grow the scale). */
export const SERVICE_CIDR = '10.96.0.0/12';

function v4(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

const SVC_BASE = (10 << 24) | (96 << 16); // 10.96.0.0
const POD_BASE = (10 << 24) | (244 << 16); // 10.244.0.0
// Pod addresses 10.244.0.1 .. 10.244.255.254; at 10k x 10 they wrap around, so some
// pods back more than one Service (as real pods can).
const POD_ADDRESSES = 65534;

export function serviceName(i: number): string {
  return `svc-${String(i).padStart(5, '0')}`;
}

export function endpointAddress(serviceIndex: number, j: number): string {
  return v4(POD_BASE + 1 + ((serviceIndex * ENDPOINTS_PER_SERVICE + j) % POD_ADDRESSES));
}

export function serviceAt(i: number): PlanService {
  return svc({ name: serviceName(i), clusterIPs: [v4(SVC_BASE + 10 + i)], ports: [port(80, 8080)] });
}

/** The slice of Service i with `extra` more endpoints than the usual 10. */
export function sliceAt(i: number, extra = 0): EndpointSliceInfo {
  const endpoints = [];
  for (let j = 0; j < ENDPOINTS_PER_SERVICE + extra; j++) {
    // Extra endpoints (j >= 10) take the next Service's pod addresses: distinct within this Service.
    endpoints.push(ep(endpointAddress(i, j), j % 2 === 0 ? 'node1' : 'node2'));
  }
  return slice(serviceName(i), endpoints, [{ port: 8080 }]);
}

/** S Services x 10 endpoints; `grown` maps a Service index to how many endpoints it gets on top. */
export function syntheticInput(services: number, grown: ReadonlyMap<number, number> = new Map()): RenderInput {
  const svcs: PlanService[] = [];
  const slices: EndpointSliceInfo[] = [];
  for (let i = 0; i < services; i++) {
    svcs.push(serviceAt(i));
    slices.push(sliceAt(i, grown.get(i) ?? 0));
  }
  return input(svcs, slices, { serviceCIDRs: [SERVICE_CIDR] });
}
