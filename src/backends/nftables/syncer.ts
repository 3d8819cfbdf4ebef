// Incremental nftables sync for a long-running process (the agent, benchmarks).
//
// A one-shot `apply` must read the table back before it can diff, and at 10k
// Services reading it back takes seconds. A syncer remembers what it last wrote,
// per Service, as render fragments; when told which Services changed, it renders
// only those, diffs their old and new fragments, and sends that transaction: the
// cost follows the size of the change, not of the table. A full sync (read back,
// diff everything) runs at start, when the node or config changes, when the
// caller does not know what changed (periodic resync: it also repairs drift, e.g.
// a flushed table), and after any failure.

import type { RenderInput } from '../../model/render-input.js';
import { proxiedServices } from '../../model/render-input.js';
import { slicesByService, viewsOfService } from '../../model/service-ports.js';
import type { IPFamily } from '../../model/ip.js';
import { serviceKey, type PlanService } from '../../model/plan.js';
import { canon, documentText } from './document.js';
import { diffTable, type NftTransaction } from './diff.js';
import type { NftElement, NftSet, NftTable } from './nft.js';
import { preserveServices } from './preserve.js';
import { assembleTable, serviceFragment, skeletonTable, tableContext, type Fragment, type TableContext } from './render.js';

/** How the syncer reaches the kernel; the real one runs nft, tests may run it in a namespace. */
export interface NftRunner {
  list(family: 'ip' | 'ip6'): Promise<NftTable | undefined>;
  load(document: string): Promise<void>;
}

export interface SyncResult {
  /** A full sync (read back and compared everything) rather than an incremental one. */
  readonly full: boolean;
  readonly changes: number;
  /** The transaction sent; '' when nothing was sent. */
  readonly transaction: string;
  /** Milliseconds spent in each step. */
  readonly timings: Readonly<Record<string, number>>;
}

interface ElementRef {
  count: number;
  readonly element: NftElement;
}

interface FamilyState {
  readonly family: IPFamily;
  readonly tc: TableContext;
  readonly skeleton: NftTable;
  /**
   * Fragments of each Service's ports, by namespace/name, kept as JSON text: at 10k
   * Services the object trees took ~160 MB of heap, the text a third of that, and only
   * the few Services an incremental sync touches are parsed back.
   */
  readonly fragments: Map<string, string>;
  /** Elements in skeleton sets: how many fragments contribute each (a ClusterIP serves several ports). */
  readonly refs: Map<string, Map<string, ElementRef>>;
}

const FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];

function elementId(e: NftElement): string {
  return canon(e.key);
}

/** What the skeleton depends on: when this changes, every fragment may change too. */
function fingerprint(input: RenderInput): string {
  return canon({ node: input.node, config: input.config, cidrs: input.plan.serviceCIDRs, mode: input.mode });
}

function ownedServices(input: RenderInput): Map<string, PlanService> {
  return new Map(proxiedServices(input.plan, input.mode).map((s) => [serviceKey(s), s]));
}

function now(): number {
  return performance.now();
}

export class NftablesSyncer {
  private state:
    | {
        readonly fingerprint: string;
        readonly families: FamilyState[];
        /** Services whose live rules a full sync kept as they were (malformed input): their fragments are unknown. */
        readonly unknown: ReadonlySet<string>;
      }
    | undefined;

  constructor(private readonly runner: NftRunner) {}

  /** Forget what was written: the next sync is a full one. */
  invalidate(): void {
    this.state = undefined;
  }

  /**
   * Makes the kernel match `input`. `changed` names the Services (namespace/name)
   * whose Service object or EndpointSlices changed since the last sync; without
   * it, or when the node or config changed, the sync is full. `preserve` names
   * Services whose input was skipped as malformed: the kernel keeps their rules.
   */
  async sync(input: RenderInput, changed?: ReadonlySet<string>, preserve: readonly string[] = []): Promise<SyncResult> {
    const fp = fingerprint(input);
    const keep = new Set(preserve);
    try {
      if (this.state && changed && this.state.fingerprint === fp) {
        // A Service whose input is malformed keeps its rules: it simply is not re-rendered.
        const todo = new Set([...changed].filter((k) => !keep.has(k)));
        // One whose rules a full sync kept from the kernel has no fragments to diff against: full sync.
        if (![...todo].some((k) => this.state!.unknown.has(k))) return await this.incremental(input, todo);
      }
      return await this.full(input, fp, keep);
    } catch (e) {
      // Whatever the kernel holds now, we no longer know it: converge from a read-back next time.
      this.state = undefined;
      throw e;
    }
  }

  private async full(input: RenderInput, fp: string, keep: ReadonlySet<string>): Promise<SyncResult> {
    const timings: Record<string, number> = {};
    let t = now();
    const bySvc = slicesByService(input.endpointSlices);
    const services = [...ownedServices(input).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const built = FAMILIES.map((family) => {
      const tc = tableContext(input, family);
      const st: FamilyState = { family, tc, skeleton: skeletonTable(input, tc), fragments: new Map(), refs: new Map() };
      const fragments = new Map<string, Fragment[]>();
      for (const [key, svc] of services) {
        // Preserved Services are left out of the remembered state: the kernel's rules for them are kept as they are.
        if (keep.has(key)) continue;
        const frs = viewsOfService(svc, family, bySvc.get(key) ?? [], input.node).map((v) => serviceFragment(v, tc));
        if (!frs.length) continue;
        fragments.set(key, frs);
        for (const fr of frs) addRefs(st.refs, fr);
        st.fragments.set(key, JSON.stringify(frs));
      }
      return { st, fragments };
    });
    const families = built.map((b) => b.st);
    const desired = built.map(({ st, fragments }) => assembleTable(st.skeleton, [...fragments.values()].flat()));
    timings.render = now() - t;

    t = now();
    const live = await Promise.all(desired.map((d) => this.runner.list(d.family)));
    timings.readBack = now() - t;

    t = now();
    const commands: Record<string, unknown>[] = [];
    let changes = 0;
    desired.forEach((d, i) => {
      const tx = diffTable(preserveServices(d, live[i], [...keep]), live[i]);
      for (const c of tx.commands) commands.push(c);
      changes += tx.changes;
    });
    timings.diff = now() - t;

    const transaction = await this.send(commands, timings);
    this.state = { fingerprint: fp, families, unknown: new Set(keep) };
    return { full: true, changes, transaction, timings };
  }

  private async incremental(input: RenderInput, changed: ReadonlySet<string>): Promise<SyncResult> {
    const timings: Record<string, number> = {};
    let t = now();
    const owned = ownedServices(input);
    const slices = input.endpointSlices.filter((s) => changed.has(`${s.namespace}/${s.serviceName}`));
    const bySvc = slicesByService(slices);
    const updates = this.state!.families.map((st) => {
      const next = new Map<string, Fragment[]>();
      for (const key of changed) {
        const svc = owned.get(key);
        const frs = svc ? viewsOfService(svc, st.family, bySvc.get(key) ?? [], input.node).map((v) => serviceFragment(v, st.tc)) : [];
        next.set(key, frs);
      }
      return { st, next };
    });
    timings.render = now() - t;

    t = now();
    const commands: Record<string, unknown>[] = [];
    let changes = 0;
    for (const { st, next } of updates) {
      const tx = fragmentDiff(st, next);
      for (const c of tx.commands) commands.push(c);
      changes += tx.changes;
    }
    timings.diff = now() - t;

    const transaction = await this.send(commands, timings);
    // Only now, with the kernel changed, does the remembered state move on.
    for (const { st, next } of updates) {
      for (const [key, frs] of next) {
        for (const fr of fragmentsOf(st, key)) removeRefs(st.refs, fr);
        for (const fr of frs) addRefs(st.refs, fr);
        if (frs.length) st.fragments.set(key, JSON.stringify(frs));
        else st.fragments.delete(key);
      }
    }
    return { full: false, changes, transaction, timings };
  }

  private async send(commands: Record<string, unknown>[], timings: Record<string, number>): Promise<string> {
    if (commands.length === 0) return '';
    const t = now();
    const text = documentText(commands);
    await this.runner.load(text);
    timings.nft = now() - t;
    return text;
  }
}

function fragmentsOf(st: FamilyState, key: string): Fragment[] {
  const text = st.fragments.get(key);
  return text === undefined ? [] : (JSON.parse(text) as Fragment[]);
}

function addRefs(refs: Map<string, Map<string, ElementRef>>, fr: Fragment): void {
  for (const { set, element } of fr.elements) {
    let m = refs.get(set);
    if (!m) refs.set(set, (m = new Map()));
    const id = elementId(element);
    const r = m.get(id);
    if (r) r.count++;
    else m.set(id, { count: 1, element });
  }
}

function removeRefs(refs: Map<string, Map<string, ElementRef>>, fr: Fragment): void {
  for (const { set, element } of fr.elements) {
    const m = refs.get(set);
    const id = elementId(element);
    const r = m?.get(id);
    if (!r) continue;
    if (--r.count === 0) m!.delete(id);
  }
}

/**
 * The transaction that replaces some Services' fragments: two small tables, the
 * touched part before and after (their chains, affinity sets, and the skeleton
 * elements they contribute, counted across every fragment), compared by diffTable.
 */
function fragmentDiff(st: FamilyState, next: Map<string, Fragment[]>): NftTransaction {
  const before: Fragment[] = [];
  const after: Fragment[] = [];
  for (const [key, frs] of next) {
    for (const fr of fragmentsOf(st, key)) before.push(fr);
    for (const fr of frs) after.push(fr);
  }
  // Element counts after the change, starting from the current ones.
  const touched = new Map<string, Set<string>>();
  // Net change of each element's count, and the element as the new fragments give it.
  const delta = new Map<string, Map<string, { n: number; afterElement?: NftElement }>>();
  const bump = (fr: Fragment, by: number) => {
    for (const { set, element } of fr.elements) {
      const id = elementId(element);
      let ids = touched.get(set);
      if (!ids) touched.set(set, (ids = new Set()));
      ids.add(id);
      let d = delta.get(set);
      if (!d) delta.set(set, (d = new Map()));
      const cur = d.get(id) ?? { n: 0 };
      cur.n += by;
      if (by > 0) cur.afterElement = element;
      d.set(id, cur);
    }
  };
  before.forEach((fr) => bump(fr, -1));
  after.forEach((fr) => bump(fr, +1));

  const skeletonSet = (name: string) => st.skeleton.sets.find((x) => x.name === name);
  const mini = (side: 'before' | 'after', fragments: Fragment[]): NftTable => {
    const sets: NftSet[] = [];
    for (const [set, ids] of touched) {
      const decl = skeletonSet(set);
      if (!decl) continue;
      const elements: NftElement[] = [];
      for (const id of ids) {
        const ref = st.refs.get(set)?.get(id);
        const d = delta.get(set)?.get(id);
        const countBefore = ref?.count ?? 0;
        const countAfter = countBefore + (d?.n ?? 0);
        if (side === 'before' && countBefore > 0) elements.push(ref!.element);
        if (side === 'after' && countAfter > 0) elements.push(d?.afterElement ?? ref!.element);
      }
      sets.push({ ...decl, elements });
    }
    for (const fr of fragments) for (const x of fr.sets) sets.push(x);
    return { family: st.skeleton.family, name: st.skeleton.name, chains: fragments.flatMap((fr) => [...fr.chains]), sets };
  };
  return diffTable(mini('after', after), mini('before', before));
}
