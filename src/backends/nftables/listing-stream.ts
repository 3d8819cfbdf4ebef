// `nft -j list table` output read as it arrives, in pieces cut anywhere, without ever
// holding the text or its parse whole (issue 16 §1). nft prints the listing as one line:
//
//   {"nftables": [{"metainfo": …}, {"table": …}, {"set": {…, "elem": [E, E, …], …}}, …,
//                 {"chain": …}, …, {"rule": …}, …]}
//
// Every item of the `nftables` array is small but a set's or map's, whose `elem` list holds
// every element (10^5 at 10k Services x 10 endpoints: tens of MB of text). So each item is
// handed on parsed once it ends, and a set's elements one at a time as they end, before
// the set itself (whose `elem` is then `[]`): what is alive is one item's or one element's
// text. Pure: the caller pushes the pieces (src/exec Command.stdoutChunks).

import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COMMA, OPEN_BRACE, OPEN_BRACKET, QUOTE } from '../../model/json-bytes.js';
import { NftDocumentError } from './read.js';

type Body = Record<string, unknown>;

/** The set or map an element belongs to, from its item's fields before the `elem` list (nft prints family and table there). */
export interface NftListingOwner {
  readonly kind: 'set' | 'map';
  readonly name: string;
  readonly family?: string;
  readonly table?: string;
}

export interface NftListingSink {
  /** An item of the listing, parsed (a set or map without its elements: those came before it). */
  object(item: Record<string, Body>): void;
  /** One entry of the `elem` list of the set or map named in `owner`, as nft prints it. */
  element(owner: NftListingOwner, raw: unknown): void;
}


/** The text before a set's element list: `{"set": {` or `{"map": {` … `"elem": `. */
const ELEM_KEY = /"elem"\s*:\s*$/;
const SET_OR_MAP = /^\{\s*"(set|map)"\s*:/;

/** Depths (containers open) at which things sit: an item of `nftables`, its kind's body, an element. */
const ITEM = 2;
const BODY = 4;
const ELEMENT = 5;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

export class NftListingStream {
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The current item's text so far (without its elements), in pieces; undefined between items. */
  private item: string[] | undefined;
  /** The current element's text so far; undefined when not inside one. */
  private element: string[] | undefined;
  /** Inside a set's `elem` list: its owner. */
  private owner: NftListingOwner | undefined;
  /** The element being read is a bare number or literal (ends at `,`, `]` or a space). */
  private scalar = false;

  constructor(private readonly sink: NftListingSink) {}

  push(chunk: string): void {
    // Where, in this chunk, the text being kept (an element, or an item outside its elements) starts.
    let from = this.element || (this.item && !this.owner) ? 0 : -1;
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const c = chunk.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.element && this.depth === ELEMENT) {
            // A string element ends with its closing quote.
            this.element.push(chunk.slice(from, i + 1));
            this.emitElement();
            from = -1;
          }
        }
        continue;
      }
      if (this.element && this.scalar && (c === COMMA || c === CLOSE_BRACKET || isSpace(c))) {
        this.element.push(chunk.slice(from, i));
        this.emitElement();
        from = -1;
      }
      if (this.owner && this.depth === ELEMENT && !this.element && c !== COMMA && c !== CLOSE_BRACKET && !isSpace(c)) {
        // An element starts.
        this.element = [];
        from = i;
        this.scalar = c !== QUOTE && c !== OPEN_BRACE && c !== OPEN_BRACKET;
      }
      if (c === QUOTE) {
        this.inString = true;
        continue;
      }
      if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (this.depth === ITEM && c === OPEN_BRACE) {
          this.item = [];
          from = i;
        } else if (this.depth === BODY && c === OPEN_BRACKET && this.item) {
          // A list in an item's body: what came before it is short (a header), so the text so far is joined.
          const head = this.item.join('') + chunk.slice(from, i);
          this.item = [head];
          from = i;
          if (ELEM_KEY.test(head) && SET_OR_MAP.test(head)) {
            // The `elem` list of a set or map: the item keeps `[]`, its entries go one by one.
            this.item.push('[');
            this.owner = this.ownerOf(head);
            from = -1;
          }
        }
        this.depth++;
        continue;
      }
      if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        this.depth--;
        if (this.owner && this.depth === BODY) {
          // The `elem` list ends: back to the item's text, from this `]`.
          this.owner = undefined;
          from = i;
        } else if (this.element && this.depth === ELEMENT) {
          this.element.push(chunk.slice(from, i + 1));
          this.emitElement();
          from = -1;
        } else if (this.item && this.depth === ITEM) {
          this.item.push(chunk.slice(from, i + 1));
          this.emitItem();
          from = -1;
        }
        continue;
      }
    }
    if (from !== -1) {
      const rest = chunk.slice(from);
      if (this.element) this.element.push(rest);
      else if (this.item) this.item.push(rest);
    }
  }

  /** Throws when the text ended inside an item (nft stopped half-way). */
  end(): void {
    if (this.item || this.element || this.depth !== 0) throw new NftDocumentError('listing ended inside an object');
  }

  /** The set or map whose `elem` list starts after `head` (`{"set": {…, "elem": [`). */
  private ownerOf(head: string): NftListingOwner {
    const open = head.lastIndexOf('"elem"');
    const partial = `${head.slice(0, open).replace(/,\s*$/, '')}}}`;
    let parsed: Record<string, Body>;
    try {
      parsed = JSON.parse(partial) as Record<string, Body>;
    } catch (e) {
      throw new NftDocumentError(`not JSON: ${(e as Error).message}`);
    }
    const kind = 'set' in parsed ? 'set' : 'map' in parsed ? 'map' : undefined;
    if (!kind) throw new NftDocumentError(`an elem list outside a set or map: ${partial.slice(0, 200)}`);
    const body = parsed[kind]!;
    return { kind, name: String(body.name), ...(typeof body.family === 'string' ? { family: body.family } : {}), ...(typeof body.table === 'string' ? { table: body.table } : {}) };
  }

  private emitElement(): void {
    const text = this.element!.join('');
    this.element = undefined;
    this.scalar = false;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new NftDocumentError(`not JSON: ${(e as Error).message}`);
    }
    this.sink.element(this.owner!, raw);
  }

  private emitItem(): void {
    const text = this.item!.join('');
    this.item = undefined;
    let parsed: Record<string, Body>;
    try {
      parsed = JSON.parse(text) as Record<string, Body>;
    } catch (e) {
      throw new NftDocumentError(`not JSON: ${(e as Error).message}`);
    }
    this.sink.object(parsed);
  }
}
