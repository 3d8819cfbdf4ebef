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
 * An element's identity in one set: its key. Packed into a number where the key fits 53
 * bits exactly (below), else a string: a plain key is itself; a concatenation of
 * addresses, protocols and ports is its parts joined by spaces (no part of ours holds
 * one; one set's keys all have the same types, so "80" and 80 never meet); any other key
 * its canonical JSON. A number and a string never meet in a Map.
 */
export type ElementId = string | number;

export function elementId(e: NftElement): ElementId {
  const k = e.key;
  if (typeof k === 'string') return packedAddress(k) ?? k;
  const parts = (k as { concat?: unknown } | null)?.concat;
  if (Array.isArray(parts) && Object.keys(k as object).length === 1 && parts.every((p) => typeof p === 'number' || (typeof p === 'string' && !p.includes(' ') && !p.startsWith('{') && !p.startsWith(PACKED)))) {
    return packedConcat(parts as (string | number)[]) ?? packedEndpointPair(parts as (string | number)[]) ?? parts.join(' ');
  }
  return canon(k);
}

// Packed ids: a kind (3 bits) times 2^50, plus the key's bits (at most 50). At 44k
// Services x 1 the ~176k ids as strings such as `10.96.67.221 tcp 80` took ~40 bytes
// each in the syncer's maps between syncs, as numbers 16 (issue 16 §1). Each kind packs
// one key shape one to one (canonical text only: `010.0.0.1` stays a string), and the
// kinds do not overlap, so two keys have the same number only if they are the same key.
const KIND = 2 ** 50;
const ADDRESS_PROTOCOL_PORT = 0; // [IPv4, tcp|udp|sctp, port]: 32 + 2 + 16 bits
const ADDRESS = 1; // an IPv4 address
const SAME_ADDRESS_TWICE = 2; // [IPv4, the same IPv4] (a hairpin pair)
const PROTOCOL_PORT = 3; // [tcp|udp|sctp, port]
// A Map, not an object literal: `toString` and the like are no protocol.
const PROTOCOLS: ReadonlyMap<unknown, number> = new Map([
  ['tcp', 0],
  ['udp', 1],
  ['sctp', 2],
]);

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/** A dotted IPv4 address in its canonical text as a 32-bit number, else undefined. */
function ipv4(s: unknown): number | undefined {
  if (typeof s !== 'string') return undefined;
  const m = IPV4.exec(s);
  return m ? ((Number(m[1]) * 256 + Number(m[2])) * 256 + Number(m[3])) * 256 + Number(m[4]) : undefined;
}

const isPort = (port: unknown): boolean => Number.isInteger(port) && (port as number) >= 0 && (port as number) <= 0xffff;

function protocolPort(proto: unknown, port: unknown): number | undefined {
  const p = PROTOCOLS.get(proto);
  return p !== undefined && isPort(port) ? p * 0x10000 + (port as number) : undefined;
}

function packedAddress(k: string): number | undefined {
  const a = ipv4(k);
  return a === undefined ? undefined : ADDRESS * KIND + a;
}

/**
 * The per-endpoint counted sets' keys (endpoint-traffic.ts), past 53 bits: `[IPv4, proto,
 * port, IPv4, port]` (98 bits) and `[proto, node port, IPv4, port]` (66 bits), packed in a
 * short string of byte-sized characters: a marker (the shape), then the parts' bytes. At 44k
 * Services x 1 their ids as text (`10.96.67.221 tcp 80 10.244.1.2 8080`) took ~56 bytes
 * each, packed 32 (issue 16 §1). No joined id starts with the marker (its first part would,
 * and such a part goes to canon), canon's start with `{`: a packed id is no other key's.
 */
const PACKED = '\u0000';
const ENDPOINT_PAIR = [0, 1];
const NODE_PORT_ENDPOINT = [0, 2];

/**
 * The marker then each [value, byte count]'s low bytes, high first, one character each:
 * made by one fromCharCode, a flat one-byte string (a `+` of pieces would be a tree of
 * cons strings, larger than the text it replaces).
 */
function packed(marker: readonly number[], ...fields: (readonly [number, number])[]): string {
  const codes = [...marker];
  for (const [v, n] of fields) for (let i = n - 1; i >= 0; i--) codes.push(Math.floor(v / 2 ** (8 * i)) & 0xff);
  return String.fromCharCode(...codes);
}

function packedEndpointPair(parts: readonly (string | number)[]): string | undefined {
  if (parts.length === 5) {
    const a = ipv4(parts[0]);
    const pp = a === undefined ? undefined : protocolPort(parts[1], parts[2]);
    const b = pp === undefined ? undefined : ipv4(parts[3]);
    if (b === undefined || !isPort(parts[4])) return undefined;
    return packed(ENDPOINT_PAIR, [a!, 4], [pp!, 3], [b, 4], [parts[4] as number, 2]);
  }
  if (parts.length === 4) {
    const pp = protocolPort(parts[0], parts[1]);
    const b = pp === undefined ? undefined : ipv4(parts[2]);
    if (b === undefined || !isPort(parts[3])) return undefined;
    return packed(NODE_PORT_ENDPOINT, [pp!, 3], [b, 4], [parts[3] as number, 2]);
  }
  return undefined;
}

function packedConcat(parts: readonly (string | number)[]): number | undefined {
  if (parts.length === 3) {
    const a = ipv4(parts[0]);
    const pp = a === undefined ? undefined : protocolPort(parts[1], parts[2]);
    return pp === undefined ? undefined : ADDRESS_PROTOCOL_PORT * KIND + a! * 0x40000 + pp;
  }
  if (parts.length === 2) {
    const pp = protocolPort(parts[0], parts[1]);
    if (pp !== undefined) return PROTOCOL_PORT * KIND + pp;
    const a = ipv4(parts[0]);
    return a !== undefined && parts[1] === parts[0] ? SAME_ADDRESS_TWICE * KIND + a : undefined;
  }
  return undefined;
}

/** Where an element's count is kept: its table and set. */
export function setKey(table: string, set: string): string {
  return `${table} ${set}`;
}

const setKeyOf = (e: FragmentElement) => setKey(e.table, e.set);

export class ElementRefs {
  /**
   * By setKey: the ids of the elements some fragment holds, in the order they first came
   * (a full sync's), and, apart, the count of those more than one fragment holds (a
   * ClusterIP serving several ports, a shared hairpin pair). Most elements have one
   * fragment: a Set entry is a word smaller than a Map entry and needs no count, ~2 MB
   * less at 44k Services x 1 (the nftables README, "Session 17").
   */
  private readonly present = new Map<string, Set<ElementId>>();
  private readonly shared = new Map<string, Map<ElementId, number>>();

  add(fr: Fragment): void {
    for (const e of fr.elements) {
      const key = setKeyOf(e);
      let ids = this.present.get(key);
      if (!ids) this.present.set(key, (ids = new Set()));
      const id = elementId(e.element);
      if (!ids.has(id)) {
        ids.add(id);
        continue;
      }
      let more = this.shared.get(key);
      if (!more) this.shared.set(key, (more = new Map()));
      more.set(id, (more.get(id) ?? 1) + 1);
    }
  }

  remove(fr: Fragment): void {
    for (const e of fr.elements) {
      const key = setKeyOf(e);
      const id = elementId(e.element);
      const n = this.count(key, id);
      if (n === 0) continue;
      if (n === 1) this.present.get(key)!.delete(id);
      else if (n === 2) this.shared.get(key)!.delete(id);
      else this.shared.get(key)!.set(id, n - 1);
    }
  }

  count(key: string, id: ElementId): number {
    if (!this.present.get(key)?.has(id)) return 0;
    return this.shared.get(key)?.get(id) ?? 1;
  }

  has(key: string): boolean {
    return (this.present.get(key)?.size ?? 0) > 0;
  }

  /** The ids of one set, in the order their elements first came. */
  ids(key: string): IterableIterator<ElementId> {
    return (this.present.get(key) ?? new Set<ElementId>()).values();
  }
}

/**
 * Picks each element of one set at its first appearance, walking the fragments in the
 * order the refs were counted (a full sync's: sorted Services), with no set of what was
 * seen: the next first appearance is the next id of `refs.ids`, in that order.
 * `done` throws should the walk have missed any (the refs were not counted in that order).
 */
export class FirstAppearances {
  private readonly ids: IterableIterator<ElementId>;
  private next: IteratorResult<ElementId>;

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
