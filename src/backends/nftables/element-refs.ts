// How many Services' fragments contribute each element of the skeleton's sets (a
// ClusterIP serves several ports, a pod's hairpin pair several Services): an element
// stays in the kernel while its count is above 0.
//
// Only counts, by a compact id of the element's key. At 10k Services x 10 endpoints
// (~10^5 elements) a count with the element object beside it, by its canon() key, took
// ~30 MB of heap, the largest part of the syncer's state; ids and counts take ~7 MB.
// The element itself is taken from the fragments when needed: a full sync walks them
// (FirstAppearances), an incremental one has the changed Services' old and new ones.

import { canon } from './document.js';
import type { NftElement } from './nft.js';
import type { Fragment, FragmentElement } from './render.js';

/**
 * An element's identity in one set: its key. A plain key is itself; a concatenation
 * of addresses, protocols and ports is its parts joined by spaces (no part of ours
 * holds one; one set's keys all have the same types, so "80" and 80 never meet); any
 * other key its canonical JSON.
 */
export function elementId(e: NftElement): string {
  const k = e.key;
  if (typeof k === 'string') return k;
  const parts = (k as { concat?: unknown } | null)?.concat;
  if (Array.isArray(parts) && Object.keys(k as object).length === 1 && parts.every((p) => typeof p === 'number' || (typeof p === 'string' && !p.includes(' ') && !p.startsWith('{')))) {
    return parts.join(' ');
  }
  return canon(k);
}

/** Where an element's count is kept: its table and set. */
export function setKey(table: string, set: string): string {
  return `${table} ${set}`;
}

const setKeyOf = (e: FragmentElement) => setKey(e.table, e.set);

export class ElementRefs {
  /** By setKey, then elementId: how many fragments hold the element. Insertion order = first appearance in a full sync. */
  private readonly counts = new Map<string, Map<string, number>>();

  add(fr: Fragment): void {
    for (const e of fr.elements) {
      let m = this.counts.get(setKeyOf(e));
      if (!m) this.counts.set(setKeyOf(e), (m = new Map()));
      const id = elementId(e.element);
      m.set(id, (m.get(id) ?? 0) + 1);
    }
  }

  remove(fr: Fragment): void {
    for (const e of fr.elements) {
      const m = this.counts.get(setKeyOf(e));
      const id = elementId(e.element);
      const n = m?.get(id);
      if (n === undefined) continue;
      if (n <= 1) m!.delete(id);
      else m!.set(id, n - 1);
    }
  }

  count(key: string, id: string): number {
    return this.counts.get(key)?.get(id) ?? 0;
  }

  has(key: string): boolean {
    return (this.counts.get(key)?.size ?? 0) > 0;
  }

  /** The ids of one set, in the order their elements first came. */
  ids(key: string): IterableIterator<string> {
    return (this.counts.get(key) ?? new Map<string, number>()).keys();
  }
}

/**
 * Picks each element of one set at its first appearance, walking the fragments in the
 * order the refs were counted (a full sync's: sorted Services), with no set of what was
 * seen: the next first appearance is the next id of `refs.ids`, in that order.
 * `done` throws should the walk have missed any (the refs were not counted in that order).
 */
export class FirstAppearances {
  private readonly ids: IterableIterator<string>;
  private next: IteratorResult<string>;

  constructor(
    refs: ElementRefs,
    private readonly key: string,
  ) {
    this.ids = refs.ids(key);
    this.next = this.ids.next();
  }

  take(e: FragmentElement): boolean {
    if (this.next.done || setKeyOf(e) !== this.key || elementId(e.element) !== this.next.value) return false;
    this.next = this.ids.next();
    return true;
  }

  done(): void {
    if (!this.next.done) throw new Error(`nftables syncer: element ${this.next.value} of ${this.key} not found in the fragments`);
  }
}
