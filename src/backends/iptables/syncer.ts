// Partial iptables sync for a long-running process (the agent), as kube-proxy does
// since v1.28. A one-shot apply reads every chain back with iptables-save before it
// diffs; the syncer remembers the chains it last wrote and diffs against those, so
// a sync sends (and reads) only what changed. A full sync (read back with
// iptables-save, compare every chain, check the built-in jumps) runs at start,
// when the caller asks (periodic resync, to repair drift or a restart of someone
// else's rules), once `fullSyncIntervalMs` has passed, and after any failure.
// Live rules are never flushed: only changed chains of ours are rewritten.
//
// Rendering is cached per Service too (fragments.ts): told which Services changed,
// a sync renders only those and reassembles the rest from their last fragments, which
// gives the same chains as a full render. A full sync (or one without `changed`)
// renders the Services whose input (Service and EndpointSlices, as a digest:
// service-input.ts) differs from their cached fragment's, whatever the caller says
// changed, and still compares the whole assembled render with the kernel. Any change of
// what every rule depends on (node, config, mode) renders everything.
//
// A full sync asked for while the syncer has a memory of the kernel (a periodic resync,
// the hourly one) trusts that memory when a cheap check agrees with it (resync-check.ts:
// nat's chain names, the skeleton's and a rotating slice of the Services' nat chains rule
// for rule, the traffic sets' entry counts; filter and the built-in jumps compared whole):
// then nothing is read back, and with the very same input arrays as the last sync nothing
// is rendered either. It reads everything back when the check disagrees, at start, after
// a failure, with Services preserved, and on every `readBackEvery`-th resync.
// With a ruleset watch (ruleset-watch.ts: a long-lived xtables-monitor, iptables-nft only)
// a resync runs even that check only when the watch saw another process change a table
// of ours, or could not listen all along (it died, it was not started); otherwise it
// reads the traffic sets' entry counts alone (ipset changes do not show in nft). A full
// sync during which the watch died (our own transaction too large for it) resyncs once
// more at its end, with a new monitor listening, so that it ends verified.
//
// The traffic set (traffic-set.ts) follows the same memory: read back with `ipset save`
// at a full sync, diffed against what was last sent otherwise. Its elements are added
// before the rules change and removed after (as IPVS mode's sets), and the counting
// rules are ensured with the jumps. A node where ipset cannot run gets no traffic set.

import type { ApplyOptions } from '../backend.js';
import type { IPFamily } from '../../model/ip.js';
import type { RenderInput } from '../../model/render-input.js';
import { isOneOf } from '../../model/plan-constants.js';
import { slicesByService } from '../../model/service-ports.js';
import { ownedServices } from '../owned-services.js';
import { advanceIpsets, parseIpsetSave, type LiveIpset } from '../ipset.js';
import { builtinJumps, ensureJumps, IptablesRunner } from './apply.js';
import { IPSET_MARKER, SECTION_MARKER } from './document.js';
import { diffFamily, type LiveChains } from './diff.js';
import { preserveServices } from './preserve.js';
import { applyDelta, assembleFamily, familyDelta, frameFragments, packFragment, serviceFragment, type AssembledFamily, type FamilyDelta, type IptFragment } from './fragments.js';
import { forgetChainNames } from './names.js';
import { ownChainCount, ownChains, ownRuleCount, PackedChain, RulesByName, ruleCount } from './packed-chains.js';
import { BUILTIN_JUMPS, familyContext, type Ctx, type IptChain, type IptTables } from './render.js';
import {
  ChainNamesCheck,
  ChainNamesDigest,
  chainDisagreement,
  chainsToCompare,
  DEFAULT_READ_BACK_EVERY,
  DEFAULT_SLICE_CHAINS,
  ipsetDisagreements,
  natChainsOf,
  parseIpsetCounts,
  readBackReason,
  type NatChains,
  type NatMemory,
} from './resync-check.js';
import type { RulesetWatch } from './ruleset-watch.js';
import { serviceInputDigest, type InputDigest } from './service-input.js';
import { CachedService } from './cached-service.js';
import { LabelsView, materialized, restoreLines, trafficSetsAsLabels } from './traffic-set-state.js';
import { wholeTrafficDiff, type WholeTrafficDiff } from './traffic-set-diff.js';
import { addLabels, diffTouched, elementsOf, entriesOf, removeLabels, sweepLabels, TRAFFIC_SET_NAMES, trafficSetName, type TrafficLabels } from './traffic-set.js';

/** Our chains as last written, by name: the render's chain objects (packed ones included, packed-chains.ts). */
type Chains = Map<string, IptChain>;
interface Written {
  filter: Chains;
  /** Every nat chain, or with `natOwnCached` only those no single Service owns (the skeleton's). */
  nat: Chains;
  /**
   * The Services' own nat chains are the cached fragments' (what the last sync wrote was
   * assembled from the cache): not kept by name as well. At 44k Services x 1 the map of
   * every nat chain was 4.1 MB held between syncs; it is made for the while of a sync
   * that looks chains up by any name (a full sync's diff, the resync check, preserved
   * Services), before the render changes the cache.
   */
  natOwnCached?: boolean;
}

export interface IptablesSyncResult {
  readonly full: boolean;
  /**
   * How a full sync knew what the kernel holds: 'watched', the ruleset watch saw no other
   * process change our tables (only the sets' counts read); 'summary', the cheap check agreed with the
   * syncer's memory (nat not read back); 'read-back', everything read back and compared.
   * Undefined for a partial sync.
   */
  readonly check?: 'watched' | 'summary' | 'read-back';
  /** Why a full sync with a watch ran the cheap check: the foreign changes it saw, or why it cannot vouch. */
  readonly checkWhy?: readonly string[];
  /** How the resync run at the end of a full sync during which the watch died checked (see `check`). */
  readonly settled?: 'watched' | 'summary' | 'read-back';
  /** Why a full sync read everything back (start, a failure, what the cheap check found). */
  readonly readBackWhy?: readonly string[];
  readonly changes: number;
  /** The restore input sent ('' when nothing was sent, or when the syncer keeps no transaction). */
  readonly transaction: string;
  /** Rules (`-A` lines) sent, per "family/table" (tables with none are absent). */
  readonly rulesWritten: ReadonlyMap<string, number>;
  /** Rules in the chains this syncer owns after the sync, per family and table (kubeproxy_sync_proxy_rules_iptables_total). */
  readonly rulesOwned: ReadonlyArray<{ readonly family: IPFamily; readonly table: 'filter' | 'nat'; readonly rules: number }>;
}

const FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];

/** How many of the cheap check's disagreements a result names. */
const MAX_REASONS = 3;

/** The last render, per Service and family, and what it was rendered from. */
interface RenderCache {
  /** What every Service's rules depend on. */
  readonly fingerprint: string;
  readonly fragments: Map<string, CachedService>;
}

/** What every Service's rules depend on besides the Service: when it changes, render everything. */
function fingerprint(input: RenderInput): string {
  return JSON.stringify([input.node, input.config, input.mode, input.plan.serviceCIDRs]);
}

/** kube-proxy's iptables mode also resyncs everything once an hour. */
export const DEFAULT_FULL_SYNC_INTERVAL_MS = 3_600_000;

/** How a resync checks the kernel (resync-check.ts). */
export interface ResyncOptions {
  /** Every how many resyncs (counting itself) one reads everything back; 1: every one does. Default DEFAULT_READ_BACK_EVERY. */
  readonly readBackEvery?: number;
  /** Per-Service nat chains compared rule for rule per resync and family. Default DEFAULT_SLICE_CHAINS. */
  readonly sliceChains?: number;
  /** The ruleset watch (in the runner's namespace); none: every resync runs the cheap check. Closed with the syncer. */
  readonly watch?: RulesetWatch;
}

export class IptablesSyncer {
  private written: Map<IPFamily, Written> | undefined;
  private lastFull = -Infinity;
  private cache: RenderCache | undefined;
  /**
   * Our ipsets as last read or sent; undefined when ipset cannot run here (no traffic set).
   * A view of the labels once a sync sent its whole set diff (traffic-set-state.ts).
   */
  private sets: Map<string, LiveIpset | LabelsView> | undefined;
  /** The traffic set's entries and their labels as of the last render, per family. */
  private labels: Record<IPFamily, TrafficLabels> | undefined;
  /** The entries the last render changed, per family; undefined when it rendered everything. */
  private touched: Record<IPFamily, Set<string>> | undefined;
  /** Why `written` is unset: nothing synced yet, or the last sync failed. */
  private forgotten: 'start' | 'failure' = 'start';
  /** The input of the last successful sync: the very same arrays again render nothing at a resync. */
  private lastInput: { readonly services: readonly unknown[]; readonly slices: readonly unknown[]; readonly fingerprint: string } | undefined;
  private resyncsSinceReadBack = 0;
  /** Where the next resync's slice of per-Service nat chains starts, per family. */
  private readonly sliceCursor = new Map<IPFamily, number>();
  /** Whether the watch was listening when the last full sync began. */
  private watchListened = false;

  constructor(
    private readonly run: IptablesRunner = new IptablesRunner(),
    private readonly fullSyncIntervalMs = DEFAULT_FULL_SYNC_INTERVAL_MS,
    private readonly clock: () => number = () => performance.now(),
    /**
     * false: build no transaction text (the agent never reads it). The restore input is
     * streamed to the tool either way; the text is a second copy, 48 MB at a first sync at 10k.
     */
    private readonly keepTransaction = true,
    private readonly resync: ResyncOptions = {},
  ) {
    const watch = resync.watch;
    if (watch) run.onSpawn = (pid) => watch.ownProcess(pid);
  }

  /** Stops the ruleset watch's process. */
  close(): void {
    this.resync.watch?.close();
  }

  /** Forget what was written: the next sync is a full one, and reads everything back. */
  invalidate(): void {
    this.written = undefined;
    this.lastInput = undefined;
    this.forgotten = 'failure';
  }

  /**
   * The chains of both families for `input`, rendering anew only what changed while the
   * cache is valid (same fingerprint): with `changed` (a partial sync), the Services it
   * names (namespace/name), trusted as the caller's; without it (a full sync), every
   * Service whose input digest (service-input.ts) differs from its cached fragment's, so
   * a change the caller missed is caught here, at a full sync, as a whole render did.
   */
  render(input: RenderInput, changed?: ReadonlySet<string>): AssembledFamily[] {
    return this.renderAs(input, changed, false) as AssembledFamily[];
  }

  /**
   * render's work; with `delta`, a partial render (same fingerprint, `changed` given) comes
   * back as each family's delta (fragments.ts, familyDelta) rather than assembled whole.
   */
  private renderAs(input: RenderInput, changed: ReadonlySet<string> | undefined, delta: boolean): AssembledFamily[] | FamilyDelta[] {
    const fp = fingerprint(input);
    const owned = ownedServices(input);
    const reuse = this.cache?.fingerprint === fp;
    const partial = reuse && changed !== undefined;
    // With a delta, the fragments replaced or removed: their chains may be gone.
    const asDelta = delta && partial;
    // A delta brings the replaced pieces' own chains (what was written for them); any other
    // render's sync may look up any chain written, which the cache it changes may hold.
    if (!asDelta) this.pinWritten();
    const fragments = reuse ? this.cache!.fragments : new Map<string, CachedService>();
    // Drop the cache first: if a render throws half-way, the next sync renders everything.
    this.cache = undefined;
    // What to render: the changed Services (or, at a full sync, those whose digest moved), and any of ours without a fragment.
    const todo = new Set<string>(partial ? changed : reuse ? [] : owned.keys());
    if (reuse) for (const key of owned.keys()) if (!fragments.has(key)) todo.add(key);
    // A partial sync groups only its Services' slices (the filter is O(slices), the grouping O(changed)).
    const slices = slicesByService(partial ? slicesOf(input.endpointSlices, todo) : input.endpointSlices);
    const digestOf = (key: string) => serviceInputDigest(owned.get(key)!, slices.get(key) ?? []);
    // The new digests of the Services a full sync found moved (computed once).
    const moved = new Map<string, InputDigest>();
    if (reuse && !partial) {
      for (const [key, cached] of fragments) {
        if (!owned.has(key)) continue;
        const d = digestOf(key);
        if (cached.renderedFrom(d)) continue;
        moved.set(key, d);
        todo.add(key);
      }
    }
    // The traffic set's labels follow the re-rendered Services' fragments (O(rendered)); a first render builds them.
    const labels = reuse ? this.labels : undefined;
    this.labels = undefined;
    const touched = labels ? { IPv4: new Set<string>(), IPv6: new Set<string>() } : undefined;
    // A memory of the sets that is a view of these very labels keeps what an entry held before it changes.
    const views = FAMILIES.map((f) => {
      const set = this.sets?.get(trafficSetName(f));
      return labels && set instanceof LabelsView && set.labels === labels[f] ? set : undefined;
    });
    // A fragment's labels come off with their keys kept (traffic-set.ts, sweepLabels below): most go back on at once.
    const takeOff: typeof addLabels = (l, elements, t) => removeLabels(l, elements, t, true);
    const counted = (fragment: CachedService | undefined, change: typeof addLabels) => {
      if (!labels || !fragment) return;
      FAMILIES.forEach((f, i) => {
        const traffic = fragment[f].traffic;
        if (!traffic) return;
        views[i]?.remember(entriesOf(traffic));
        change(labels[f], elementsOf(traffic), touched![f]);
      });
    };
    const replaced: CachedService[] = [];
    if (fragments.size > owned.size) {
      for (const key of fragments.keys()) {
        if (owned.has(key)) continue;
        if (asDelta) replaced.push(fragments.get(key)!);
        counted(fragments.get(key), takeOff);
        fragments.delete(key);
      }
    }
    const ctxs = FAMILIES.map((f) => familyContext(input, f));
    for (const key of todo) {
      const svc = owned.get(key);
      const old = fragments.get(key);
      if (asDelta && old) replaced.push(old);
      counted(old, takeOff);
      if (!svc) {
        fragments.delete(key);
        continue;
      }
      // Kept with the Service's own chains packed: their text was most of the syncer's memory.
      const [v4, v6] = ctxs.map((ctx) => packFragment(serviceFragment(input, ctx, svc, slices.get(key) ?? [])));
      // The fragments hold their chains' names: the names cache (names.ts) is not kept past the
      // Service. Kept through a first render at 10k x 10 it grew to ~10 MB that outlived many
      // scavenges, so it landed in the old generation as garbage of the render.
      forgetChainNames();
      const fragment = new CachedService(v4!, v6!, moved.get(key) ?? digestOf(key));
      counted(fragment, addLabels);
      fragments.set(key, fragment);
    }
    if (labels) for (const f of FAMILIES) sweepLabels(labels[f], touched![f]);
    const built = { IPv4: new Map(), IPv6: new Map() } as Record<IPFamily, TrafficLabels>;
    const deltaOf = (ctx: Ctx): FamilyDelta => {
      const { head, tail } = frameFragments(input, ctx);
      const f = ctx.family;
      const eachPiece = (add: (piece: IptFragment, fresh: boolean) => void) => {
        add(head, true);
        for (const key of owned.keys()) add(fragments.get(key)![f], todo.has(key));
        add(tail, true);
      };
      return familyDelta(f, eachPiece, replaced.map((r) => r[f]), this.written?.get(f));
    };
    const assembled = (ctx: Ctx): AssembledFamily => {
      const { head, tail } = frameFragments(input, ctx);
      const pieces: IptFragment[] = [head];
      for (const key of owned.keys()) {
        const fragment = fragments.get(key)![ctx.family];
        pieces.push(fragment);
        if (!labels && fragment.traffic) addLabels(built[ctx.family], elementsOf(fragment.traffic));
      }
      pieces.push(tail);
      return assembleFamily(ctx.family, pieces);
    };
    const out = asDelta ? ctxs.map(deltaOf) : ctxs.map(assembled);
    this.labels = labels ?? built;
    // A read-back diffs the whole traffic set; otherwise the touched entries are the change.
    this.touched = touched;
    this.cache = { fingerprint: fp, fragments };
    return out;
  }

  /**
   * The traffic set's `ipset restore` lines after a render, per family: only the touched
   * entries unless `whole` (the sets were read back), the render rebuilt the labels or the
   * set is missing; then the whole set, its lines made as they are sent (traffic-set-diff.ts).
   */
  private trafficLines(sets: ReadonlyMap<string, LiveIpset | LabelsView>, whole: boolean): SetLines {
    const parts: Array<readonly string[] | WholeTrafficDiff> = [];
    const dels: string[] = [];
    let count = 0;
    let exact = true;
    for (const f of FAMILIES) {
      const live = sets.get(trafficSetName(f));
      const touchedOnly = this.touched !== undefined && live !== undefined && !whole;
      // A touched diff leaves the other entries as the memory has them: the labels only if the memory is their view.
      if (touchedOnly && !(live instanceof LabelsView)) exact = false;
      const d = touchedOnly ? diffTouched(live.name, this.labels![f], this.touched![f], live) : wholeTrafficDiff(f, this.labels![f], sets);
      const adds = 'adds' in d ? d.adds : d;
      parts.push(adds);
      count += 'adds' in d ? d.adds.length : d.count;
      dels.push(...d.dels);
    }
    // A touched diff has only `add` lines: the head is the whole diffs'.
    const head = parts.flatMap((p) => ('head' in p ? p.head : []));
    return {
      count,
      *lines() {
        for (const p of parts) yield* 'lines' in p ? p.lines() : p;
      },
      head,
      dels,
      exact,
    };
  }

  /**
   * Makes the kernel match `input` (node addresses already filled in by the caller).
   * `changed` names the Services whose Service or EndpointSlices changed since the
   * last sync; only those are rendered anew.
   */
  async sync(input: RenderInput, options: ApplyOptions & { full?: boolean; changed?: ReadonlySet<string> } = {}): Promise<IptablesSyncResult> {
    const r = await this.syncOnce(input, options);
    // Our own transaction was too large for the watch (it died): check once more now, with a
    // new monitor listening, rather than leave it to the next resync.
    if (!r.full || !this.watchListened || this.resync.watch!.listening) return r;
    const again = await this.syncOnce(input, { ...options, full: true });
    return { ...r, settled: again.check!, changes: r.changes + again.changes, transaction: r.transaction + again.transaction, rulesOwned: again.rulesOwned };
  }

  private async syncOnce(input: RenderInput, options: ApplyOptions & { full?: boolean; changed?: ReadonlySet<string> }): Promise<IptablesSyncResult> {
    const full = options.full === true || this.written === undefined || this.clock() - this.lastFull >= this.fullSyncIntervalMs;
    const keep = options.preserveServices ?? [];
    const fp = fingerprint(input);
    const next = new Map<IPFamily, Written>();
    let changes = 0;
    let transaction = '';
    const rulesWritten = new Map<string, number>();
    let readBackWhy: string[] | undefined;
    let checkWhy: string[] | undefined;
    let watched = false;
    try {
      if (full) ({ readBackWhy, checkWhy, watched } = await this.resyncCheck(keep.length));
      const readBack = full && readBackWhy !== undefined;
      // A read-back compares with the kernel, not with what was written: let the last sync's
      // chain maps go first (the rules arrays stay shared with the cached fragments).
      if (readBack) this.written = undefined;
      // A resync of the very input of the last sync: the memory is the render (nothing to render or send).
      const sameInput = full && !readBack && this.lastInput?.services === input.plan.services && this.lastInput.slices === input.endpointSlices && this.lastInput.fingerprint === fp;
      // Then nat is neither listed nor diffed (the memory is the render; a resync right after a first sync at 10k would
      // otherwise list 110k chains again, on top of that sync's garbage): filter alone is compared.
      // A partial sync without preserved Services renders a delta (fragments.ts, familyDelta): not the whole family.
      const rendered: ReadonlyArray<IptTables | AssembledFamily | FamilyDelta> = sameInput
        ? FAMILIES.map((f) => filterOf(f, this.written!.get(f)!))
        : this.renderAs(input, full ? undefined : options.changed, !full && keep.length === 0);
      if (readBack) {
        const saved = await this.run.ipsetSave();
        this.sets = saved === undefined ? undefined : new Map([...parseIpsetSave(saved)].filter(([name]) => TRAFFIC_SET_NAMES.includes(name)));
      }
      const sets = this.sets;
      const setDiff: SetLines = sets && !sameInput ? this.trafficLines(sets, readBack) : NO_SET_LINES;
      // A skipped Service keeps its elements (its counts go on), as it keeps its chains.
      const setDels = keep.length ? [] : setDiff.dels;
      // When every line is sent and the sets were diffed whole or are the labels' view already, the kernel's sets
      // hold the labels after this sync: the memory becomes their view (below), with the headers the lines made.
      // Otherwise (a preserved Service keeps its elements) the lines are replayed into a copy of the memory.
      const asLabels = sets !== undefined && !sameInput && !keep.length && setDiff.exact;
      const after = !sets || sameInput ? undefined : asLabels ? headersOf(sets) : liveCopy(sets);
      const setAdds = setDiff.count;
      if (setAdds) {
        // A whole diff's lines are made as ipset pulls them: 65k `add` lines (18.7 MB) at a first sync at 10k Services.
        await this.run.ipset(['restore'], restoreLines(setDiff.lines()));
        if (this.keepTransaction) transaction += `${IPSET_MARKER}\n${[...setDiff.lines()].join('\n')}\n`;
        // As labels, the sets' entries come from the labels: only the lines that make or swap a set are replayed.
        advanceIpsets(after!, asLabels ? setDiff.head : [...setDiff.lines()]);
      }
      for (const desired of rendered) {
        const f = desired.family;
        let base: { filter: LiveChains; nat: LiveChains };
        let wanted = desired;
        if (keep.length > 0) {
          // Preserved Services keep the kernel's rules: read (or recall) them whole.
          const w = this.written?.get(f);
          const rules = full ? { filter: await this.run.savedChains(f, 'filter'), nat: await this.run.savedChains(f, 'nat') } : { filter: new RulesByName(w!.filter), nat: new RulesByName(w!.nat) };
          wanted = { ...desired, filter: preserveServices(desired.filter, rules.filter, keep), nat: preserveServices(desired.nat, rules.nat, keep) };
          base = rules;
        } else if (readBack) {
          // Compared with the render as it is read: no save text nor live rules held.
          const by = 'byName' in desired ? (desired as AssembledFamily).byName : desired;
          base = { filter: await this.run.compareSaved(f, 'filter', by.filter), nat: await this.run.compareSaved(f, 'nat', by.nat) };
        } else if (full && !watched) {
          // The cheap check agreed on nat; filter (a few small chains) is compared whole, by -S.
          base = { filter: await this.run.compareListed(f, 'filter', desired.filter), nat: sameInput ? NO_CHAINS : this.written!.get(f)!.nat };
        } else if (sameInput) {
          base = { filter: this.written!.get(f)!.filter, nat: NO_CHAINS };
        } else {
          const w = this.written!.get(f)!;
          // A delta's own chains were written as the pieces it replaced held them (their chains by name).
          base = w.natOwnCached ? { filter: w.filter, nat: new Map([...w.nat, ...(desired as FamilyDelta).before]) } : w;
        }
        const gone = 'gone' in desired ? desired.gone : undefined;
        const d = diffFamily(wanted, base, gone);
        if (d.changes > 0) {
          if (this.keepTransaction) transaction += `${SECTION_MARKER[f]}\n${d.text}`;
          await this.run.restoreTables(f, d.tables);
          for (const t of d.tables) {
            const rules = t.changed.reduce((n, c) => n + c.rules.length, 0);
            if (rules > 0) rulesWritten.set(`${f}/${t.table}`, rules);
          }
        }
        changes += d.changes;
        if (full && !watched) changes += await ensureJumps(this.run, f, false, sets ? builtinJumps(f) : BUILTIN_JUMPS);
        // The render's own maps when nothing was preserved: a second map of 110k chains at 10k Services otherwise.
        const byName = wanted === desired && 'byName' in desired ? (desired as AssembledFamily).byName : undefined;
        if (gone) next.set(f, applyDelta(this.written!.get(f)!, desired as FamilyDelta));
        else if (sameInput) next.set(f, this.written!.get(f)!);
        else next.set(f, byName ? { filter: byName.filter, nat: sharedChains(byName.nat), natOwnCached: true } : { filter: chainMap(wanted.filter), nat: chainMap(wanted.nat) });
      }
      if (setDels.length) {
        await this.run.ipset(['restore'], restoreLines(setDels));
        if (this.keepTransaction) transaction += `${IPSET_MARKER}\n${setDels.join('\n')}\n`;
        if (!asLabels) advanceIpsets(after!, setDels);
      }
      if (after) this.sets = asLabels ? trafficSetsAsLabels(after, this.labels!) : after;
      changes += setAdds + setDels.length;
    } catch (e) {
      // What the kernel holds is unknown now: read it back next time.
      this.invalidate();
      throw e;
    }
    this.written = next;
    this.lastInput = { services: input.plan.services, slices: input.endpointSlices, fingerprint: fp };
    if (full) {
      this.lastFull = this.clock();
      this.resyncsSinceReadBack = readBackWhy ? 0 : this.resyncsSinceReadBack + 1;
    }
    const rulesOwned = [...next].flatMap(([family, w]) => (['filter', 'nat'] as const).map((table) => ({ family, table, rules: rulesIn(w[table]) + (table === 'nat' && w.natOwnCached ? this.ownNatRules(family) : 0) })));
    const check = readBackWhy ? ('read-back' as const) : watched ? ('watched' as const) : ('summary' as const);
    return { full, ...(full ? { check } : {}), ...(readBackWhy ? { readBackWhy } : {}), ...(checkWhy ? { checkWhy } : {}), changes, transaction, rulesWritten, rulesOwned };
  }

  /** The family's nat chains as last written, every one by name: with the Services' own the cache's, a map made for its while. */
  private natWritten(f: IPFamily): Chains {
    const w = this.written!.get(f)!;
    if (!w.natOwnCached) return w.nat;
    const all = new Map(w.nat);
    for (const fragment of this.cache!.fragments.values()) for (const c of ownChains(fragment[f].own, 'nat')) all.set(c.name, c);
    return all;
  }

  /**
   * The family's nat chains as last written, walked without a map of them all: the shared
   * ones, then each Service's own chains made from its cached fragment as the walk reaches it.
   */
  private natChains(f: IPFamily): NatChains {
    const w = this.written!.get(f)!;
    if (!w.natOwnCached) return natChainsOf(w.nat);
    const fragments = this.cache!.fragments;
    let size = w.nat.size;
    for (const fragment of fragments.values()) size += ownChainCount(fragment[f].own, 'nat');
    return {
      size,
      *chains() {
        yield* w.nat.values();
        for (const fragment of fragments.values()) yield* ownChains(fragment[f].own, 'nat');
      },
      shared: (name) => w.nat.get(name),
    };
  }

  /** Before a render that may change the cache: the written memory's own nat chains kept by name again. */
  private pinWritten(): void {
    if (!this.written) return;
    for (const [f, w] of this.written) if (w.natOwnCached) this.written.set(f, { filter: w.filter, nat: this.natWritten(f) });
  }

  /** Rules in the Services' own nat chains of the family, as cached (packed ones counted without unpacking). */
  private ownNatRules(f: IPFamily): number {
    let n = 0;
    for (const fragment of this.cache!.fragments.values()) n += ownRuleCount(fragment[f].own, 'nat');
    return n;
  }

  /**
   * A full sync's first step: whether the watch vouches for the memory (watched: nat and
   * filter need no reading); else whether the cheap check (resync-check.ts) agrees with it
   * (readBackWhy undefined) or why everything must be read back. Reads, never writes.
   */
  private async resyncCheck(preserved: number): Promise<{ readBackWhy?: string[]; checkWhy?: string[]; watched: boolean }> {
    // Listening before anything is read: what changes after this is seen.
    const watch = this.resync.watch && (await this.run.usesNft()) ? this.resync.watch : undefined;
    this.watchListened = watch !== undefined && (await watch.start());
    const foreign = watch?.take();
    const readBackWhy = await this.readBackWhy(preserved, watch !== undefined && foreign === undefined);
    return { ...(readBackWhy ? { readBackWhy } : {}), ...(foreign ? { checkWhy: foreign } : {}), watched: watch !== undefined && foreign === undefined && readBackWhy === undefined };
  }

  /** Why everything must be read back (undefined: the memory holds); `watched`: the watch vouches for nat and filter. */
  private async readBackWhy(preserved: number, watched: boolean): Promise<string[] | undefined> {
    const written = this.written;
    const why = readBackReason({
      forgotten: written ? undefined : this.forgotten,
      preserved,
      resyncsSinceReadBack: this.resyncsSinceReadBack,
      readBackEvery: this.resync.readBackEvery ?? DEFAULT_READ_BACK_EVERY,
    });
    if (why !== undefined) return [why];
    if (watched) return this.setsDisagree();
    const nat = new Map<IPFamily, NatChains>([...written!].map(([f]) => [f, this.natChains(f)]));
    const digest = new ChainNamesDigest(nat);
    const noListing = 'no chain listing here (iptables-legacy, or no nft)';
    if (!(await this.run.listChains((line) => digest.line(line)))) return [noListing];
    if (!digest.agrees()) {
      // Which chains: each listed name looked up, in a map of every chain made only now (a read-back follows, which costs more).
      const names = new ChainNamesCheck(new Map<IPFamily, NatMemory>([...written!].map(([f]) => [f, new RulesByName(this.natWritten(f))])));
      if (!(await this.run.listChains((line) => names.line(line)))) return [noListing];
      const exact = names.disagreements();
      // The listing changed between the two readings: the digest's word stands.
      return exact.length ? exact : digest.disagreements();
    }
    const out: string[] = [];
    for (const [f, mem] of nat) {
      const { chains, next } = chainsToCompare(mem, this.sliceCursor.get(f) ?? 0, this.resync.sliceChains ?? DEFAULT_SLICE_CHAINS);
      this.sliceCursor.set(f, next);
      const listed = await Promise.all(chains.map((c) => this.run.listChain(f, 'nat', c.name)));
      for (let i = 0; i < chains.length; i++) {
        const d = chainDisagreement(f, chains[i]!.name, chains[i]!.rules, listed[i]);
        if (d) out.push(d);
      }
    }
    // A flushed table disagrees in every chain compared: the first few say enough.
    if (out.length > MAX_REASONS) return [...out.slice(0, MAX_REASONS), `… ${out.length - MAX_REASONS} more`];
    if (out.length) return out;
    return this.setsDisagree();
  }

  /** The traffic sets' entry counts (`ipset list -t`) against the memory's; undefined when they agree. */
  private async setsDisagree(): Promise<string[] | undefined> {
    if (!this.sets) return undefined;
    const headers = await this.run.ipsetHeaders();
    const counts = new Map([...this.sets].map(([name, set]) => [name, set.entries.size]));
    const out = headers === undefined ? ['ipset list -t failed'] : ipsetDisagreements(counts, parseIpsetCounts(headers));
    return out.length ? out : undefined;
  }
}

/** The traffic sets' restore lines of a sync: made or rebuilt and added (`lines`, `count` of them), then removed (`dels`). */
interface SetLines {
  readonly count: number;
  /** Pulled once to send (a whole diff makes them as they are pulled), again only for a kept transaction or a replay. */
  lines(): Iterable<string>;
  /** The lines that are not `add` lines (they make, rebuild or swap a set), for a memory that takes its entries from the labels. */
  readonly head: readonly string[];
  readonly dels: readonly string[];
  /** Whether the kernel's sets hold exactly the labels once every line is sent (each set diffed whole or a view of them). */
  readonly exact: boolean;
}

const NO_SET_LINES: SetLines = { count: 0, lines: () => [], head: [], dels: [], exact: true };

/** The sets' headers alone (no entries), for the lines that make or swap a set to be replayed into. */
function headersOf(sets: ReadonlyMap<string, LiveIpset | LabelsView>): Map<string, LiveIpset> {
  return new Map([...sets].map(([name, s]) => [name, { name, header: s.header, entries: new Set<string>(), comments: new Map<string, string>() }]));
}

/** The sets as LiveIpsets that lines can be replayed into: views copied, parsed sets as they are (nothing else holds them). */
function liveCopy(sets: ReadonlyMap<string, LiveIpset | LabelsView>): Map<string, LiveIpset> {
  return new Map([...sets].map(([name, s]) => [name, s instanceof LabelsView ? materialized(s) : s]));
}

/**
 * The slices of the Services `keys` names (namespace/name), without a key string made per
 * slice: at 44k Services each partial sync made 44k of them (~2.8 MB of young garbage).
 */
function slicesOf<S extends { readonly namespace: string; readonly serviceName: string }>(slices: readonly S[], keys: ReadonlySet<string>): S[] {
  const isChanged = isOneOf(keys);
  return slices.filter((s) => isChanged(s.namespace, s.serviceName));
}

/** No chains: the nat side of a diff that leaves nat alone. */
const NO_CHAINS: LiveChains = new Map();

/** The filter chains of one family as last written, in the render's shape (they are its chains: same objects); nat left out. */
function filterOf(family: IPFamily, w: Written): IptTables {
  return { family, filter: [...w.filter.values()], nat: [] };
}

/** Rules in `chains`, packed ones counted without unpacking. */
function rulesIn(chains: Chains): number {
  let n = 0;
  for (const c of chains.values()) n += ruleCount(c);
  return n;
}

/** The chains of `chains` no single Service owns (not packed), by name, in its order. */
function sharedChains(chains: Chains): Chains {
  const out: Chains = new Map();
  for (const [name, c] of chains) if (!(c instanceof PackedChain)) out.set(name, c);
  return out;
}

function chainMap(chains: readonly IptChain[]): Chains {
  return new Map(chains.map((c) => [c.name, c]));
}
