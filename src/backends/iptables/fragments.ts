// The iptables ruleset of one family as a skeleton, one fragment per Service and a
// tail, so the syncer can keep the fragments of the Services that did not change and
// render only the others. Pure.
//
// Assembling gives exactly renderFamily's chains: a chain's place is where it was
// first named, its rules are in the order they were added, and replaying the pieces
// in render order (skeleton, Services by namespace/name, tail) names and adds in the
// same order as rendering them in one pass. test/backends/iptables/fragments.test.ts
// checks that against renderFamily.

import type { IPFamily } from '../../model/ip.js';
import type { PlanService } from '../../model/plan.js';
import type { RenderInput } from '../../model/render-input.js';
import type { EndpointSliceInfo } from '../../model/endpoints.js';
import { viewsOfService } from '../../model/service-ports.js';
import { keptTraffic, trafficPort, type KeptTraffic } from './traffic-set.js';
import { CHAINS } from './names.js';
import { ownChains, packOwnChains, PackedChain, type OwnChains } from './packed-chains.js';
import { KeptFragment, keptShared, type KeptShared } from './kept-fragment.js';
import { ChainAssembly } from './chain-assembly.js';
import { nodePortsTail, servicePort, skeleton, Table, type Ctx, type IptChain, type IptTables } from './render.js';

/** What one piece adds to a family's filter and nat tables, chains in the order first named. */
export interface IptFragment {
  readonly filter: readonly IptChain[];
  readonly nat: readonly IptChain[];
  /** The Service's elements of the family's traffic set (traffic-set.ts), of its Service ports with any; absent when none. */
  readonly traffic?: KeptTraffic;
  /** A kept Service's own chains (packFragment), not in the lists above: read them with ownChains. */
  readonly own?: OwnChains;
}

const EMPTY: IptFragment = { filter: [], nat: [] };

function piece(fill: (filter: Table, nat: Table) => void): IptFragment {
  const filter = new Table();
  const nat = new Table();
  fill(filter, nat);
  const f = filter.list();
  const n = nat.list();
  return f.length || n.length ? { filter: f, nat: n } : EMPTY;
}

/** Every rule one Service (all its ports) adds in this family; empty when it has no port of the family. */
export function serviceFragment(
  input: RenderInput,
  ctx: Ctx,
  svc: PlanService,
  slices: readonly EndpointSliceInfo[],
): IptFragment {
  const views = viewsOfService(svc, ctx.family, slices, input.node);
  if (views.length === 0) return EMPTY;
  const rules = piece((filter, nat) => {
    for (const v of views) servicePort(v, ctx, filter, nat);
  });
  const traffic = keptTraffic(views.map(trafficPort));
  return traffic ? { ...rules, traffic } : rules;
}

/** The rules no Service owns, before and after the Services'. */
export function frameFragments(input: RenderInput, ctx: Ctx): { head: IptFragment; tail: IptFragment } {
  return {
    head: piece((filter, nat) => skeleton(input, ctx, filter, nat)),
    tail: piece((_filter, nat) => nodePortsTail(input, ctx, nat)),
  };
}

/** A piece's rules in one table's shared chains, as it holds them (a kept fragment's without making a list). */
function sharedOf(p: IptFragment, table: 'filter' | 'nat'): KeptShared {
  if (p instanceof KeptFragment) return table === 'filter' ? p.filterShared : p.natShared;
  return p[table];
}

/** A family's chains in render order, and the same chain objects by name (the syncer keeps those as what it wrote). */
export interface AssembledFamily extends IptTables {
  readonly byName: { readonly filter: Map<string, IptChain>; readonly nat: Map<string, IptChain> };
}

/** The family's chains from its pieces, in render order. */
export function assembleFamily(family: IPFamily, pieces: readonly IptFragment[]): AssembledFamily {
  const filter = new ChainAssembly();
  const nat = new ChainAssembly();
  // The shared chains' sizes first: each is copied into one array (chain-assembly.ts).
  for (const p of pieces) {
    filter.count(sharedOf(p, 'filter'));
    nat.count(sharedOf(p, 'nat'));
  }
  for (const p of pieces) {
    const own = p.own;
    filter.add(sharedOf(p, 'filter'));
    if (own) filter.add(ownChains(own, 'filter'));
    nat.add(sharedOf(p, 'nat'));
    if (own) nat.add(ownChains(own, 'nat'));
  }
  // The shared chains' objects are the cached fragments' (the own chains' are made from them): callers must not change them.
  return { family, filter: filter.chains(), nat: nat.chains(), byName: { filter: filter.byName, nat: nat.byName } };
}

/** The chains no single Service owns: the skeleton's, which the Services' rules are appended to. */
const SHARED_CHAINS: ReadonlySet<string> = new Set(Object.values(CHAINS));

/**
 * `fragment` as the syncer keeps it: the Service's own chains packed into one OwnChains
 * (packed-chains.ts), its rules in shared chains as they are. Its own chains come after its
 * shared ones when assembled: every shared chain is the skeleton's, named before any Service's.
 */
export function packFragment(fragment: IptFragment): IptFragment {
  if (fragment === EMPTY) return fragment;
  const { filter, nat, own } = packOwnChains(fragment.filter, fragment.nat, SHARED_CHAINS);
  // One record (kept-fragment.ts), not the fragment, its lists, its OwnChains and its traffic port apart.
  return new KeptFragment(keptShared(filter), keptShared(nat), fragment.traffic, own?.group ?? '', own?.index ?? '');
}

/**
 * What a partial sync changes in one family: the chains to compare with what was written
 * (every chain of the head, tail and re-rendered pieces, with every piece's rules in the
 * shared chains, in render order) and the chains of the replaced pieces that are gone.
 * A partial sync of 1000 endpoint changes at 10k Services assembled the whole family
 * (a Map and arrays of 110k chains) each time only to find these; a Service's own chains
 * (packed, named by it alone) of a piece not re-rendered are the very chains written.
 */
export interface FamilyDelta extends IptTables {
  /** Own chains of replaced or removed pieces that no piece names any more, per table. */
  readonly gone: { readonly filter: ReadonlySet<string>; readonly nat: ReadonlySet<string> };
  /** The replaced or removed pieces' own nat chains, by name: what was written for them (a syncer that keeps no map of every chain looks them up here). */
  readonly before: ReadonlyMap<string, IptChain>;
}

/**
 * The delta of a family whose pieces `eachPiece` hands over (in render order), of which `fresh`
 * were rendered anew (the head and tail count as fresh) and `replaced` are the pieces they
 * replaced or the removed pieces; `written`, the family's chains as last written. Chain order and rules are those of assembleFamily's.
 */
export function familyDelta(
  family: IPFamily,
  eachPiece: (add: (piece: IptFragment, fresh: boolean) => void) => void,
  replaced: Iterable<IptFragment>,
  written?: { readonly filter: ReadonlyMap<string, IptChain>; readonly nat: ReadonlyMap<string, IptChain> },
): FamilyDelta {
  // A shared chain whose every rule is as written comes back as the written chain (chain-assembly.ts).
  const filterChains = new ChainAssembly(written?.filter);
  const natChains = new ChainAssembly(written?.nat);
  // A callback per piece, not a generator of records: 10^4 pieces per partial sync at 10k Services.
  // Twice: the shared chains' sizes first, so that each is copied into one array (chain-assembly.ts).
  eachPiece((piece) => {
    filterChains.count(sharedOf(piece, 'filter'));
    natChains.count(sharedOf(piece, 'nat'));
  });
  // A kept piece's own chains are left out (they are as written); its lists hold its rules in shared chains alone.
  eachPiece((piece, fresh) => {
    const own = fresh ? piece.own : undefined;
    filterChains.add(sharedOf(piece, 'filter'));
    if (own) filterChains.add(ownChains(own, 'filter'));
    natChains.add(sharedOf(piece, 'nat'));
    if (own) natChains.add(ownChains(own, 'nat'));
  });
  const [filter, nat] = [filterChains.byName, natChains.byName];
  const gone = { filter: new Set<string>(), nat: new Set<string>() };
  const before = new Map<string, IptChain>();
  for (const r of replaced) {
    for (const c of ownChains(r.own, 'filter')) if (!filter.has(c.name)) gone.filter.add(c.name);
    for (const c of ownChains(r.own, 'nat')) {
      before.set(c.name, c);
      if (!nat.has(c.name)) gone.nat.add(c.name);
    }
  }
  return { family, filter: filterChains.chains(), nat: natChains.chains(), gone, before };
}

/**
 * `written` (a family's chains by name as last written, changed in place) once `delta` was
 * written: its chains set, the gone ones deleted. With `natOwnCached` its nat map holds only
 * the chains no single Service owns, and keeps holding only those.
 */
export function applyDelta<W extends { readonly filter: Map<string, IptChain>; readonly nat: Map<string, IptChain>; readonly natOwnCached?: boolean }>(written: W, delta: FamilyDelta): W {
  for (const t of ['filter', 'nat'] as const) {
    const sharedOnly = t === 'nat' && written.natOwnCached === true;
    for (const name of delta.gone[t]) written[t].delete(name);
    for (const c of delta[t]) if (!(sharedOnly && c instanceof PackedChain)) written[t].set(c.name, c);
  }
  return written;
}
