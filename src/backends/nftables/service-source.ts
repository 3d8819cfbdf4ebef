// What the nftables syncer keeps of each Service between syncs: the input its fragments
// were rendered from (the plan's Service and its EndpointSlices, the very objects), not
// the fragments. Render is pure, and the node and config a state was made for do not
// change under it (a change of either is a full sync), so rendering the same source again
// gives the same fragments, when a full sync puts the tables together or an incremental
// one diffs a Service's old fragments against its new ones.
//
// Before, the fragments were kept deflated (JSON against a preset dictionary): at 44k
// Services x 1 endpoint ~8 MB of strings in the heap, ~7 MiB of zlib's memory outside it
// after 44k deflateRawSync calls, and ~0.9 s of packing a full sync. The objects here are
// the input's own (the agent holds them anyway): one small array a Service with slices.
// Unpacking (inflate, JSON.parse) and rendering again cost the same (~1.7 s for 44k x 1).

import type { EndpointSliceInfo } from '../../model/endpoints.js';
import type { IPFamily } from '../../model/ip.js';
import type { NodeContext } from '../../model/node.js';
import type { PlanService } from '../../model/plan.js';
import { viewsOfService } from '../../model/service-ports.js';
import { serviceFragment, type Fragment, type TableContext } from './render.js';

/**
 * A Service with its one slice, the usual case: an object of two fields, ~40 bytes, where
 * a two-element array was ~64 (array and backing store): ~1 MB at 44k Services x 1, for as
 * long as the state lives (the nftables README, "Session 17").
 */
class WithOneSlice {
  constructor(
    readonly service: PlanService,
    readonly slice: EndpointSliceInfo,
  ) {}
}

/** A Service alone (no slices), with its one slice, or the Service then its slices in the order rendered. */
export type ServiceSource = PlanService | WithOneSlice | readonly [PlanService, ...EndpointSliceInfo[]];

export function sourceOf(svc: PlanService, slices: readonly EndpointSliceInfo[]): ServiceSource {
  // An array literal or concat is allocated at its length; a spread of an array grew as if
  // pushed (room for 17: ~190 bytes a pair, 8 MB at 44k Services x 1).
  if (slices.length === 0) return svc;
  return slices.length === 1 ? new WithOneSlice(svc, slices[0]!) : ([svc] as (PlanService | EndpointSliceInfo)[]).concat(slices) as unknown as ServiceSource;
}

/** The Service's fragments in `family`, as a sync renders them. */
export function fragmentsOfSource(source: ServiceSource, family: IPFamily, node: NodeContext, tc: TableContext): Fragment[] {
  const [svc, slices] =
    source instanceof WithOneSlice ? [source.service, [source.slice]] : Array.isArray(source) ? [source[0], source.slice(1) as EndpointSliceInfo[]] : [source as PlanService, NO_SLICES];
  return viewsOfService(svc, family, slices, node).map((v) => serviceFragment(v, tc));
}

const NO_SLICES: readonly EndpointSliceInfo[] = [];
