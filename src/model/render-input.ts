// Everything a backend's render reads, in one value. Render is a pure function of it.

import type { ProxyConfig } from './config.js';
import type { EndpointSliceInfo } from './endpoints.js';
import type { NodeContext } from './node.js';
import type { Plan, PlanService } from './plan.js';
import { PROXY_NAME } from './plan-constants.js';

/**
 * coexist: only Services labelled service-proxy-name=svcplane (kube-proxy keeps the rest).
 * replace: those and every Service without the label (svcplane replaces kube-proxy).
 */
export type ProxyMode = 'coexist' | 'replace';
export const PROXY_MODES: readonly ProxyMode[] = ['coexist', 'replace'];

export interface RenderInput {
  readonly plan: Plan;
  readonly endpointSlices: readonly EndpointSliceInfo[];
  readonly node: NodeContext;
  readonly config: ProxyConfig;
  readonly mode: ProxyMode;
}

/** Whether svcplane owns this Service in the given mode (kube-proxy's rule, from our side). */
export function ownsService(s: PlanService, mode: ProxyMode): boolean {
  if (s.proxyName === PROXY_NAME) return true;
  return mode === 'replace' && s.proxyName === undefined;
}

/** Whether a Service gets rules: ours, with a virtual IP (not headless, not ExternalName). */
function isProxied(s: PlanService, mode: ProxyMode): boolean {
  return ownsService(s, mode) && !s.headless && s.type !== 'ExternalName';
}

/** Services that get rules (isProxied), in the plan's order. */
export function proxiedServices(plan: Plan, mode: ProxyMode): PlanService[] {
  return plan.services.filter((s) => isProxied(s, mode));
}

/**
 * proxiedServices of the Services that pass `test`, in one pass: no array of every proxied
 * Service (as long as the plan's list) for a caller that wants a few of them (the UDP ones,
 * the health-checked ones). `test` runs first: it is the narrow one.
 */
export function proxiedWhere(input: Pick<RenderInput, 'plan' | 'mode'>, test: (s: PlanService) => boolean): PlanService[] {
  return input.plan.services.filter((s) => test(s) && isProxied(s, input.mode));
}
