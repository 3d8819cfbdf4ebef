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

import { EventEmitter } from 'node:events';
import { formatRef, isInputError, type FieldIssue, type ObjectRef } from '../../model/errors.js';
import { compareByNamespaceName } from '../../model/plan.js';
import type { ListWatchSink, WatchEventType } from './list-watch.js';
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

interface Entry<T> {
  // No copy of the value as JSON text beside it (an unchanged version is told by
  // stringifying both at that moment): at 10k EndpointSlices x 10 endpoints the texts
  // kept were ~20 MB, as much again as the values.
  good?: { readonly value: T; readonly serviceKeys: readonly string[] };
  bad?: MalformedObject;
}

export interface WatchedStoreOptions {
  readonly log: WatchLogger;
  /** Called once per malformed object version (prom-client counter goes here). */
  readonly onMalformed?: (m: MalformedObject) => void;
}

export class WatchedStore<T> extends EventEmitter<WatchedStoreEvents> implements ListWatchSink {
  private readonly entries = new Map<string, Entry<T>>();
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
    if (this.cachedSnapshot) return this.cachedSnapshot;
    const out: T[] = [];
    for (const e of this.entries.values()) if (e.good) out.push(e.good.value);
    this.cachedSnapshot = out.sort((a, b) => this.compare(a, b));
    return this.cachedSnapshot;
  }
  private cachedSnapshot: T[] | undefined;

  /**
   * The snapshot with one value replaced by its new version, when that keeps its place
   * (same sort key): a copy, as the last sync's input still holds the old array. One
   * EndpointSlice change at 10k then costs a copy, not a rebuild and sort (~2 ms).
   */
  private replacedInSnapshot(prev: T, next: T): T[] | undefined {
    const cached = this.cachedSnapshot;
    if (!cached || this.compare(prev, next) !== 0) return undefined;
    const i = cached.indexOf(prev);
    if (i < 0) return undefined;
    const out = cached.slice();
    out[i] = next;
    return out;
  }

  private compare(a: T, b: T): number {
    return (this.adapter.compare ?? (compareByNamespaceName as unknown as (a: T, b: T) => number))(a, b);
  }

  /** The good model value of object namespace/name (`name` alone for cluster-scoped kinds). */
  get(key: string): T | undefined {
    return this.entries.get(key)?.good?.value;
  }

  /** Objects whose latest version is malformed, and whether a good version was kept. */
  malformed(): MalformedObject[] {
    const out: MalformedObject[] = [];
    for (const e of this.entries.values()) if (e.bad) out.push(e.bad);
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
      for (const e of this.entries.values()) if (e.bad && !e.good) for (const k of e.bad.serviceKeys) keys.add(k);
      this.cachedSkipped = [...keys].sort();
    }
    return [...this.cachedSkipped];
  }
  private cachedSkipped: string[] | undefined;

  // ---- ListWatchSink

  replace(items: readonly unknown[], _resourceVersion: string): void {
    const changed: Changes = { keys: new Set(), dirty: false, objects: 0 };
    const seen = new Set<string>();
    for (const raw of items) {
      const key = objectKey(raw);
      if (key === undefined) {
        this.reportNameless(raw);
        continue;
      }
      seen.add(key);
      this.upsert(key, raw, changed);
    }
    // Objects deleted while we were not watching: gone from the list, gone here.
    for (const key of [...this.entries.keys()]) if (!seen.has(key)) this.remove(key, changed);
    this.emitChange(changed);
    if (!this._synced) {
      this._synced = true;
      this.emit('synced');
    }
  }

  event(type: WatchEventType, raw: unknown): void {
    const key = objectKey(raw);
    if (key === undefined) {
      this.reportNameless(raw);
      return;
    }
    const changed: Changes = { keys: new Set(), dirty: false, objects: 0 };
    if (type === 'DELETED') this.remove(key, changed);
    else this.upsert(key, raw, changed);
    this.emitChange(changed);
  }

  // ---- internals

  private upsert(key: string, raw: unknown, changed: Changes): void {
    if (this.adapter.accepts && !this.adapter.accepts(raw)) {
      this.remove(key, changed);
      return;
    }
    let value: T | undefined;
    try {
      value = this.adapter.parse(raw);
    } catch (e) {
      this.reportMalformed(key, raw, e);
      return;
    }
    if (value === undefined) {
      this.remove(key, changed);
      return;
    }
    const serviceKeys = this.adapter.serviceKeys(raw);
    const prev = this.entries.get(key);
    if (prev?.bad) this.opts.log.info({ kind: this.adapter.kind, object: key }, `${this.adapter.kind} ${key} is valid again`);
    if (prev?.good && sameKeys(prev.good.serviceKeys, serviceKeys) && JSON.stringify(prev.good.value) === JSON.stringify(value)) {
      if (prev.bad) this.cachedSkipped = undefined;
      prev.bad = undefined;
      return;
    }
    for (const k of prev?.good?.serviceKeys ?? []) changed.keys.add(k);
    for (const k of serviceKeys) changed.keys.add(k);
    changed.dirty = true;
    changed.objects++;
    this.entries.set(key, { good: { value, serviceKeys } });
    this.cachedSnapshot = prev?.good ? this.replacedInSnapshot(prev.good.value, value) : undefined;
    if (prev?.bad) this.cachedSkipped = undefined;
    this.goodVersion(key, raw);
  }

  private remove(key: string, changed: Changes): void {
    const prev = this.entries.get(key);
    if (!prev) return;
    this.entries.delete(key);
    this.cachedSnapshot = undefined;
    this.cachedSkipped = undefined;
    // An object that never parsed changed no model value; the reconciler still hears
    // of its Service, since skippedServiceKeys() just changed.
    for (const k of prev.good?.serviceKeys ?? prev.bad?.serviceKeys ?? []) changed.keys.add(k);
    changed.dirty = true;
    changed.objects++;
    this.removed(key);
  }

  /** Hook: a new good version of object `key` changed the model (endpointslices.ts records trigger times). */
  protected goodVersion(_key: string, _raw: unknown): void {}

  /** Hook: object `key` left the store. */
  protected removed(_key: string): void {}

  private reportMalformed(key: string, raw: unknown, e: unknown): void {
    const entry = this.entries.get(key) ?? {};
    const issues: FieldIssue[] = isInputError(e) ? [...e.issues] : [{ field: '(root)', message: e instanceof Error ? e.message : String(e) }];
    const ref: ObjectRef = isInputError(e) && e.ref ? e.ref : { kind: this.adapter.kind, name: key };
    const m: MalformedObject = { ref, issues, serviceKeys: this.adapter.serviceKeys(raw), keptPrevious: entry.good !== undefined };
    entry.bad = m;
    this.entries.set(key, entry);
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

  private reportNameless(raw: unknown): void {
    const e = { issues: [{ field: 'metadata.name', message: 'is required' }] };
    const m: MalformedObject = { ref: { kind: this.adapter.kind }, issues: e.issues, serviceKeys: [], keptPrevious: false };
    this._malformedCount++;
    this.opts.log.warn({ kind: this.adapter.kind, issues: e.issues, type: typeof raw }, `skipped ${this.adapter.kind} without metadata.name`);
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

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}
