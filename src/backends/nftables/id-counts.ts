// One set's element counts for ElementRefs (element-refs.ts): id -> count, in the order
// the ids first came (a Map's order: an id removed and added again goes last).
//
// At 44k Services x 1 the syncer kept ~220k ids in Maps: ~62 bytes an id (the entry, the
// table's slack, and a heap number for each packed id over 2^31), 13.7 MB. Numeric ids
// here live in typed arrays: an open-addressing table (id, count, place in the order)
// and the order itself, ~25-35 bytes an id. A string id (a key that does not pack into a
// number) turns the set into a plain Map, in the same order: rare, and simple.

const EMPTY = 0;
const GONE = -1;
const MIN_CAPACITY = 16;

function hashOf(id: number): number {
  const lo = id >>> 0;
  const hi = Math.floor(id / 0x100000000);
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 15;
  return h >>> 0;
}

export class IdCounts {
  /** Slots: the id, its count (EMPTY, GONE or > 0), its place in `order`. */
  private keys = new Float64Array(MIN_CAPACITY);
  private counts = new Int32Array(MIN_CAPACITY);
  private places = new Int32Array(MIN_CAPACITY);
  /** Ids in the order they came; a place whose slot no longer points at it is stale. */
  private order = new Float64Array(MIN_CAPACITY);
  private orderLength = 0;
  /** Slots not EMPTY (live or GONE), and live ids. */
  private used = 0;
  private live = 0;
  /** Once a string id came: every id, in order, here instead. */
  private map: Map<string | number, number> | undefined;

  get size(): number {
    return this.map ? this.map.size : this.live;
  }

  get(id: string | number): number | undefined {
    if (this.map) return this.map.get(id);
    if (typeof id !== 'number') return undefined;
    const slot = this.find(id);
    return slot < 0 ? undefined : this.counts[slot];
  }

  /** Sets the id's count (> 0): a new id goes last. */
  set(id: string | number, count: number): void {
    if (typeof id !== 'number' && !this.map) {
      this.map = new Map(this.entries());
      // Not used again: let the tables go.
      this.keys = this.order = new Float64Array(0);
      this.counts = this.places = new Int32Array(0);
    }
    if (this.map) {
      this.map.set(id, count);
      return;
    }
    const n = id as number;
    const slot = this.find(n);
    if (slot >= 0) {
      this.counts[slot] = count;
      return;
    }
    // Room first (either may rebuild the table), then the slot.
    if ((this.used + 1) * 4 > this.keys.length * 3) this.rehash();
    if (this.orderLength === this.order.length) this.growOrder();
    const free = this.freeSlot(n);
    if (this.counts[free] === EMPTY) this.used++;
    this.keys[free] = n;
    this.counts[free] = count;
    this.places[free] = this.orderLength;
    this.order[this.orderLength++] = n;
    this.live++;
  }

  delete(id: string | number): void {
    if (this.map) {
      this.map.delete(id);
      return;
    }
    if (typeof id !== 'number') return;
    const slot = this.find(id);
    if (slot < 0) return;
    this.counts[slot] = GONE;
    this.live--;
  }

  /** The ids in the order they came. */
  *ids(): Generator<string | number> {
    if (this.map) {
      yield* this.map.keys();
      return;
    }
    for (let i = 0; i < this.orderLength; i++) {
      const id = this.order[i]!;
      const slot = this.find(id);
      if (slot >= 0 && this.places[slot] === i) yield id;
    }
  }

  private *entries(): Generator<[string | number, number]> {
    for (const id of this.ids()) yield [id, this.get(id)!];
  }

  /** The live slot of `id`, or -1. */
  private find(id: number): number {
    const mask = this.keys.length - 1;
    for (let i = hashOf(id) & mask; ; i = (i + 1) & mask) {
      const c = this.counts[i]!;
      if (c === EMPTY) return -1;
      if (c !== GONE && this.keys[i] === id) return i;
    }
  }

  /** Where a new id goes: the first GONE or EMPTY slot on its probe. */
  private freeSlot(id: number): number {
    const mask = this.keys.length - 1;
    for (let i = hashOf(id) & mask; ; i = (i + 1) & mask) if (this.counts[i]! <= 0) return i;
  }

  private growOrder(): void {
    // Stale places are dropped when they are most of it, else room is made.
    if (this.live * 2 < this.orderLength) {
      this.rehash();
      if (this.orderLength < this.order.length) return;
    }
    const next = new Float64Array(Math.max(MIN_CAPACITY, Math.ceil(this.order.length * 1.5)));
    next.set(this.order.subarray(0, this.orderLength));
    this.order = next;
  }

  /** A table sized for the live ids (GONE slots dropped), the order without its stale places. */
  private rehash(): void {
    const ids: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < this.orderLength; i++) {
      const id = this.order[i]!;
      const slot = this.find(id);
      if (slot >= 0 && this.places[slot] === i) {
        ids.push(id);
        counts.push(this.counts[slot]!);
      }
    }
    let capacity = MIN_CAPACITY;
    while (capacity * 3 <= (ids.length + 1) * 4 * 1.5) capacity *= 2;
    this.keys = new Float64Array(capacity);
    this.counts = new Int32Array(capacity);
    this.places = new Int32Array(capacity);
    this.order = new Float64Array(Math.max(MIN_CAPACITY, Math.ceil(ids.length * 1.25)));
    this.orderLength = 0;
    this.used = 0;
    this.live = 0;
    for (let k = 0; k < ids.length; k++) this.set(ids[k]!, counts[k]!);
  }
}
