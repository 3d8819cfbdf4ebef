// NftTable -> our nft JSON document (libnftables-json(5)); read.ts reads it back.
//
// The rendered document lists one object per line (tables, sets, chains, rules,
// then elements one by one), so that a change of one endpoint is a change of a
// few lines in a reviewed diff. `nft -j -f` loads it as is: objects without a
// command are added.

import type { NftChain, NftElement, NftFamily, NftSet, NftTable } from './nft.js';
import { LinePieces, type PartSink } from './line-pieces.js';
import { chainObject, elementObject, METAINFO_LINE, ruleObject, setObject, tableObject, type NftObject } from './transaction.js';

/** JSON with object keys sorted: a canonical form for comparing expressions. */
export function canon(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/**
 * Elements with one key appear once (the first wins): nft refuses duplicates in one
 * batch. Our own elements are built with one key order, so plain JSON identifies them.
 */
export function uniqueElements(s: NftSet): NftElement[] {
  const seen = new Set<string>();
  return s.elements.filter((e) => {
    const k = typeof e.key === 'string' ? e.key : JSON.stringify(e.key);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Every object that builds the tables, in an order nft accepts (definitions before references). */
export function tableObjects(tables: readonly NftTable[]): NftObject[] {
  const out: NftObject[] = [];
  for (const t of tables) {
    out.push(tableObject(t));
    for (const s of t.sets) out.push(setObject(t, s));
    for (const c of t.chains) out.push(chainObject(t, c));
    for (const c of t.chains) for (const r of c.rules) out.push(ruleObject(t, c.name, r));
    for (const s of t.sets) for (const e of uniqueElements(s)) out.push(elementObject(t, s, [e]));
  }
  return out;
}

/** `"family":…,"table":…`: the part every line of a table's objects shares. */
export function tableHead(t: { family: NftFamily; name: string }): string {
  return `"family":${JSON.stringify(t.family)},"table":${JSON.stringify(t.name)}`;
}

/** One line per rule of chain `c`, appended to `out` in parts (line-pieces.ts: the line itself is never made). */
export function pushRuleLines(head: string, c: NftChain, out: PartSink): void {
  const chainPart = `{"rule":{${head},"chain":${JSON.stringify(c.name)},"expr":`;
  for (const r of c.rules) {
    out.open();
    out.put(chainPart);
    out.put(JSON.stringify(r.expr));
    if (r.comment) {
      out.put(',"comment":');
      out.put(JSON.stringify(r.comment));
    }
    out.put('}}');
    out.close();
  }
}

/** The element lines of one set, in order, each key once (the first wins: nft refuses duplicates in one batch). */
export class ElementLines<S extends PartSink = PartSink> {
  private readonly seen = new Set<string>();
  private readonly part: string;
  private readonly map: boolean;

  constructor(
    head: string,
    s: NftSet,
    readonly out: S,
  ) {
    this.part = `{"element":{${head},"name":${JSON.stringify(s.name)},"elem":[`;
    this.map = s.kind === 'map';
  }

  /** uniqueElements and elementValue in one pass: each key is stringified once. */
  push(e: NftElement): void {
    const keyJson = JSON.stringify(e.key);
    const id = typeof e.key === 'string' ? e.key : keyJson;
    if (this.seen.has(id)) return;
    this.seen.add(id);
    // `part` then `[key,value]` (a map) or `key`, where a commented key is `{"elem":{"val":key,"comment":…}}`; in parts.
    const out = this.out;
    out.open();
    out.put(this.part);
    if (this.map) out.put('[');
    if (e.comment) {
      out.put('{"elem":{"val":');
      out.put(keyJson);
      out.put(',"comment":');
      out.put(JSON.stringify(e.comment));
      out.put('}}');
    } else out.put(keyJson);
    if (this.map) {
      out.put(',');
      out.put(JSON.stringify(e.value) ?? 'null');
      out.put(']');
    }
    out.put(']}}');
    out.close();
  }
}

/**
 * The document whose lines are `pieces` joined by ',\n' (documentOfLines' bytes), built
 * by one join: one flat copy of the text, where documentOfLines' join and template make two.
 */
export function documentOfPieces(pieces: readonly string[]): string {
  return documentPieces(pieces).join('');
}

/** The document's parts, to be written one after another: documentOfPieces without its join. */
export function documentPieces(pieces: readonly string[]): string[] {
  const parts = [`{"nftables": [\n${METAINFO_LINE}`];
  for (const p of pieces) parts.push(',\n', p);
  parts.push('\n]}\n');
  return parts;
}

export function serializeTables(tables: readonly NftTable[]): string {
  // Same bytes as transactionText(tableObjects(tables)), without building the
  // intermediate objects: at 10k Services they are 10^5 short-lived objects.
  const lines = new LinePieces();
  for (const t of tables) {
    const head = tableHead(t);
    lines.push(JSON.stringify(tableObject(t)));
    for (const s of t.sets) lines.push(JSON.stringify(setObject(t, s)));
    for (const c of t.chains) lines.push(JSON.stringify(chainObject(t, c)));
    for (const c of t.chains) pushRuleLines(head, c, lines);
    for (const s of t.sets) {
      const elements = new ElementLines(head, s, lines);
      for (const e of s.elements) elements.push(e);
    }
  }
  return documentOfPieces(lines.done());
}
