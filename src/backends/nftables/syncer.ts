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
//
// A resync (no `changed`) whose input is the very same as the last sync's (same
// node and config, same Service and EndpointSlice arrays) renders nothing and does
// not read the tables back: it compares a cheap summary of the kernel (which tables,
// how many chains and sets: summary.ts) with what the syncer knows it sent, and
// sends nothing when they agree. When they disagree, after a failure, and on every
// `readBackEvery`-th resync (a deleted rule or element does not show in the summary)
// it reads everything back as a full sync does.

import { proxiedServices, type RenderInput } from '../../model/render-input.js';
import { serviceKey, type PlanService } from '../../model/plan.js';
import { slicesByService, viewsOfService } from '../../model/service-ports.js';
import type { IPFamily } from '../../model/ip.js';
import type { NodeContext } from '../../model/node.js';
import { canon } from './document.js';
import { diffTable, diffTables, type NftTransaction } from './diff.js';
import type { NftChain, NftElement, NftFamily, NftSet, NftTable } from './nft.js';
import { fragmentsOfSource, sourceOf, type ServiceSource } from './service-source.js';
import { preserveServices } from './preserve.js';
import { SliceIndex } from './slice-index.js';
import { ElementRefs, elementId, FirstAppearances, setKey, type ElementId } from './element-refs.js';
import { tableLoadCommands } from './table-load.js';
import { readTablesInOrder, type ReadTable } from './table-reads.js';
import type { NftListingSink } from './listing-stream.js';
import { groupedChains, StreamedTableDiff, type ChainGroups, type DesiredTable } from './streamed-diff.js';
import { del, tableObject, transactionChunks, transactionPieces, transactionText, type NftCommand } from './transaction.js';
import { cachelessText } from './text-transaction.js';
import { PendingDeletes } from './pending-deletes.js';
import { addCounts, chainId, countTables, sameRuleCounts, sameSummary, type NftSummary, type RuleCounts } from './summary.js';
import { keptShards, serviceOfChain, TABLE_NAME, shardTableOf, skeletonTables, tableContext, tableId, type Fragment, type TableContext } from './render.js';

/** How the syncer reaches the kernel; the real one runs nft, tests may run it in a namespace. */
export interface NftRunner {
  /** Every table of ours that exists (main and shards, both families). */
  list(): Promise<NftTable[]>;
  /**
   * One table of ours; undefined when it does not exist. With it a full sync reads back
   * and diffs one table at a time (table-reads.ts); without it, `list` holds every
   * table parsed at once (~200 MB more at 44k Services).
   */
  listTable?(family: NftFamily, name: string): Promise<NftTable | undefined>;
  /**
   * One table of ours listed into `sink` as nft prints it, in pieces (listing-stream.ts);
   * false when it does not exist. With it a full sync diffs each table while it is read,
   * set by set (streamed-diff.ts): neither the live table nor its desired twin is ever
   * whole (~150 MiB less at the peak of a read-back at 44k Services).
   */
  streamTable?(family: NftFamily, name: string, sink: NftListingSink): Promise<boolean>;
  load(document: string): Promise<void>;
  /** The same document in pieces, sent without joining them (a full load is ~50 MB at 10k Services). */
  loadChunks?(chunks: Iterable<string>): Promise<void>;
  /**
   * An incremental sync's transaction (usually a few elements and chains): when given,
   * it may go through a long-lived `nft -j -i` session (src/exec/session.ts), with
   * `load`'s semantics (all or nothing; a refusal throws).
   */
  loadIncremental?(document: string): Promise<void>;
  /** Which tables of ours exist, with how many chains and sets: without it every resync reads back. */
  summary?(): Promise<NftSummary>;
  /** How many rules each chain holds ([family, table, chain]): with it, a resync also sees a shard table flushed behind its back. */
  ruleCounts?(chains: readonly (readonly [NftFamily, string, string])[]): Promise<RuleCounts>;
}

export interface NftSyncerOptions {
  /**
   * Keep the text of a full sync's transaction for SyncResult.transaction (default
   * true). false: a full sync's is '' and its pieces are dropped once written (~50 MB at
   * 10k Services); an incremental sync's small text is kept either way.
   */
  readonly keepTransaction?: boolean;
  /**
   * Send an incremental transaction, when it can be, as nft text that needs no chain cache
   * (text-transaction.ts), and defer its deletes of per-endpoint counter elements (see
   * PendingDeletes). Only for a runner that is nft itself (both `nft -j -i` and `nft -j -f`
   * read text when the JSON parser refuses a line); tests' fakes read JSON.
   */
  readonly cachelessText?: boolean;
}

export interface SyncResult {
  /** A full sync (read back and compared everything, or a resync verified by summary) rather than an incremental one. */
  readonly full: boolean;
  /** A resync that found the kernel's summary as expected, so rendered and read back nothing. */
  readonly verified?: boolean;
  readonly changes: number;
  /** The transaction sent; '' when nothing was sent (or a full sync's, when options.keepTransaction is false). */
  readonly transaction: string;
  /** Milliseconds spent in each step. */
  readonly timings: Readonly<Record<string, number>>;
}

interface FamilyState {
  readonly family: IPFamily;
  readonly tc: TableContext;
  /** The family's tables without Services: main first, then the shards. */
  readonly skeletons: readonly NftTable[];
  readonly node: NodeContext;
  /**
   * What each Service's fragments were rendered from (its Service and slices: service-source.ts),
   * by namespace/name, for the Services with fragments in this family: they are rendered
   * again when needed (the same fragments: render is pure, and the node and config are
   * the state's). At 10k Services the fragments' object trees took ~160 MB of heap; kept
   * deflated, 44k x 1 still held ~8 MB of strings and ~7 MiB of zlib's memory outside the heap.
   */
  readonly fragments: Map<string, ServiceSource>;
  /** Elements in skeleton sets: how many fragments contribute each (a ClusterIP serves several ports). */
  readonly refs: ElementRefs;
  /** How many Services with fragments each shard table holds (a table exists while > 0). */
  readonly shardUse: Map<string, number>;
  /** The chains and sets the fragments add, per table (the skeleton's are counted from `skeletons`). */
  readonly counts: NftSummary;
}

const FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];

/** A resync reads everything back at least this often (counting itself), even when the summary agrees. */
export const DEFAULT_READ_BACK_EVERY = 10;

/** What the skeleton depends on: when this changes, every fragment may change too. */
function fingerprint(input: RenderInput): string {
  return canon({ node: input.node, config: input.config, cidrs: input.plan.serviceCIDRs, mode: input.mode });
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
  /** The arrays the last successful sync rendered from: the same ones again mean the same input. */
  private lastInput: { services: readonly unknown[]; slices: readonly unknown[] } | undefined;
  private resyncsSinceReadBack = 0;
  /** Where the next resync's window of entry chains starts (nextRuleWindow). */
  private ruleCursor = 0;
  /** Counter elements whose delete waits for a transaction that fetches nft's chain cache anyway. */
  private readonly pending = new PendingDeletes();
  /** Set once nft refused a text transaction that JSON then took: text is not tried again. */
  private textOff = false;

  /** `readBackEvery`: every how many resyncs one reads everything back even when the summary agrees. */
  constructor(
    private readonly runner: NftRunner,
    private readonly readBackEvery = DEFAULT_READ_BACK_EVERY,
    private readonly options: NftSyncerOptions = {},
  ) {}

  /** Forget what was written: the next sync is a full one. */
  invalidate(): void {
    this.state = undefined;
    this.lastInput = undefined;
    // A full sync reads the sets back: it deletes whatever is left of these itself.
    this.pending.clear();
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
      // A resync verified by counts would not see them: send them first (one chain cache fetch).
      if (!changed && this.pending.size) await this.send(this.pending.take(), {}, true);
      const verified = await this.verify(input, fp, changed, keep);
      if (verified) return verified;
      const result = await this.syncChanges(input, fp, changed, keep);
      this.lastInput = { services: input.plan.services, slices: input.endpointSlices };
      if (result.full) this.resyncsSinceReadBack = 0;
      return result;
    } catch (e) {
      // Whatever the kernel holds now, we no longer know it: converge from a read-back next time.
      this.invalidate();
      throw e;
    }
  }

  /**
   * A resync of an unchanged input: the kernel's summary compared with what we sent.
   * The result when it agrees; undefined when a real sync must run.
   */
  private async verify(input: RenderInput, fp: string, changed: ReadonlySet<string> | undefined, keep: ReadonlySet<string>): Promise<SyncResult | undefined> {
    const st = this.state;
    if (changed || !st || !this.runner.summary || st.fingerprint !== fp || keep.size || st.unknown.size) return undefined;
    if (this.lastInput?.services !== input.plan.services || this.lastInput.slices !== input.endpointSlices) return undefined;
    if (this.resyncsSinceReadBack + 1 >= this.readBackEvery) return undefined;
    const t = now();
    const rules = this.nextRuleWindow();
    const [live, liveRules] = await Promise.all([this.runner.summary(), this.runner.ruleCounts ? this.runner.ruleCounts([...rules.keys()].map(splitChainId)) : undefined]);
    const timings = { summary: now() - t };
    if (!sameSummary(this.expectedSummary(), live)) return undefined;
    if (liveRules && !sameRuleCounts(rules, liveRules)) return undefined;
    this.resyncsSinceReadBack++;
    return { full: true, verified: true, changes: 0, transaction: '', timings };
  }

  /** What the kernel holds after our last transaction: tables in use, their chains and sets. */
  private expectedSummary(): NftSummary {
    const s: NftSummary = new Map();
    for (const st of this.state!.families) {
      countTables(s, st.skeletons.filter((t) => t.name === TABLE_NAME || (st.shardUse.get(t.name) ?? 0) > 0), 1);
      for (const [id, c] of st.counts) addCounts(s, id, c.chains, c.sets);
    }
    return s;
  }

  /**
   * The rules of each shard table's entry chain (`nat-prerouting`, a skeleton chain:
   * no fragment adds to it), in every shard in use. `nft flush table` takes every rule
   * and leaves the chains and sets, which the summary does not see; this one chain
   * per shard does, at ~50 ms a listing. The main table is not listed: any listing
   * there fetches its 10k-element sets (0.7-1.6 s); the periodic read-back covers it.
   */
  /**
   * The next RULE_WINDOW entry chains of expectedRuleCounts, round the shards: 16 in
   * one resync cost 0.5-0.65 s of nft processes at 10k Services (3x the summary), so
   * each resync lists a window of them (one per listing worker) and a flushed shard is
   * repaired within 16 / RULE_WINDOW resyncs, still well before the full read-back.
   */
  private nextRuleWindow(): RuleCounts {
    const all = [...this.expectedRuleCounts()];
    if (all.length <= RULE_WINDOW) return new Map(all);
    const start = this.ruleCursor % all.length;
    this.ruleCursor = start + RULE_WINDOW;
    return new Map([...all.slice(start), ...all].slice(0, RULE_WINDOW));
  }

  private expectedRuleCounts(): RuleCounts {
    const out: RuleCounts = new Map();
    for (const st of this.state!.families) {
      for (const t of st.skeletons) {
        if (t.name === TABLE_NAME || !(st.shardUse.get(t.name) ?? 0)) continue;
        const entry = t.chains.find((c) => c.name === SHARD_ENTRY_CHAIN);
        if (entry) out.set(chainId(t.family, t.name, entry.name), entry.rules.length);
      }
    }
    return out;
  }

  private async syncChanges(input: RenderInput, fp: string, changed: ReadonlySet<string> | undefined, keep: ReadonlySet<string>): Promise<SyncResult> {
    {
      if (this.state && changed && this.state.fingerprint === fp) {
        // A Service whose input is malformed keeps its rules: it simply is not re-rendered.
        const todo = new Set([...changed].filter((k) => !keep.has(k)));
        // One whose rules a full sync kept from the kernel has no fragments to diff against: full sync.
        // So does a change that takes a shard table's first Service in or its last one out (the table comes or goes).
        if (![...todo].some((k) => this.state!.unknown.has(k)) && !this.changesShardSet(input, todo)) return await this.incremental(input, todo);
      }
      return await this.full(input, fp, keep);
    }
  }

  private async full(input: RenderInput, fp: string, keep: ReadonlySet<string>): Promise<SyncResult> {
    const timings: Record<string, number> = {};
    // A full sync remembers everything anew: the last sync's fragments and element ids
    // (~20 MB at 44k Services) need not live beside the new ones while it reads back.
    // Should it fail, sync() forgets the state anyway.
    this.state = undefined;
    // Its read-back sees the counter elements whose delete was deferred, and deletes them.
    this.pending.clear();
    let t = now();
    const families = renderFamilies(input, keep);
    timings.render = now() - t;

    // Read back and diff table by table, in the order a whole render lists them (so
    // the bytes sent are the same): read it, assemble its desired twin, diff, keep
    // only the diff's text (nothing when the kernel agrees), drop both tables. ONE
    // transaction still: the pieces are sent together below (sendPieces).
    const counted = { changes: 0, ms: 0 };
    const order = families.flatMap((st) => {
      const keysByTable = servicesByTable(st);
      return st.skeletons.map((skeleton) => ({ st, skeleton, keys: keysByTable.get(skeleton.name) }));
    });
    const work: ReadBack = { order, keep, parts: [], stale: [], counted, timings };
    timings.readBack = 0;
    const stream = this.runner.streamTable?.bind(this.runner);
    // Preserved Services take their rules from the live table (preserve.ts): that needs it whole.
    if (stream && !keep.size) await readBackStreamed(stream, work);
    else await readBackWhole(await this.liveReader(), work);
    const { parts, stale } = work;
    counted.changes += stale.length;
    const diffMs = counted.ms;
    counted.ms = 0;
    function* pieces(): Generator<string> {
      for (let k = 0; k < parts.length; k++) {
        const part = parts[k]!;
        parts[k] = []; // written: its text can go
        yield* typeof part === 'function' ? part() : part;
      }
      if (stale.length) yield* transactionPieces(stale);
    }

    const sent = await this.sendPieces(pieces(), timings);
    timings.diff = diffMs + counted.ms;
    if (timings.nft !== undefined) timings.nft -= counted.ms;
    this.state = { fingerprint: fp, families, unknown: new Set(keep) };
    return { full: true, changes: counted.changes, transaction: sent, timings };
  }

  /** Does rendering `changed` anew leave a shard table with its first or without its last Service? */
  private changesShardSet(input: RenderInput, changed: ReadonlySet<string>): boolean {
    const owned = changedServices(input, changed);
    for (const st of this.state!.families) {
      const delta = new Map<string, number>();
      for (const key of changed) {
        const shard = shardTableOf(...splitKey(key));
        const had = st.fragments.has(key) ? 1 : 0;
        const svc = owned.get(key);
        // Whether it will have fragments: only a Service with a port of this family has any.
        const has = svc && viewsOfService(svc, st.family, [], input.node).length > 0 ? 1 : 0;
        delta.set(shard, (delta.get(shard) ?? 0) + has - had);
      }
      for (const [shard, d] of delta) {
        const before = st.shardUse.get(shard) ?? 0;
        if ((before === 0) !== (before + d === 0)) return true;
      }
    }
    return false;
  }

  private async incremental(input: RenderInput, changed: ReadonlySet<string>): Promise<SyncResult> {
    const timings: Record<string, number> = {};
    let t = now();
    const owned = changedServices(input, changed);
    // Every slice is looked at (10k per endpoint change at 10k Services): by name first, so
    // only the changed Services' few build a `namespace/name` key.
    const names = new Set([...changed].map((k) => splitKey(k)[1]));
    const slices = input.endpointSlices.filter((s) => names.has(s.serviceName) && changed.has(`${s.namespace}/${s.serviceName}`));
    const bySvc = slicesByService(slices);
    const updates = this.state!.families.map((st) => {
      const next = new Map<string, Fragment[]>();
      const sources = new Map<string, ServiceSource>();
      for (const key of changed) {
        const svc = owned.get(key);
        const source = svc && sourceOf(svc, bySvc.get(key) ?? []);
        const frs = source ? fragmentsOfSource(source, st.family, st.node, st.tc) : [];
        next.set(key, frs);
        if (source) sources.set(key, source);
      }
      return { st, next, sources };
    });
    timings.render = now() - t;

    t = now();
    const commands: NftCommand[] = [];
    let changes = 0;
    for (const { st, next } of updates) {
      const tx = fragmentDiff(st, next);
      for (const c of tx.commands) commands.push(c);
      changes += tx.changes;
    }
    timings.diff = now() - t;

    const transaction = await this.sendIncremental(commands, timings);
    // Only now, with the kernel changed, does the remembered state move on.
    for (const { st, next, sources } of updates) {
      for (const [key, frs] of next) {
        const old = fragmentsOf(st, key);
        for (const fr of old) st.refs.remove(fr);
        for (const fr of frs) st.refs.add(fr);
        countFragments(st, old, -1);
        countFragments(st, frs, +1);
        if (st.fragments.has(key)) countShard(st, key, -1);
        if (frs.length) {
          st.fragments.set(key, sources.get(key)!);
          countShard(st, key, +1);
        } else st.fragments.delete(key);
      }
    }
    return { full: false, changes, transaction, timings };
  }

  /**
   * An incremental transaction: as cacheless text when it can be (its counter-element
   * deletes deferred), else as JSON with every deferred delete in front (nft fetches its
   * whole cache for this one anyway).
   */
  private async sendIncremental(commands: NftCommand[], timings: Record<string, number>): Promise<string> {
    if (this.options.cachelessText && !this.textOff) {
      const split = this.pending.split(commands);
      const text = split && cachelessText(split.now, (family, table, set) => this.declaration(family, table, set));
      if (split && text !== undefined) {
        const t = now();
        try {
          await (this.runner.loadIncremental ? this.runner.loadIncremental(text) : this.runner.load(text));
        } catch {
          // Refused: the JSON (which nft may refuse as well, for the same reason) decides; if
          // it is taken, the text was at fault and is not tried again.
          const sent = await this.send([...this.pending.take(), ...commands], timings, true);
          this.textOff = true;
          return sent;
        }
        timings.nft = now() - t;
        this.pending.add(split.later);
        return text;
      }
    }
    return await this.send([...this.pending.take(), ...commands], timings, true);
  }

  /** A set's declaration, from the skeletons (where the sets rules name live). */
  private declaration(family: NftFamily, table: string, set: string): NftSet | undefined {
    for (const st of this.state?.families ?? []) {
      const t = st.skeletons.find((x) => x.family === family && x.name === table);
      const s = t?.sets.find((x) => x.name === set);
      if (s) return s;
    }
    return undefined;
  }

  private async send(commands: NftCommand[], timings: Record<string, number>, incremental = false): Promise<string> {
    if (commands.length === 0) return '';
    const t = now();
    const text = transactionText(commands);
    await (incremental && this.runner.loadIncremental ? this.runner.loadIncremental(text) : this.runner.load(text));
    timings.nft = now() - t;
    return text;
  }

  /** How a full sync reads a live table: one at a time when the runner can, else from one `list` of them all. */
  private async liveReader(): Promise<ReadTable> {
    if (this.runner.listTable) return this.runner.listTable.bind(this.runner);
    const byId = new Map((await this.runner.list()).map((l) => [tableId(l), l]));
    return async (family, name) => byId.get(tableId({ family, name }));
  }

  /**
   * Sends the transaction whose pieces `pieces` makes, nothing when it makes none.
   * A runner that takes pieces pulls them as it writes; the text is kept only when
   * `keepTransaction` (the agent never reads it). Returns the text, or ''.
   */
  private async sendPieces(pieces: Iterator<string>, timings: Record<string, number>): Promise<string> {
    const t = now();
    const first = pieces.next();
    if (first.done) return '';
    const kept: string[] | undefined = this.options.keepTransaction === false ? undefined : [];
    const chunks = transactionChunks(
      (function* () {
        for (let r: IteratorResult<string> = first; !r.done; r = pieces.next()) {
          kept?.push(r.value);
          yield r.value;
        }
      })(),
    );
    await (this.runner.loadChunks ? this.runner.loadChunks(chunks) : this.runner.load([...chunks].join('')));
    timings.nft = now() - t;
    return kept ? [...transactionChunks(kept)].join('') : '';
  }
}

/**
 * Each Service's fragments, per family, kept packed only: no table of the whole render
 * is ever built (a full sync puts the tables together one at a time, from these). Its
 * own function so that the sorted keys and the slices' index are garbage before the
 * tables are read back and written.
 */
function renderFamilies(input: RenderInput, keep: ReadonlySet<string>): FamilyState[] {
  const slices = new SliceIndex(input.endpointSlices);
  // In the order of their keys' code units (the fragments' order, which the tables are put
  // together in). Not ownedServices' map: it would live as long as the Service list does
  // (the agent keeps that list while nothing changes), ~1.5 MB at 44k Services.
  const services = proxiedServices(input.plan, input.mode);
  const serviceKeys = services.map(serviceKey);
  const order = Uint32Array.from(serviceKeys.keys()).sort((a, b) => (serviceKeys[a]! < serviceKeys[b]! ? -1 : serviceKeys[a]! > serviceKeys[b]! ? 1 : 0));
  return FAMILIES.map((family) => {
    const tc = tableContext(input, family);
    const st: FamilyState = { family, tc, node: input.node, skeletons: skeletonTables(input, tc), fragments: new Map(), refs: new ElementRefs(), shardUse: new Map(), counts: new Map() };
    for (const i of order) {
      const key = serviceKeys[i]!;
      // Preserved Services are left out of the remembered state: the kernel's rules for them are kept as they are.
      if (keep.has(key)) continue;
      const svc = services[i]!;
      const source = sourceOf(svc, slices.of(svc.namespace, svc.name));
      const frs = fragmentsOfSource(source, family, input.node, tc);
      if (!frs.length) continue;
      for (const fr of frs) st.refs.add(fr);
      st.fragments.set(key, source);
      countShard(st, key, +1);
      countFragments(st, frs, +1);
    }
    return st;
  });
}

/** A full sync's read-back and diff, table by table: what it fills in. */
interface ReadBack {
  readonly order: readonly { st: FamilyState; skeleton: NftTable; keys: string[] | undefined }[];
  readonly keep: ReadonlySet<string>;
  /** Each wanted table's text: diffed pieces, or (a table the kernel lacks, or one replaced whole) its load, made as it is written. */
  readonly parts: (string[] | (() => Iterable<string>))[];
  /** Tables of ours no longer wanted. */
  readonly stale: NftCommand[];
  /** Changes counted, and ms spent diffing (a lazy load counts both as it is written). */
  readonly counted: { changes: number; ms: number };
  readonly timings: Record<string, number>;
}

/**
 * Each table listed into its streamed diff (streamed-diff.ts): the live table is never
 * parsed whole, nor its desired twin's elements made whole. One table at a time.
 */
async function readBackStreamed(stream: NonNullable<NftRunner['streamTable']>, w: ReadBack): Promise<void> {
  const { counted, timings } = w;
  let t = now();
  for (const { st, skeleton, keys } of w.order) {
    if (skeleton.name !== TABLE_NAME && keys === undefined) {
      if (await stream(skeleton.family, skeleton.name, IGNORE_LISTING)) w.stale.push(del(tableObject(skeleton)));
      continue;
    }
    const diff = new StreamedTableDiff(() => desiredTable(st, skeleton, keys ?? []));
    const exists = await stream(skeleton.family, skeleton.name, diff);
    const t0 = now();
    timings.readBack! += t0 - t;
    const tx = exists ? diff.finish() : undefined;
    if (tx) {
      counted.changes += tx.changes;
      w.parts.push([...transactionPieces(tx.commands)]);
    } else {
      // Absent (a first sync), or a declaration that cannot change in place: the table loaded whole,
      // made as it is written (the desired tables of every shard, made now, would all be alive at once).
      w.parts.push(() => {
        const t1 = now();
        const desired = desiredTable(st, skeleton, keys ?? []);
        const groups = desired.groups;
        const commands = tableLoadCommands(desired.table, () => counted.changes++, (x) => desired.more(x), groups && (() => groupedChains(groups)));
        counted.ms += now() - t1;
        return transactionPieces(exists ? withFirst(del(tableObject(skeleton)), counted, commands) : commands);
      });
    }
    t = now();
    counted.ms += t - t0;
  }
}

/** `first`, counted as one change, then `rest`. */
function* withFirst(first: NftCommand, counted: { changes: number }, rest: Iterable<NftCommand>): Generator<NftCommand> {
  counted.changes++;
  yield first;
  yield* rest;
}

/** Each table read back parsed whole (one read ahead), then diffed against its desired twin (with preserved Services). */
async function readBackWhole(read: ReadTable, w: ReadBack): Promise<void> {
  const { counted, timings, keep } = w;
  let i = 0;
  let t = now();
  for await (const live of readTablesInOrder(read, w.order.map((o) => o.skeleton))) {
    const { st, skeleton, keys } = w.order[i++]!;
    const t0 = now();
    timings.readBack! += t0 - t;
    const wanted = skeleton.name === TABLE_NAME || keys !== undefined || (live !== undefined && keptShards(keep, [live]).size > 0);
    if (!wanted) {
      if (live) w.stale.push(del(tableObject(live)));
    } else if (!live && !keep.size) {
      // The text in pieces of ~256k characters, made as nft's stdin file is written:
      // the main table's ~12 M characters are never alive whole, nor (a table the
      // kernel lacks: a first sync) its ~10^5 commands, nor its elements: those its
      // sets take from the Services' fragments are made set by set as they are written.
      w.parts.push(() => {
        const t1 = now();
        const lazy = skeleton.name === TABLE_NAME;
        const desired = tableFromFragments(st, skeleton, keys ?? [], !lazy);
        counted.ms += now() - t1;
        const more = lazy ? (x: NftSet) => setElementsFromFragments(st, skeleton.name, x.name) : undefined;
        return transactionPieces(tableLoadCommands(desired, () => counted.changes++, more));
      });
    } else {
      const d = diffTable(preserveServices(tableFromFragments(st, skeleton, keys ?? [], true), live, [...keep]), live);
      counted.changes += d.changes;
      w.parts.push([...transactionPieces(d.commands)]);
    }
    t = now();
    counted.ms += t - t0;
  }
}

/** The shard chain a resync counts the rules of (see expectedRuleCounts). */
const SHARD_ENTRY_CHAIN = 'nat-prerouting';
/** How many of those one resync lists: as many as readRuleCounts runs at once. */
const RULE_WINDOW = 4;

function splitChainId(id: string): readonly [NftFamily, string, string] {
  const [family, table, chain] = id.split(' ') as [NftFamily, string, string];
  return [family, table, chain];
}

/**
 * The Services of ours among `changed`, by namespace/name: as ownedServices gives them, found
 * by name first so that only the changed ones build a key. Not ownedServices' map of every
 * Service: it is remembered by the identity of the plan's list, and an agent's sync that holds
 * some Services back for a later batch (src/agent/sync-batches.ts) passes a new list each
 * time, so every batch built the whole map again (44k keys and entries at 44k Services).
 */
function changedServices(input: RenderInput, changed: ReadonlySet<string>): Map<string, PlanService> {
  const names = new Set([...changed].map((k) => splitKey(k)[1]));
  const candidates = input.plan.services.filter((s) => names.has(s.name) && changed.has(serviceKey(s)));
  return new Map(proxiedServices({ ...input.plan, services: candidates }, input.mode).map((s) => [serviceKey(s), s]));
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

function countShard(st: FamilyState, key: string, by: number): void {
  const shard = shardTableOf(...splitKey(key));
  st.shardUse.set(shard, (st.shardUse.get(shard) ?? 0) + by);
}

/** Counts (by = 1) or uncounts (by = -1) the chains and sets the fragments add to their tables. */
function countFragments(st: FamilyState, frs: readonly Fragment[], by: 1 | -1): void {
  const family = st.skeletons[0]!.family;
  for (const fr of frs) addCounts(st.counts, `${family} ${fr.table}`, by * fr.chains.length, by * fr.sets.length);
}

/** The Services (namespace/name, in order) with fragments in each table of the family. */
function servicesByTable(st: FamilyState): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const key of st.fragments.keys()) {
    const shard = shardTableOf(...splitKey(key));
    let keys = out.get(shard);
    if (!keys) out.set(shard, (keys = []));
    keys.push(key);
  }
  return out;
}

/**
 * One table as a whole render assembles it (render.ts assembleTables): the
 * skeleton's chains and sets, then each Service's chains and sets in order; a set's
 * elements are the skeleton's, then those the fragments contribute in the order
 * they first came (FirstAppearances: the order `refs` was counted in by a full sync,
 * which builds it anew). The main table takes elements from every Service's
 * fragments; without `withElements` only its skeleton's (the caller adds the rest as
 * it writes them: setElementsFromFragments). Without `withChains`, a shard's chains are
 * the skeleton's only (the caller walks the Services' as it needs them: serviceChainGroups).
 */
function tableFromFragments(st: FamilyState, skeleton: NftTable, keys: readonly string[], withElements: boolean, withChains = true): NftTable {
  const chains: NftChain[] = [...skeleton.chains];
  const own: NftSet[] = [];
  const extra = new Map<string, { picker: FirstAppearances; elements: NftElement[] }>();
  for (const x of skeleton.sets) {
    const key = setKey(skeleton.name, x.name);
    if (withElements && st.refs.has(key)) extra.set(key, { picker: new FirstAppearances(st.refs, key), elements: [] });
  }
  const main = skeleton.name === TABLE_NAME;
  for (const key of main ? (extra.size ? st.fragments.keys() : []) : keys) {
    for (const fr of fragmentsOf(st, key)) {
      for (const e of fr.elements) {
        const x = extra.get(setKey(e.table, e.set));
        if (x?.picker.take(e)) x.elements.push(e.element);
      }
      if (main) continue;
      if (fr.table !== skeleton.name) throw new Error(`nftables syncer: ${key}: fragment for table ${fr.table}, not its shard ${skeleton.name}`);
      if (withChains) for (const c of fr.chains) chains.push(c);
      for (const x of fr.sets) own.push(x);
    }
  }
  const sets: NftSet[] = skeleton.sets.map((x) => {
    const more = extra.get(setKey(skeleton.name, x.name));
    more?.picker.done();
    return more ? { ...x, elements: [...x.elements, ...more.elements] } : x;
  });
  for (const x of own) sets.push(x);
  return { family: skeleton.family, name: skeleton.name, chains, sets };
}

/**
 * The chains the Services `keys` add to their shard, a group a Service, each Service's
 * made from its fragments when asked for; a chain's Service is the one its name says
 * (serviceOfChain), if it is one of `keys`.
 */
function serviceChainGroups(st: FamilyState, keys: readonly string[]): ChainGroups {
  const mine = new Set(keys);
  return {
    keys,
    chains: (key) => fragmentsOf(st, key).flatMap((fr) => fr.chains),
    of: (name) => {
      const key = serviceOfChain(name);
      return key !== undefined && mine.has(key) ? key : undefined;
    },
  };
}

/**
 * The elements the Services' fragments add to one set, first appearances in order, made as
 * they are pulled: from every Service's (the main table), or from `keys`' (a shard's).
 */
function* setElementsFromFragments(st: FamilyState, table: string, set: string, keys?: readonly string[]): Generator<NftElement> {
  const key = setKey(table, set);
  if (!st.refs.has(key)) return;
  const picker = new FirstAppearances(st.refs, key);
  for (const source of keys ? keys.map((k) => st.fragments.get(k)!) : st.fragments.values()) {
    for (const fr of fragmentsOfSource(source, st.family, st.node, st.tc)) for (const e of fr.elements) if (picker.take(e)) yield e.element;
  }
  picker.done();
}

/**
 * A table's desired twin for a streamed diff or a lazy load: its declarations and the
 * skeleton's chains whole; the Services' elements set by set, and (a shard) their chains
 * Service by Service, made from the fragments as they are needed.
 */
function desiredTable(st: FamilyState, skeleton: NftTable, keys: readonly string[]): DesiredTable {
  const main = skeleton.name === TABLE_NAME;
  return {
    table: tableFromFragments(st, skeleton, keys, false, main),
    more: (x) => setElementsFromFragments(st, skeleton.name, x.name, main ? undefined : keys),
    ...(main ? {} : { groups: serviceChainGroups(st, keys) }),
  };
}

/** A listing only asked whether the table exists. */
const IGNORE_LISTING: NftListingSink = { object: () => undefined, element: () => undefined };

function fragmentsOf(st: FamilyState, key: string): Fragment[] {
  const source = st.fragments.get(key);
  return source === undefined ? [] : fragmentsOfSource(source, st.family, st.node, st.tc);
}

/**
 * The transaction that replaces some Services' fragments: small tables, the
 * touched part before and after (their chains, affinity sets, and the skeleton
 * elements they contribute, counted across every fragment), compared by diffTables.
 */
function fragmentDiff(st: FamilyState, next: Map<string, Fragment[]>): NftTransaction {
  const before: Fragment[] = [];
  const after: Fragment[] = [];
  for (const [key, frs] of next) {
    for (const fr of fragmentsOf(st, key)) before.push(fr);
    for (const fr of frs) after.push(fr);
  }
  // Net change of each touched element's count (by set, then element id), and the element as
  // the old and the new fragments give it. The refs keep no element: one whose count is above
  // 0 before is the kernel's as the old fragments give it, or (only another, unchanged
  // Service held it) as the new ones do; one key is one element (a whole render, too, writes
  // each key once).
  const delta = new Map<string, Map<ElementId, { n: number; before?: NftElement; after?: NftElement }>>();
  const bump = (fr: Fragment, by: number) => {
    for (const e of fr.elements) {
      const id = elementId(e.element);
      const k = setKey(e.table, e.set);
      let d = delta.get(k);
      if (!d) delta.set(k, (d = new Map()));
      const cur = d.get(id) ?? { n: 0 };
      cur.n += by;
      if (by > 0) cur.after = e.element;
      else cur.before ??= e.element;
      d.set(id, cur);
    }
  };
  before.forEach((fr) => bump(fr, -1));
  after.forEach((fr) => bump(fr, +1));

  const mini = (side: 'before' | 'after', fragments: Fragment[]): NftTable[] =>
    st.skeletons.map((skeleton) => {
      const sets: NftSet[] = [];
      for (const decl of skeleton.sets) {
        const k = setKey(skeleton.name, decl.name);
        const d = delta.get(k);
        if (!d) continue;
        const elements: NftElement[] = [];
        for (const [id, change] of d) {
          const countBefore = st.refs.count(k, id);
          const countAfter = countBefore + change.n;
          if (side === 'before' && countBefore > 0) elements.push((change.before ?? change.after)!);
          if (side === 'after' && countAfter > 0) elements.push((change.after ?? change.before)!);
        }
        sets.push({ ...decl, elements });
      }
      const mine = fragments.filter((fr) => fr.table === skeleton.name);
      for (const fr of mine) for (const x of fr.sets) sets.push(x);
      return { family: skeleton.family, name: skeleton.name, chains: mine.flatMap((fr) => [...fr.chains]), sets };
    });
  return diffTables(mini('after', after), mini('before', before));
}
