// The agent's sources merged into one RenderInput. Pure.
//
// Services: the plan's (reviewed in Git) and the API's. For a Service in both, the
// plan's spec holds, but what the cluster allocated wins: clusterIPs (with their
// families), load-balancer ingress, and node ports the plan left open. A Service
// only in the API (e.g. replace mode: every unlabelled Service) is taken as it is.
// Then only the Services svcplane owns in its mode are kept.
// EndpointSlices: from files and from the API; the API's wins for the same slice.
// Service CIDRs: the cluster's ServiceCIDR objects once listed, else the plan's.

import type { ProxyConfig } from '../model/config.js';
import type { EndpointSliceInfo } from '../model/endpoints.js';
import type { NodeContext } from '../model/node.js';
import { compareByNamespaceName, DEFAULT_NODE_PORT_RANGE, PLAN_API_VERSION, PLAN_KIND, serviceKey, type Plan, type PlanService } from '../model/plan.js';
import { ownsService, type ProxyMode, type RenderInput } from '../model/render-input.js';

export interface AgentSources {
  readonly plan?: Plan;
  /** The cluster's ServiceCIDR ranges once listed; they replace the plan's (the DROP for unallocated addresses follows the cluster). */
  readonly apiServiceCIDRs?: readonly string[];
  readonly apiServices?: readonly PlanService[];
  readonly fileSlices?: readonly EndpointSliceInfo[];
  readonly apiSlices?: readonly EndpointSliceInfo[];
  readonly node: NodeContext;
  readonly config: ProxyConfig;
  readonly mode: ProxyMode;
}

/** The plan's Service with what the cluster allocated for it. */
export function withAllocations(planned: PlanService, api: PlanService): PlanService {
  const ports = planned.ports.map((p) => {
    if (p.nodePort !== undefined) return p;
    const a = api.ports.find((x) => x.name === p.name && x.protocol === p.protocol);
    return a?.nodePort !== undefined ? { ...p, nodePort: a.nodePort } : p;
  });
  return {
    ...planned,
    ...(api.clusterIPs.length && !planned.headless ? { clusterIPs: api.clusterIPs, ipFamilies: api.ipFamilies } : {}),
    ...(api.loadBalancerIngress.length ? { loadBalancerIngress: api.loadBalancerIngress } : {}),
    ...(planned.healthCheckNodePort === undefined && api.healthCheckNodePort !== undefined ? { healthCheckNodePort: api.healthCheckNodePort } : {}),
    ports,
  };
}

// The last merge of each plan Service, by the plan's object: a merge after another API
// change gives the same object for a Service whose plan and API objects did not change.
// The nftables syncer keeps the Service objects it rendered (service-source.ts): new
// objects for every Service at each merge would have it hold a second copy of them all.
const merged = new WeakMap<PlanService, { api: PlanService; merged: PlanService }>();

function withAllocationsOnce(planned: PlanService, api: PlanService): PlanService {
  const last = merged.get(planned);
  if (last?.api === api) return last.merged;
  const m = withAllocations(planned, api);
  merged.set(planned, { api, merged: m });
  return m;
}

export function mergeServices(plan: readonly PlanService[], api: readonly PlanService[], mode: ProxyMode): PlanService[] {
  const byKey = new Map<string, PlanService>();
  for (const s of plan) byKey.set(serviceKey(s), s);
  for (const a of api) {
    const k = serviceKey(a);
    const p = byKey.get(k);
    byKey.set(k, p ? withAllocationsOnce(p, a) : a);
  }
  return [...byKey.values()].filter((s) => ownsService(s, mode)).sort(compareByNamespaceName);
}

/**
 * Each source holds one slice per namespace/name (the watch store is keyed by it, the
 * endpoint files refuse a second definition), so with one source empty the other is the
 * merge as it is: one endpoint change at 10k no longer rebuilds a map of every slice
 * (~4 ms per change, cluster-profile.ts).
 */
export function mergeSlices(files: readonly EndpointSliceInfo[], api: readonly EndpointSliceInfo[]): readonly EndpointSliceInfo[] {
  if (api.length === 0) return files;
  if (files.length === 0) return api;
  const byKey = new Map<string, EndpointSliceInfo>();
  for (const s of files) byKey.set(`${s.namespace}/${s.name}`, s);
  for (const s of api) byKey.set(`${s.namespace}/${s.name}`, s);
  return [...byKey.values()];
}

// The sources' arrays keep their identity until they change (stores cache their
// snapshots, files and plan are replaced on reload), and every sync merges them: at
// 10k Services merging and sorting anew cost 15-40 ms. Remember the last merge by the
// identity of what went in.
const EMPTY: readonly never[] = [];
interface Memo<T> {
  keys?: readonly unknown[];
  value?: T;
}
const mergedServices: Memo<PlanService[]> = {};
const mergedSlices: Memo<readonly EndpointSliceInfo[]> = {};
function lastMerge<T>(memo: Memo<T>, keys: readonly unknown[], merge: () => T): T {
  if (memo.keys && memo.keys.length === keys.length && memo.keys.every((k, i) => k === keys[i])) return memo.value!;
  memo.value = merge();
  memo.keys = keys;
  return memo.value;
}

export function buildRenderInput(src: AgentSources): RenderInput {
  const plan: Plan = {
    apiVersion: PLAN_API_VERSION,
    kind: PLAN_KIND,
    serviceCIDRs: src.apiServiceCIDRs?.length ? [...src.apiServiceCIDRs] : (src.plan?.serviceCIDRs ?? []),
    nodePortRange: src.plan?.nodePortRange ?? { ...DEFAULT_NODE_PORT_RANGE },
    services: lastMerge(mergedServices, [src.plan?.services ?? EMPTY, src.apiServices ?? EMPTY, src.mode], () =>
      mergeServices(src.plan?.services ?? [], src.apiServices ?? [], src.mode),
    ),
  };
  return {
    plan,
    endpointSlices: lastMerge(mergedSlices, [src.fileSlices ?? EMPTY, src.apiSlices ?? EMPTY], () => mergeSlices(src.fileSlices ?? [], src.apiSlices ?? [])),
    node: src.node,
    config: src.config,
    mode: src.mode,
  };
}

/** Services (namespace/name) whose value differs between two lists. */
export function changedKeys<T>(before: readonly T[], after: readonly T[], keyOf: (x: T) => string): Set<string> {
  const group = (xs: readonly T[]) => {
    const m = new Map<string, string[]>();
    for (const x of xs) {
      const k = keyOf(x);
      const l = m.get(k);
      if (l) l.push(JSON.stringify(x));
      else m.set(k, [JSON.stringify(x)]);
    }
    for (const l of m.values()) l.sort();
    return m;
  };
  const a = group(before);
  const b = group(after);
  const out = new Set<string>();
  for (const [k, v] of a) if (JSON.stringify(v) !== JSON.stringify(b.get(k))) out.add(k);
  for (const k of b.keys()) if (!a.has(k)) out.add(k);
  return out;
}
