// Bad input never takes working state away: for a Service whose Service object or
// EndpointSlice was skipped as malformed, the kernel keeps what it holds for it now:
// virtual and real servers, ipset members, dummy-interface addresses, and (static, never
// per Service) the helper iptables rules. Pure.
//
// IPVS, ipsets and addresses carry no owner, unlike nftables' and iptables' comments:
//   - a preserved Service still in the input (its EndpointSlice was malformed) has its
//     virtual servers known by address:port: they are left out of both sides of the diff;
//   - a Service whose Service object was malformed is not in the input at all, so nothing
//     tells its virtual servers, members and addresses from stale ones: while any input is
//     skipped, nothing is removed (virtual servers, set members, addresses alike).

import type { RenderInput } from '../../model/render-input.js';
import { vsKey, type LiveVirtualServer } from './diff.js';
import type { VirtualServer } from './ruleset.js';

/** The desired and live virtual servers to diff, without those of the preserved Services. */
export function preservePlan(
  desired: readonly VirtualServer[],
  live: readonly LiveVirtualServer[],
  keep: readonly string[],
): { desired: VirtualServer[]; live: LiveVirtualServer[] } {
  if (keep.length === 0) return { desired: [...desired], live: [...live] };
  const kept = (v: VirtualServer) => keep.some((k) => v.service.startsWith(`${k}:`));
  const keptKeys = new Set(desired.filter(kept).map(vsKey));
  return { desired: desired.filter((v) => !kept(v)), live: live.filter((v) => !keptKeys.has(vsKey(v))) };
}

/**
 * The plan without the preserved Services: the set members to add come from it (set
 * members carry no owner; a preserved Service's stay as the kernel has them).
 */
export function withoutServices(input: RenderInput, keep: readonly string[]): RenderInput['plan'] {
  return { ...input.plan, services: input.plan.services.filter((x) => !keep.includes(`${x.namespace}/${x.name}`)) };
}

/** ipvsadm commands with the deletions of whole virtual servers dropped while any input is skipped. */
export function keepVirtualServers(commands: readonly string[], keep: readonly string[]): string[] {
  return keep.length ? commands.filter((c) => !c.startsWith('-D ')) : [...commands];
}
