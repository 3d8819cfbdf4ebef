// The current objects of one resource, parsed into model values, kept by
// namespace/name. It is the ListWatchSink the list + watch loop feeds.
//
// Rules that matter to the reconciler:
// - `change` names the Services (namespace/name) whose model values changed, so a
//   sync can re-render only those. Nothing is emitted when a new object version
//   parses to the same model value (status-only updates, resyncs).
// - A malformed object is skipped, logged with kind, namespace/name and field, and
//   counted; if an earlier version of it was good, that version stays. Bad input
//   never takes working rules away. Deletion is not bad input: a deleted object goes.
// - The store never empties itself because the API server is away: it changes
//   only when the server tells it something.
// - A list comes in pages (raw-list.ts): each page's objects are decoded as the page
//   arrives (parsed into model values, or told unchanged against the store), and the
//   store changes once, when the last page is in; a list that fails part-way changes
//   nothing. No raw object outlives its page.

import { EventEmitter } from 'node:events';
import { formatRef, isInputError, type FieldIssue, type ObjectRef } from '../../model/errors.js';
import { compareByNamespaceName } from '../../model/plan.js';
import { ByNamespace } from './by-namespace.js';
import type { ListIntake, ListWatchSink, WatchEventType } from './list-watch.js';
import type { WatchLogger } from './logger.js';

/** How one kind of object is read; see services.ts, endpointslices.ts, node.ts. */
export interface ResourceAdapter<T> {
  readonly kind: string;
  /** Client-side selection: objects it refuses are treated as absent (removed if held). */
  accepts?(raw: unknown): boolean;
  /** The model value; throws InputError for a malformed object; undefined for a valid object that carries nothing for us. */
  parse(raw: unknown): T | undefined;
  /** The Services (namespace/name) this raw object is about; read leniently, so a malformed object can still be told. */
  serviceKeys(raw: unknown): string[];
  /** Where a model value sits in the snapshot. */
  compare?(a: T, b: T): number;
  /**
   * The one Service a good value is about, read from the value itself (a slice: its
   * namespace and serviceName). Where it equals serviceKeys(raw)'s, the store keeps no key
   * string beside the value and makes it when asked (a change, a removal).
   */
  serviceKeyOf?(value: T): string | undefined;
  /**
   * The value's own name string (a Service's, a slice's). The store's maps are keyed by it
   * where it equals the object's name, so they hold no key string the value does not.
   */
  nameOf?(value: T): string;
}

/** A malformed object the store skipped. */
export interface MalformedObject {
  readonly ref: ObjectRef;
  readonly issues: readonly FieldIssue[];
  readonly serviceKeys: readonly string[];
  /** An earlier good version of the object is still in the store. */
  readonly keptPrevious: boolean;
}

export interface WatchedStoreEvents {
  /**
   * Model values changed. `keys`: the Services concerned (namespace/name); empty
   * when the change is about no Service in particular (the Node): sync fully.
   */
  change: [keys: ReadonlySet<string>, objects: number];
  synced: [];
  malformed: [m: MalformedObject];
}

/** What one list or event changed. */
interface Changes {
  readonly keys: Set<string>;
  /** Some model value changed (also when no Service key names it). */
  dirty: boolean;
  /** How many objects changed (kube-proxy's *_changes_total count objects, not Services). */
  objects: number;
}

/**
 * The Services an object is about: the one key most objects have as a string (for a
 * Service, the very string the store is keyed by), several as an array.
 */
type ServiceKeys = string | readonly string[];

const NO_KEYS: readonly string[] = Object.freeze([]);

/**
 * An entry's keys are its value's (ResourceAdapter.serviceKeyOf): a slice's `namespace/service`
 * string, one per slice and not the Services store's, was ~40 bytes at 44k slices, 1.8 MB (issue
 * 16 §1, src/agent/README.md "Session 17").
 */
const OF_VALUE: unique symbol = Symbol('the value\'s Service key');

/**
 * One object whose slot is more than its good value (see Slot): a malformed mark, or keys
 * not read from the value. Before session 18 every object had one of these (48 bytes, at
 * 44k Services and 44k slices 4.2 MB; src/agent/README.md "Session 18").
 */
class Entry<T> {
  constructor(
    // No copy of the value as JSON text beside it (an unchanged version is told by
    // stringifying both at that moment): at 10k EndpointSlices x 10 endpoints the texts
    // kept were ~20 MB, as much again as the values.
    /** The good model value held (the latest version that parsed), if any. */
    public value: T | undefined,
    /** The Services `value` is about (OF_VALUE: the adapter reads them from the value). */
    public serviceKeys: ServiceKeys | typeof OF_VALUE,
    /** The latest version is malformed (a good value may still be held). */
    public bad: MalformedObject | undefined,
  ) {}
}

/**
 * What the store holds of one object: the good value itself when that is all there is to
 * hold (no malformed mark, its Service keys read from the value: every Service and slice
 * but a malformed one or a slice whose label disagrees with its value), else an Entry.
 * A model value is never an Entry, so `instanceof` tells them apart.
 */
type Slot<T> = T | Entry<T>;

/** A slot as an entry's three fields, for reading (a bare value is a good one, its keys the value's). */
function valueOf<T>(slot: Slot<T>): T | undefined {
  return slot instanceof Entry ? slot.value : slot;
}
function badOf<T>(slot: Slot<T>): MalformedObject | undefined {
  return slot instanceof Entry ? slot.bad : undefined;
}

/**
 * One object version as read, before the store is touched: what it will do with it.
 * Holds no raw object, so a list's decoded pages keep only what the store will keep.
 */
type Decoded<T, N> =
  /** A new model value (`note`: what the subclass wants of the raw version, see noteOf). */
  | { readonly kind: 'good'; readonly key: string; readonly value: T; readonly serviceKeys: ServiceKeys; readonly note: N | undefined }
  /** Reads as the good value held now: nothing to change (a `bad` mark goes). */
  | { readonly kind: 'same'; readonly key: string }
  | { readonly kind: 'bad'; readonly key: string; readonly ref: ObjectRef; readonly issues: readonly FieldIssue[]; readonly serviceKeys: readonly string[] }
  /** Not selected (the adapter's accepts), or valid and carrying nothing for us: removed if held. */
  | { readonly kind: 'absent'; readonly key: string }
  | { readonly kind: 'nameless'; readonly rawType: string };

export interface WatchedStoreOptions {
  readonly log: WatchLogger;
  /** Called once per malformed object version (a counter of the agent's metrics goes here). */
  readonly onMalformed?: (m: MalformedObject) => void;
}

/**
 * `N`: what a subclass keeps of an object version beside its model value, taken from
 * the raw object when it is decoded (noteOf) and handed to goodVersion (the slices'
 * trigger times); the raw object itself is gone by then.
 */
export class WatchedStore<T, N = unknown> extends EventEmitter<WatchedStoreEvents> implements ListWatchSink {
  private readonly entries = new ByNamespace<Slot<T>>();
  private _synced = false;
  private _malformedCount = 0;

  constructor(
    readonly adapter: ResourceAdapter<T>,
    private readonly opts: WatchedStoreOptions,
  ) {
    super();
  }

  /** A first complete list has been applied. */
  get synced(): boolean {
    return this._synced;
  }

  /** Malformed object versions seen since start. */
  get malformedCount(): number {
    return this._malformedCount;
  }

  /** Resolves once synced (at once if already). */
  waitForSync(): Promise<void> {
    if (this._synced) return Promise.resolve();
    return new Promise((resolve) => this.once('synced', resolve));
  }

  /** The good model values, sorted (by namespace/name unless the adapter says otherwise). */
  snapshot(): T[] {
    // Every sync asks for it; at 10k objects building and sorting it anew cost 10-20 ms.
    // Kept until a good value comes, changes or goes (the callers only read it).
    this.snapshotGiven = true;
    if (this.cachedSnapshot) return this.cachedSnapshot;
    const out: T[] = [];
    for (const slot of this.entries.values()) {
      const value = valueOf(slot);
      if (value !== undefined) out.push(value);
    }
    this.cachedSnapshot = out.sort((a, b) => this.compare(a, b));
    return this.cachedSnapshot;
  }
  private cachedSnapshot: T[] | undefined;
  /** The cached snapshot was handed out (a caller may hold it): it is copied before it changes. */
  private snapshotGiven = false;

  /**
   * The snapshot with one value replaced by its new version, when that keeps its place
   * (same sort key). One EndpointSlice change at 10k then costs a copy, not a rebuild and
   * sort (~2 ms). A copy only of an array handed out (the last sync's input holds it); one
   * made since is changed in place: a burst of 1000 changes between two syncs made 1000
   * copies, at 44k slices 352 KB each, each a large object straight in the old generation.
   */
  private replacedInSnapshot(prev: T, next: T): T[] | undefined {
    const cached = this.cachedSnapshot;
    if (!cached || this.compare(prev, next) !== 0) return undefined;
    const i = cached.indexOf(prev);
    if (i < 0) return undefined;
    const out = this.snapshotGiven ? cached.slice() : cached;
    this.snapshotGiven = false;
    out[i] = next;
    return out;
  }

  private compare(a: T, b: T): number {
    return (this.adapter.compare ?? (compareByNamespaceName as unknown as (a: T, b: T) => number))(a, b);
  }

  /** The good model value of object namespace/name (`name` alone for cluster-scoped kinds). */
  get(key: string): T | undefined {
    const slot = this.entries.get(key);
    return slot === undefined ? undefined : valueOf(slot);
  }

  /** Objects whose latest version is malformed, and whether a good version was kept. */
  malformed(): MalformedObject[] {
    const out: MalformedObject[] = [];
    for (const slot of this.entries.values()) {
      const bad = badOf(slot);
      if (bad) out.push(bad);
    }
    return out;
  }

  /**
   * Services with a malformed object and no good version of it here: the reconciler
   * passes them as preserveServices so the kernel keeps what it has for them
   * (e.g. the agent restarted while a Service was broken).
   */
  skippedServiceKeys(): string[] {
    // Asked at every sync: a walk over every entry (~1 ms per change at 10k) only after
    // something went bad or came back.
    if (!this.cachedSkipped) {
      const keys = new Set<string>();
      for (const slot of this.entries.values()) if (slot instanceof Entry && slot.bad && slot.value === undefined) for (const k of slot.bad.serviceKeys) keys.add(k);
      this.cachedSkipped = [...keys].sort();
    }
    return [...this.cachedSkipped];
  }
  private cachedSkipped: string[] | undefined;

  // ---- ListWatchSink

  /**
   * A list begins: its pages are decoded as they come, and commit() applies them as
   * one change (objects not in the list leave). The list + watch loop is the store's
   * one feeder, so nothing changes the store between a page's decoding and the commit
   * (a `same` decided against it still holds then).
   */
  startList(): ListIntake {
    let decoded: Decoded<T, N>[] | undefined = [];
    const open = (): Decoded<T, N>[] => {
      if (!decoded) throw new Error(`${this.adapter.kind} list: already committed or discarded`);
      return decoded;
    };
    return {
      page: (items) => {
        const into = open();
        for (const raw of items) into.push(this.decode(raw));
      },
      commit: () => {
        const list = open();
        decoded = undefined;
        this.applyList(list);
      },
      discard: () => {
        decoded = undefined;
      },
    };
  }

  /** A complete list at once (what startList does for one page). */
  replace(items: readonly unknown[], resourceVersion: string): void {
    const list = this.startList();
    list.page(items);
    list.commit(resourceVersion);
  }

  event(type: WatchEventType, raw: unknown): void {
    const changed: Changes = { keys: new Set(), dirty: false, objects: 0 };
    if (type === 'DELETED') {
      // Only its name matters: a deleted object is not parsed (nor reported malformed).
      const key = objectKey(raw);
      if (key === undefined) this.reportNameless(typeof raw);
      else this.remove(key, changed);
    } else this.apply(this.decode(raw), changed);
    this.emitChange(changed);
  }

  // ---- internals

  private applyList(list: readonly Decoded<T, N>[]): void {
    const changed: Changes = { keys: new Set(), dirty: false, objects: 0 };
    const seen = new Set<string>();
    for (const d of list) {
      if (d.kind !== 'nameless') seen.add(d.key);
      this.apply(d, changed);
    }
    // Objects deleted while we were not watching: gone from the list, gone here.
    for (const key of [...this.entries.keys()]) if (!seen.has(key)) this.remove(key, changed);
    this.emitChange(changed);
    if (!this._synced) {
      this._synced = true;
      this.emit('synced');
    }
  }

  /** Reads one raw object version; changes nothing. */
  private decode(raw: unknown): Decoded<T, N> {
    const key = objectKey(raw);
    if (key === undefined) return { kind: 'nameless', rawType: typeof raw };
    if (this.adapter.accepts && !this.adapter.accepts(raw)) return { kind: 'absent', key };
    let value: T | undefined;
    try {
      value = this.adapter.parse(raw);
    } catch (e) {
      // The error is read now and not kept: its stack could hold parts of the raw object.
      const issues: FieldIssue[] = isInputError(e) ? [...e.issues] : [{ field: '(root)', message: e instanceof Error ? e.message : String(e) }];
      const ref: ObjectRef = isInputError(e) && e.ref ? e.ref : { kind: this.adapter.kind, name: key };
      return { kind: 'bad', key, ref, issues, serviceKeys: this.adapter.serviceKeys(raw) };
    }
    if (value === undefined) return { kind: 'absent', key };
    const serviceKeys = packKeys(this.adapter.serviceKeys(raw), key);
    // An unchanged version (a relist, a status-only update) is told now, so a relist
    // does not hold a second copy of every value until its last page.
    const held = this.entries.get(key);
    const heldValue = held === undefined ? undefined : valueOf(held);
    if (heldValue !== undefined && sameKeys(this.keysOf(held!), serviceKeys) && JSON.stringify(heldValue) === JSON.stringify(value)) return { kind: 'same', key };
    return { kind: 'good', key, value, serviceKeys, note: this.noteOf(raw) };
  }

  private apply(d: Decoded<T, N>, changed: Changes): void {
    switch (d.kind) {
      case 'nameless':
        return this.reportNameless(d.rawType);
      case 'absent':
        return this.remove(d.key, changed);
      case 'bad':
        return this.reportMalformed(d);
      case 'same':
        return this.validAgain(d.key);
      case 'good':
        return this.upsert(d, changed);
    }
  }

  private upsert(d: Extract<Decoded<T, N>, { kind: 'good' }>, changed: Changes): void {
    const { key, value, serviceKeys } = d;
    const prev = this.entries.get(key);
    this.validAgain(key);
    const prevValue = prev === undefined ? undefined : valueOf(prev);
    if (prevValue !== undefined) addKeys(changed.keys, this.keysOf(prev!));
    addKeys(changed.keys, serviceKeys);
    changed.dirty = true;
    changed.objects++;
    const kept = typeof serviceKeys === 'string' && this.adapter.serviceKeyOf?.(value) === serviceKeys ? OF_VALUE : serviceKeys;
    // validAgain above took a malformed mark away: what is left to keep beside the value is its keys.
    const slot: Slot<T> = kept === OF_VALUE ? value : new Entry<T>(value, kept, undefined);
    this.entries.set(key, slot, this.adapter.nameOf?.(value));
    this.cachedSnapshot = prevValue !== undefined ? this.replacedInSnapshot(prevValue, value) : undefined;
    this.goodVersion(key, d.note, value, prevValue);
  }

  /** A good version of `key` came: a malformed mark on it goes (logged). */
  private validAgain(key: string): void {
    const prev = this.entries.get(key);
    if (!(prev instanceof Entry) || !prev.bad) return;
    this.opts.log.info({ kind: this.adapter.kind, object: key }, `${this.adapter.kind} ${key} is valid again`);
    prev.bad = undefined;
    this.cachedSkipped = undefined;
    // A good value with its keys read from the value needs no entry any more.
    if (prev.value !== undefined && prev.serviceKeys === OF_VALUE) this.entries.set(key, prev.value);
  }

  private remove(key: string, changed: Changes): void {
    const prev = this.entries.get(key);
    if (!prev) return;
    this.entries.delete(key);
    this.cachedSnapshot = undefined;
    this.cachedSkipped = undefined;
    // An object that never parsed changed no model value; the reconciler still hears
    // of its Service, since skippedServiceKeys() just changed.
    addKeys(changed.keys, valueOf(prev) !== undefined ? this.keysOf(prev) : (badOf(prev)?.serviceKeys ?? NO_KEYS));
    changed.dirty = true;
    changed.objects++;
    this.removed(key);
  }

  /** The Services a slot's good value is about. */
  private keysOf(slot: Slot<T>): ServiceKeys {
    if (!(slot instanceof Entry)) return this.adapter.serviceKeyOf!(slot)!;
    return slot.serviceKeys === OF_VALUE ? this.adapter.serviceKeyOf!(slot.value!)! : slot.serviceKeys;
  }

  /** Hook: what to keep of a raw object version for goodVersion (read when it is decoded; the raw object is not kept). */
  protected noteOf(_raw: unknown): N | undefined {
    return undefined;
  }

  /**
   * Hook: a new good version of object `key` changed the model to `value` (from `prev`, the
   * value held before, if any; endpointslices.ts records trigger times).
   */
  protected goodVersion(_key: string, _note: N | undefined, _value: T, _prev: T | undefined): void {}

  /** Hook: object `key` left the store (node.ts: the agent's own Node deleted). */
  protected removed(_key: string): void {}

  private reportMalformed(d: Extract<Decoded<T, N>, { kind: 'bad' }>): void {
    const { key, ref, issues } = d;
    const held = this.entries.get(key);
    // A bare good value goes into an entry, to carry the mark beside it.
    const entry = held instanceof Entry ? held : held !== undefined ? new Entry<T>(held, OF_VALUE, undefined) : new Entry<T>(undefined, NO_KEYS, undefined);
    const m: MalformedObject = { ref, issues, serviceKeys: d.serviceKeys, keptPrevious: entry.value !== undefined };
    entry.bad = m;
    this.entries.set(key, entry, entry.value !== undefined ? this.adapter.nameOf?.(entry.value) : undefined);
    this.cachedSkipped = undefined;
    this._malformedCount++;
    this.opts.log.warn(
      { kind: ref.kind, namespace: ref.namespace, name: ref.name, issues, keptPrevious: m.keptPrevious },
      `skipped malformed ${formatRef(ref)}: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}` +
        (m.keptPrevious ? ' (keeping its previous version)' : ''),
    );
    this.opts.onMalformed?.(m);
    this.emit('malformed', m);
  }

  private reportNameless(rawType: string): void {
    const e = { issues: [{ field: 'metadata.name', message: 'is required' }] };
    const m: MalformedObject = { ref: { kind: this.adapter.kind }, issues: e.issues, serviceKeys: [], keptPrevious: false };
    this._malformedCount++;
    this.opts.log.warn({ kind: this.adapter.kind, issues: e.issues, type: rawType }, `skipped ${this.adapter.kind} without metadata.name`);
    this.opts.onMalformed?.(m);
    this.emit('malformed', m);
  }

  private emitChange(changed: Changes): void {
    if (changed.dirty) this.emit('change', changed.keys, changed.objects);
  }
}

/** namespace/name, or name for cluster-scoped objects; undefined when it has no name. */
export function objectKey(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const meta = (raw as { metadata?: unknown }).metadata;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const { name, namespace } = meta as { name?: unknown; namespace?: unknown };
  if (typeof name !== 'string' || name === '') return undefined;
  return typeof namespace === 'string' && namespace !== '' ? `${namespace}/${name}` : name;
}

/** One key as a string (the object's own key string when equal: a Service's); none or several as they are. */
function packKeys(keys: readonly string[], objectKey: string): ServiceKeys {
  if (keys.length === 0) return NO_KEYS;
  if (keys.length > 1) return keys;
  return keys[0] === objectKey ? objectKey : keys[0]!;
}

function addKeys(into: Set<string>, keys: ServiceKeys): void {
  if (typeof keys === 'string') into.add(keys);
  else for (const k of keys) into.add(k);
}

function sameKeys(a: ServiceKeys, b: ServiceKeys): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  return a.length === b.length && a.every((k, i) => k === b[i]);
}
