// An nft JSON transaction, typed (libnftables-json(5)): the objects we write (table,
// chain, rule, set, map, element), the verbs that act on them, and the text sent to
// `nft -j -f -`. Every command the backend sends is built here; the rendered
// document is these objects too (document.ts writes the same bytes without
// building them, which a test checks). read.ts is the way back.
//
// Each body's keys are listed in the order nft prints them back and in the order
// this backend has always written them: the bytes sent (and dist/nftables.json) do
// not depend on how the objects were typed.

import type { Expr, NftBaseChain, NftChain, NftElement, NftFamily, NftRule, NftSet } from './nft.js';

/** A table named by family and name: the body of a table object. */
export interface NftTableRef {
  readonly family: NftFamily;
  readonly name: string;
}

/** Where every object but a table lives. */
interface InTable {
  readonly family: NftFamily;
  readonly table: string;
}

export interface NftSetBody extends InTable {
  readonly name: string;
  readonly type: string | readonly string[];
  readonly map?: string;
  readonly flags?: readonly string[];
  readonly timeout?: number;
  readonly size?: number;
  /** `[{counter: null}]`: every element carries a counter (nft's per-element statement). */
  readonly stmt?: readonly { readonly counter: null }[];
}

/** A chain; a base chain also carries its type, hook, priority and policy. */
export interface NftChainBody extends InTable, Partial<NftBaseChain> {
  readonly name: string;
}

export interface NftRuleBody extends InTable {
  readonly chain: string;
  readonly expr: readonly Expr[];
  readonly comment?: string;
}

export interface NftElementBody extends InTable {
  /** The set or map the elements belong to. */
  readonly name: string;
  /** Each a key (possibly `{elem: {val, comment}}`), or `[key, verdict]` in a map. */
  readonly elem: readonly unknown[];
}

export type NftObject =
  | { readonly table: NftTableRef }
  | { readonly chain: NftChainBody }
  | { readonly rule: NftRuleBody }
  | { readonly set: NftSetBody }
  | { readonly map: NftSetBody }
  | { readonly element: NftElementBody };

export type NftVerb = 'add' | 'create' | 'insert' | 'replace' | 'delete' | 'destroy' | 'flush';

/** One command: a verb applied to one object, `{"add": {"chain": {...}}}`. */
export type NftCommand = { readonly [V in NftVerb]: { readonly [K in V]: NftObject } }[NftVerb];

/** What a document lists: commands, or bare objects (which `nft -j -f` adds). */
export type NftDocumentItem = NftObject | NftCommand;

// ---- objects ---------------------------------------------------------------

export function tableObject(t: NftTableRef): NftObject {
  return { table: { family: t.family, name: t.name } };
}

export function setObject(t: NftTableRef, s: NftSet): NftObject {
  const body: { -readonly [K in keyof NftSetBody]: NftSetBody[K] } = { family: t.family, table: t.name, name: s.name, type: s.type };
  if (s.map) body.map = s.map;
  if (s.flags?.length) body.flags = s.flags;
  if (s.timeout !== undefined) body.timeout = s.timeout;
  if (s.size !== undefined) body.size = s.size;
  if (s.counter) body.stmt = [{ counter: null }];
  return s.kind === 'map' ? { map: body } : { set: body };
}

export function chainObject(t: NftTableRef, c: NftChain): NftObject {
  return { chain: c.base ? { family: t.family, table: t.name, name: c.name, ...c.base } : { family: t.family, table: t.name, name: c.name } };
}

export function ruleObject(t: NftTableRef, chain: string, r: NftRule): NftObject {
  return { rule: r.comment ? { family: t.family, table: t.name, chain, expr: r.expr, comment: r.comment } : { family: t.family, table: t.name, chain, expr: r.expr } };
}

/** An element as it is written in an `elem` list: the key (with its comment), and in a map the verdict. */
export function elementValue(s: NftSet, e: NftElement): unknown {
  const key = e.comment ? { elem: { val: e.key, comment: e.comment } } : e.key;
  return s.kind === 'map' ? [key, e.value] : key;
}

export function elementObject(t: NftTableRef, s: NftSet, elems: readonly NftElement[]): NftObject {
  return { element: { family: t.family, table: t.name, name: s.name, elem: elems.map((e) => elementValue(s, e)) } };
}

// ---- commands --------------------------------------------------------------

export function command<V extends NftVerb>(verb: V, object: NftObject): NftCommand {
  return { [verb]: object } as { [K in V]: NftObject } as NftCommand;
}

export const add = (o: NftObject): NftCommand => ({ add: o });
export const del = (o: NftObject): NftCommand => ({ delete: o });
export const flush = (o: NftObject): NftCommand => ({ flush: o });

/** The verb and the object of a command. */
export function parts(c: NftCommand): { verb: NftVerb; object: NftObject } {
  for (const verb in c) return { verb: verb as NftVerb, object: (c as Record<NftVerb, NftObject>)[verb as NftVerb] };
  throw new Error('nft command without a verb');
}

// ---- text ------------------------------------------------------------------

/** The first line of every document we write. */
export const METAINFO_LINE = JSON.stringify({ metainfo: { json_schema_version: 1 } });

/** A document from lines that are already JSON objects, one per line. */
export function documentOfLines(lines: readonly string[]): string {
  return `{"nftables": [\n${[METAINFO_LINE, ...lines].join(',\n')}\n]}\n`;
}

/** The text `nft -j -f -` reads: the items in order, one per line (one transaction: all or nothing). */
export function transactionText(items: readonly NftDocumentItem[]): string {
  return documentOfLines(items.map((o) => JSON.stringify(o)));
}

/**
 * The text of some items as a piece of a transaction: each line preceded by the
 * separator, so `transactionChunks` of the pieces is `transactionText` of all the
 * items. A full sync at 10k Services sends ~50 MB: built whole, the commands, the
 * line of each and the joined text were all alive at once; built per table, only
 * one table's are.
 */
export function transactionPiece(items: readonly NftDocumentItem[]): string {
  return [...transactionPieces(items, Infinity)].join('');
}

/** About how long (characters) a piece of transactionPieces grows before it is handed on. */
export const PIECE_CHARS = 1 << 18;

/**
 * The same text as transactionPiece, in pieces of about `maxChars`, each made only
 * when the reader pulls it. The main table at 10k Services is ~12 M characters, most
 * of it three `add element` lines of 10^4-10^5 elements each: one such line is
 * written element by element (the same bytes as JSON.stringify of the whole command),
 * so no piece, and no line, of the table's text is ever alive whole.
 */
export function* transactionPieces(items: Iterable<NftDocumentItem>, maxChars = PIECE_CHARS): Generator<string> {
  let piece = '';
  for (const o of items) {
    const split = elementLineEnds(o);
    if (!split) piece += `,\n${JSON.stringify(o)}`;
    else {
      piece += `,\n${split.head}`;
      for (let i = 0; i < split.elem.length; i++) {
        piece += i ? `,${JSON.stringify(split.elem[i])}` : JSON.stringify(split.elem[i]);
        if (piece.length >= maxChars) {
          yield piece;
          piece = '';
        }
      }
      piece += split.tail;
    }
    if (piece.length >= maxChars) {
      yield piece;
      piece = '';
    }
  }
  if (piece) yield piece;
}

/** From how many elements an element line is written element by element. */
const LONG_ELEMENT_LIST = 64;

/**
 * An `element` command cut around its list: the text before the list's first element
 * (ending in `[`), the elements, and the text after the last (`]}}}`). The body's keys
 * are family, table, name, elem (elementObject), so the list is the last thing in the
 * line; undefined for any other command (or should that order ever change).
 */
function elementLineEnds(o: NftDocumentItem): { head: string; elem: readonly unknown[]; tail: string } | undefined {
  const verb = Object.keys(o)[0];
  if (verb === undefined || Object.keys(o).length !== 1) return undefined;
  const object = (o as Record<string, unknown>)[verb] as { element?: NftElementBody } | undefined;
  const body = object?.element;
  // A short list is written whole (a full load's one-element lines: cutting them costs time, saves nothing).
  if (!body || typeof body !== 'object' || !Array.isArray(body.elem) || body.elem.length < LONG_ELEMENT_LIST || Object.keys(object).length !== 1) return undefined;
  const empty = JSON.stringify({ [verb]: { element: { ...body, elem: [] } } });
  const tail = ']}}}';
  if (!empty.endsWith(`"elem":[${tail}`)) return undefined;
  return { head: empty.slice(0, -tail.length), elem: body.elem, tail };
}

/** The document around the pieces, in order, produced as the reader pulls them (a tool's stdin: Command.inputChunks). */
export function* transactionChunks(pieces: Iterable<string>): Generator<string> {
  yield `{"nftables": [\n${METAINFO_LINE}`;
  yield* pieces;
  yield '\n]}\n';
}
