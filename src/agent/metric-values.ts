// What the kube-proxy metrics report, computed from a sync's input (pure).
// kube-proxy runs one proxier per IP family and labels its metrics with it; one
// svcplane sync programs every family the node serves, so a sync counts for each.

import { ipFamilyOf, parseCIDR, type IPFamily } from '../model/ip.js';
import type { PlanService } from '../model/plan.js';
import type { RenderInput } from '../model/render-input.js';
import { servicePortViews } from '../model/service-ports.js';
import type { ConntrackDeletion } from './conntrack.js';

const FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];

/** The families the node serves: those of its addresses or of the Service CIDRs; IPv4 when neither says. */
export function servedFamilies(input: RenderInput): IPFamily[] {
  const seen = new Set<IPFamily>();
  for (const a of input.node.addresses) {
    const f = ipFamilyOf(a);
    if (f) seen.add(f);
  }
  for (const c of input.plan.serviceCIDRs) {
    const f = parseCIDR(c)?.family;
    if (f) seen.add(f);
  }
  const out = FAMILIES.filter((f) => seen.has(f));
  return out.length ? out : ['IPv4'];
}

export interface NoLocalEndpoints {
  readonly internal: number;
  readonly external: number;
}

/**
 * Service ports of one family with a Local traffic policy and no endpoint on this
 * node, as kube-proxy counts them: internal for internalTrafficPolicy Local,
 * external for externalTrafficPolicy Local on an externally reachable port.
 */
export function noLocalEndpoints(input: RenderInput, family: IPFamily): NoLocalEndpoints {
  let internal = 0;
  let external = 0;
  // Runs after every sync: build views only for Services with a Local policy (usually
  // few), not for every Service (a view filters its endpoints, ~5 ms per sync at 1k).
  const local = localPolicyServices(input.plan.services);
  if (local.length === 0) return { internal, external };
  for (const v of servicePortViews({ ...input, plan: { ...input.plan, services: local } }, family)) {
    if (v.localEndpoints.length > 0) continue;
    if (v.internalPolicyLocal) internal++;
    if (v.externalPolicyLocal && v.externallyAccessible) external++;
  }
  return { internal, external };
}

// By the identity of the plan's Service list (kept while no Service changes): an
// endpoint change does not walk every Service, once per family, to find them.
const localPolicy = new WeakMap<readonly PlanService[], PlanService[]>();
function localPolicyServices(services: readonly PlanService[]): PlanService[] {
  let out = localPolicy.get(services);
  if (!out) localPolicy.set(services, (out = services.filter((s) => s.internalTrafficPolicy === 'Local' || s.externalTrafficPolicy === 'Local')));
  return out;
}

/** The family a `conntrack -D` command works on: IPv6 when it names an IPv6 address (conntrack's default is IPv4). */
export function deletionFamily(args: ConntrackDeletion): IPFamily {
  return args.some((a) => ipFamilyOf(a) === 'IPv6') ? 'IPv6' : 'IPv4';
}
