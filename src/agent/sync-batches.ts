// An incremental sync in batches (issue 16 §1): the scheduler hands the agent at most
// maxServicesPerSync changed Services and holds the rest for the next sync. The input
// of a batch is the new one for the batch's Services and the last synced one for the
// held Services, so that whatever a backend reads from the whole input (iptables renders
// a Service it has no fragment of, the top-level chains list every Service) the kernel
// ends each batch with whole Services, each as its old or its new self. The agent keeps
// that input as the last applied one: conntrack cleanup and the traffic reader then
// compare with what the kernel holds.

import type { EndpointSliceInfo } from '../model/endpoints.js';
import { compareByNamespaceName, serviceKey } from '../model/plan-constants.js';
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

const sliceService = (s: EndpointSliceInfo) => `${s.namespace}/${s.serviceName}`;

/** `next`, with the held Services (Service object and slices) as `applied` had them. */
export function withHeldBack(next: RenderInput, applied: RenderInput, held: ReadonlySet<string>): RenderInput {
  if (held.size === 0) return next;
  const services: PlanService[] = next.plan.services.filter((s) => !held.has(serviceKey(s)));
  for (const s of applied.plan.services) if (held.has(serviceKey(s))) services.push(s);
  // Both lists were sorted: the merge is one run appended to another (TimSort takes it in linear time).
  services.sort(compareByNamespaceName);
  const endpointSlices = next.endpointSlices.filter((s) => !held.has(sliceService(s)));
  for (const s of applied.endpointSlices) if (held.has(sliceService(s))) endpointSlices.push(s);
  return { ...next, plan: { ...next.plan, services }, endpointSlices };
}
