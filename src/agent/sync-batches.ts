// An incremental sync in batches (issue 16 §1): the scheduler hands the agent at most
// maxServicesPerSync changed Services and holds the rest for the next sync. The input
// of a batch is the new one for the batch's Services and the last synced one for the
// held Services, so that whatever a backend reads from the whole input (iptables renders
// a Service it has no fragment of, the top-level chains list every Service) the kernel
// ends each batch with whole Services, each as its old or its new self. The agent keeps
// that input as the last applied one: conntrack cleanup and the traffic reader then
// compare with what the kernel holds.

import { compareByNamespaceName, isOneOf } from '../model/plan-constants.js';
import type { PlanService } from '../model/plan.js';
import type { RenderInput } from '../model/render-input.js';

/**
 * 10k Services x 10 endpoints, API mode, 1000 endpoint changes at once, nftables: VmHWM
 * over the first sync's peak +42 MiB in one sync of 999 Services, +12 MiB in batches of
 * 250, +3 MiB in batches of 100 (README.md "Memory", "Large incremental syncs in batches").
 * Each batch also pays the backend's O(all Services) part of an incremental sync (1-6 s at
 * 10k under load): 100 keeps a burst's peak at the first sync's for ~2x its time.
 */
export const DEFAULT_MAX_SERVICES_PER_SYNC = 100;

/** `SVCPLANE_AGENT_SYNC_BATCH=N`: another batch size (a measurement, a node with memory to spare). */
export const SYNC_BATCH_ENV = 'SVCPLANE_AGENT_SYNC_BATCH';

export function maxServicesPerSyncFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env[SYNC_BATCH_ENV]);
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_MAX_SERVICES_PER_SYNC;
}

/**
 * `next`, with the held Services (Service object and slices) as `applied` had them.
 *
 * Each batch of a burst of changes made this from the whole input: at 44k Services x 1 a
 * `namespace/name` string per Service and per slice of both inputs (~180k strings, ~7 MB)
 * and a new Service list, which the syncers' map of their Services is kept by
 * (owned-services.ts: a new list is 44k entries mapped and sorted again). Now no key is
 * made per element, and when every held Service is the very object in both inputs (its
 * endpoints changed, not the Service: the common case) the Service list is `next`'s own.
 */
export function withHeldBack(next: RenderInput, applied: RenderInput, held: ReadonlySet<string>): RenderInput {
  if (held.size === 0) return next;
  const isHeld = isOneOf(held);
  const heldOf = (services: readonly PlanService[]) => services.filter((s) => isHeld(s.namespace, s.name));
  const nextHeld = heldOf(next.plan.services);
  const appliedHeld = heldOf(applied.plan.services);
  // Both lists are sorted (compareByNamespaceName): the held Services come in the same order in each.
  const same = nextHeld.length === appliedHeld.length && nextHeld.every((s, i) => s === appliedHeld[i]);
  let plan = next.plan;
  if (!same) {
    const services: PlanService[] = next.plan.services.filter((s) => !isHeld(s.namespace, s.name));
    services.push(...appliedHeld);
    // Both lists were sorted: the merge is one run appended to another (TimSort takes it in linear time).
    services.sort(compareByNamespaceName);
    plan = { ...next.plan, services };
  }
  const endpointSlices = next.endpointSlices.filter((s) => !isHeld(s.namespace, s.serviceName));
  for (const s of applied.endpointSlices) if (isHeld(s.namespace, s.serviceName)) endpointSlices.push(s);
  return { ...next, plan, endpointSlices };
}
