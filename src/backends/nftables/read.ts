// The one reader of nft JSON: `nft -j list table|ruleset` output and our rendered
// document (dist/rules/nftables.json, `nft -j -f` input) both become NftTables here,
// for apply and the syncer (the kernel read back), check and `svcplane diff` (two
// documents), and the trace (a document or the kernel).
//
// The two inputs differ in one way: nft lists a set with its elements inside it,
// while the rendered document lists each element as an object of its own after the
// set; those are folded into their set. Handles are dropped. Object kinds we never
// create (flowtables, counters, ...) are left out: in the kernel they are drift the
// full resync removes with the table.

import type { Expr, NftChain, NftElement, NftFamily, NftRule, NftSet, NftTable } from './nft.js';

/** The document is not nft JSON, or is not consistent (elements for a set it does not declare). */
export class NftDocumentError extends Error {
  constructor(message: string) {
    super(`nftables document: ${message}`);
    this.name = 'NftDocumentError';
  }
}

export type Body = Record<string, unknown>;

/** One entry of an `elem` list: a key, `{elem: {val, comment}}`, or in a map `[key, verdict]`. */
export function readElement(kind: NftSet['kind'], raw: unknown): NftElement {
  const pair = kind === 'map' && Array.isArray(raw);
  const k: unknown = pair ? (raw as unknown[])[0] : raw;
  const wrapped = k && typeof k === 'object' && !Array.isArray(k) && 'elem' in k ? (k as { elem: { val: unknown; comment?: string } }).elem : undefined;
  const e: { key: unknown; comment?: string; value?: Expr } = { key: wrapped ? wrapped.val : k };
  if (wrapped?.comment !== undefined) e.comment = wrapped.comment;
  if (pair) e.value = (raw as unknown[])[1] as Expr;
  return e;
}

export function readSet(kind: NftSet['kind'], s: Body): NftSet {
  const flags = (s.flags as string[] | undefined)?.filter((x) => x !== 'dynamic');
  return {
    name: String(s.name),
    kind,
    type: s.type as string | string[],
    ...(s.map !== undefined ? { map: String(s.map) } : {}),
    ...(flags && flags.length ? { flags } : {}),
    ...(s.timeout !== undefined ? { timeout: Number(s.timeout) } : {}),
    ...(s.size !== undefined ? { size: Number(s.size) } : {}),
    ...(Array.isArray(s.stmt) && s.stmt.some((x) => x && typeof x === 'object' && 'counter' in x) ? { counter: true } : {}),
    elements: ((s.elem as unknown[] | undefined) ?? []).map((raw) => readElement(kind, raw)),
  };
}

/**
 * A rule's counter statement with its values zeroed, as render writes it: the
 * kernel's counts are traffic, not rules, so diff, check and trace never see them
 * (counters.ts reads them from the raw listing).
 */
export function zeroCounters(expr: Expr[]): Expr[] {
  return expr.some((x) => x && typeof x === 'object' && 'counter' in x) ? expr.map((x) => ('counter' in x ? { counter: { packets: 0, bytes: 0 } } : x)) : expr;
}

/** A listed rule as render writes it: its expressions (counters zeroed) and comment. */
export function readRule(r: Body): NftRule {
  const expr = zeroCounters(r.expr as Expr[]);
  return r.comment !== undefined ? { expr, comment: String(r.comment) } : { expr };
}

export function readChain(c: Body): NftChain {
  const base = c.hook ? ({ type: c.type, hook: c.hook, prio: c.prio, policy: c.policy } as NftChain['base']) : undefined;
  return base ? { name: String(c.name), base, rules: [] } : { name: String(c.name), rules: [] };
}

/**
 * The tables `wanted` accepts (all by default), in the order the document lists
 * them; one pass. Throws NftDocumentError for text that is not JSON, and for
 * elements of a set or table the document does not declare before them.
 */
export function readNftDocument(json: string, wanted: (family: NftFamily, name: string) => boolean = () => true): NftTable[] {
  let doc: { nftables?: Record<string, Body>[] };
  try {
    doc = JSON.parse(json) as typeof doc;
  } catch (e) {
    throw new NftDocumentError(`not JSON: ${(e as Error).message}`);
  }
  const tables = new Map<string, { table: NftTable; chains: Map<string, NftChain>; sets: Map<string, NftSet> }>();
  const id = (family: unknown, name: unknown) => `${String(family)} ${String(name)}`;
  const declared = new Set<string>();
  for (const o of doc.nftables ?? []) {
    if (o.table) {
      const family = o.table.family as NftFamily;
      const name = String(o.table.name);
      declared.add(id(family, name));
      if (wanted(family, name)) tables.set(id(family, name), { table: { family, name, chains: [], sets: [] }, chains: new Map(), sets: new Map() });
      continue;
    }
    const body = o.chain ?? o.set ?? o.map ?? o.rule ?? o.element;
    if (!body) continue;
    const t = tables.get(id(body.family, body.table));
    if (!t) {
      if (o.element && !declared.has(id(body.family, body.table))) throw new NftDocumentError(`elements for set ${JSON.stringify(body.name)} of table ${id(body.family, body.table)}, which the document does not declare`);
      continue;
    }
    if (o.chain) {
      const ch = readChain(o.chain);
      t.chains.set(ch.name, ch);
      t.table.chains.push(ch);
    } else if (o.set || o.map) {
      const set = readSet(o.set ? 'set' : 'map', body);
      t.sets.set(set.name, set);
      t.table.sets.push(set);
    } else if (o.rule) {
      const ch = t.chains.get(String(o.rule.chain));
      if (ch) ch.rules.push(readRule(o.rule));
    } else {
      const set = t.sets.get(String(body.name));
      if (!set) throw new NftDocumentError(`elements for set ${JSON.stringify(body.name)}, which table ${t.table.name} does not declare`);
      for (const raw of (body.elem as unknown[] | undefined) ?? []) set.elements.push(readElement(set.kind, raw));
    }
  }
  return [...tables.values()].map((t) => t.table);
}

/** One table of a document (`nft -j list table FAMILY NAME` output); undefined when it lists no such table. */
export function readNftTable(json: string, family: NftFamily, name: string): NftTable | undefined {
  return readNftDocument(json, (f, n) => f === family && n === name)[0];
}
