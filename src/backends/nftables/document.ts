// NftTable <-> nft JSON (libnftables-json(5)).
//
// The rendered document lists one object per line (tables, sets, chains, rules,
// then elements one by one), so that a change of one endpoint is a change of a
// few lines in a reviewed diff. `nft -j -f` loads it as is: objects without a
// command are added.

import type { Expr, NftChain, NftElement, NftFamily, NftRule, NftSet, NftTable } from './nft.js';

/** JSON with object keys sorted: a canonical form for comparing expressions. */
export function canon(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export function tableObject(t: { family: NftFamily; name: string }): Record<string, unknown> {
  return { table: { family: t.family, name: t.name } };
}

export function setObject(t: NftTable, s: NftSet): Record<string, unknown> {
  const body: Record<string, unknown> = { family: t.family, table: t.name, name: s.name, type: s.type };
  if (s.map) body.map = s.map;
  if (s.flags?.length) body.flags = s.flags;
  if (s.timeout !== undefined) body.timeout = s.timeout;
  if (s.size !== undefined) body.size = s.size;
  if (s.counter) body.stmt = [{ counter: null }];
  return { [s.kind]: body };
}

export function chainObject(t: NftTable, c: NftChain): Record<string, unknown> {
  const body: Record<string, unknown> = { family: t.family, table: t.name, name: c.name };
  if (c.base) Object.assign(body, c.base);
  return { chain: body };
}

export function ruleObject(t: NftTable, chain: string, r: NftRule): Record<string, unknown> {
  const body: Record<string, unknown> = { family: t.family, table: t.name, chain, expr: r.expr };
  if (r.comment) body.comment = r.comment;
  return { rule: body };
}

export function elementValue(s: NftSet, e: NftElement): unknown {
  const key = e.comment ? { elem: { val: e.key, comment: e.comment } } : e.key;
  return s.kind === 'map' ? [key, e.value] : key;
}

export function elementObject(t: NftTable, s: NftSet, elems: readonly NftElement[]): Record<string, unknown> {
  return { element: { family: t.family, table: t.name, name: s.name, elem: elems.map((e) => elementValue(s, e)) } };
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
export function tableObjects(tables: readonly NftTable[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const t of tables) {
    out.push(tableObject(t));
    for (const s of t.sets) out.push(setObject(t, s));
    for (const c of t.chains) out.push(chainObject(t, c));
    for (const c of t.chains) for (const r of c.rules) out.push(ruleObject(t, c.name, r));
    for (const s of t.sets) for (const e of uniqueElements(s)) out.push(elementObject(t, s, [e]));
  }
  return out;
}

/** A JSON document, one object per line. */
export function documentText(objects: readonly unknown[]): string {
  const lines = [JSON.stringify({ metainfo: { json_schema_version: 1 } }), ...objects.map((o) => JSON.stringify(o))];
  return `{"nftables": [\n${lines.join(',\n')}\n]}\n`;
}

export function serializeTables(tables: readonly NftTable[]): string {
  // Same bytes as documentText(tableObjects(tables)), without building the
  // intermediate objects: at 10k Services they are 10^5 short-lived objects.
  const lines: string[] = [JSON.stringify({ metainfo: { json_schema_version: 1 } })];
  for (const t of tables) {
    const head = `"family":${JSON.stringify(t.family)},"table":${JSON.stringify(t.name)}`;
    lines.push(JSON.stringify(tableObject(t)));
    for (const s of t.sets) lines.push(JSON.stringify(setObject(t, s)));
    for (const c of t.chains) lines.push(JSON.stringify(chainObject(t, c)));
    for (const c of t.chains) {
      const chainPart = `{"rule":{${head},"chain":${JSON.stringify(c.name)},"expr":`;
      for (const r of c.rules) {
        lines.push(`${chainPart}${JSON.stringify(r.expr)}${r.comment ? `,"comment":${JSON.stringify(r.comment)}` : ''}}}`);
      }
    }
    for (const s of t.sets) {
      const setPart = `{"element":{${head},"name":${JSON.stringify(s.name)},"elem":[`;
      for (const e of uniqueElements(s)) lines.push(`${setPart}${JSON.stringify(elementValue(s, e))}]}}`);
    }
  }
  return `{"nftables": [\n${lines.join(',\n')}\n]}\n`;
}

// ---- reading the live table back ------------------------------------------

interface LiveElem {
  key: unknown;
  comment?: string;
}

function parseElemKey(raw: unknown): LiveElem {
  if (raw && typeof raw === 'object' && !Array.isArray(raw) && 'elem' in raw) {
    const e = (raw as { elem: { val: unknown; comment?: string } }).elem;
    return e.comment !== undefined ? { key: e.val, comment: e.comment } : { key: e.val };
  }
  return { key: raw };
}

/**
 * Parses `nft -j list table FAMILY NAME` output into an NftTable (handles
 * dropped). Unknown object kinds (flowtables, counters) are kept out: we never
 * create them, so their presence is drift the full resync removes with the table.
 */
export function parseLiveTable(json: string, family: NftFamily, name: string): NftTable | undefined {
  return parseLiveTables(json, (f, n) => f === family && n === name)[0];
}

/**
 * Parses `nft -j list ruleset` (or `list table`) output into the tables `wanted`
 * accepts, in the order the output lists them; one pass over the document.
 */
export function parseLiveTables(json: string, wanted: (family: NftFamily, name: string) => boolean): NftTable[] {
  const doc = JSON.parse(json) as { nftables?: Record<string, Record<string, unknown>>[] };
  const tables = new Map<string, { table: NftTable; chains: Map<string, NftChain> }>();
  const id = (family: unknown, name: unknown) => `${String(family)} ${String(name)}`;
  for (const o of doc.nftables ?? []) {
    if (o.table) {
      const family = o.table.family as NftFamily;
      const name = String(o.table.name);
      if (wanted(family, name)) tables.set(id(family, name), { table: { family, name, chains: [], sets: [] }, chains: new Map() });
      continue;
    }
    const body = o.chain ?? o.set ?? o.map ?? o.rule;
    if (!body) continue;
    const t = tables.get(id(body.family, body.table));
    if (!t) continue;
    const table = t.table;
    if (o.chain) {
      const c = o.chain;
      const base = c.hook
        ? ({ type: c.type, hook: c.hook, prio: c.prio, policy: c.policy } as NftChain['base'])
        : undefined;
      const ch: NftChain = base ? { name: String(c.name), base, rules: [] } : { name: String(c.name), rules: [] };
      t.chains.set(ch.name, ch);
      table.chains.push(ch);
    } else if (o.set || o.map) {
      const s = (o.set ?? o.map)!;
      const kind = o.set ? 'set' : 'map';
      const flags = (s.flags as string[] | undefined)?.filter((x) => x !== 'dynamic');
      const elements: NftElement[] = ((s.elem as unknown[] | undefined) ?? []).map((raw) => {
        if (kind === 'map' && Array.isArray(raw)) {
          const k = parseElemKey(raw[0]);
          return { ...k, value: raw[1] as Expr };
        }
        return parseElemKey(raw);
      });
      const set: NftSet = {
        name: String(s.name),
        kind,
        type: s.type as string | string[],
        ...(s.map !== undefined ? { map: String(s.map) } : {}),
        ...(flags && flags.length ? { flags } : {}),
        ...(s.timeout !== undefined ? { timeout: Number(s.timeout) } : {}),
        ...(s.size !== undefined ? { size: Number(s.size) } : {}),
        ...(Array.isArray(s.stmt) && s.stmt.some((x) => x && typeof x === 'object' && 'counter' in x) ? { counter: true } : {}),
        elements,
      };
      table.sets.push(set);
    } else if (o.rule) {
      const r = o.rule;
      const ch = t.chains.get(String(r.chain));
      if (!ch) continue;
      ch.rules.push(r.comment !== undefined ? { expr: r.expr as Expr[], comment: String(r.comment) } : { expr: r.expr as Expr[] });
    }
  }
  return [...tables.values()].map((t) => t.table);
}
