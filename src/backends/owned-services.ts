// The Services a sync renders, by namespace/name, for the incremental syncers.

import { compareByNamespaceName, serviceKey, type PlanService } from '../model/plan.js';
import { proxiedServices, type RenderInput } from '../model/render-input.js';

// By the identity of the plan's Service list (the agent keeps it while nothing changes):
// an incremental sync at 10k Services should not rebuild this map each time.
const owned = new WeakMap<readonly PlanService[], { mode: string; map: Map<string, PlanService> }>();

/** The Services of ours in `input`, by namespace/name, in render order (compareByNamespaceName). */
export function ownedServices(input: RenderInput): Map<string, PlanService> {
  const hit = owned.get(input.plan.services);
  if (hit && hit.mode === input.mode) return hit.map;
  const map = new Map([...proxiedServices(input.plan, input.mode)].sort(compareByNamespaceName).map((s) => [serviceKey(s), s]));
  owned.set(input.plan.services, { mode: input.mode, map });
  return map;
}
