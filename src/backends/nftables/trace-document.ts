// Our nftables document (`svcplane render --backend nftables`, dist/rules/nftables.json)
// back into tables: the same reader as for `nft -j list table`, plus the element
// objects the rendered document lists one by one. Every table of ours in the
// family is read (the main table and any shard tables).

import { parseLiveTable } from './document.js';
import type { NftFamily, NftTable } from './nft.js';
import { isOurTable } from './trace.js';
import { TraceError } from '../trace-result.js';

export function parseNftDocument(text: string, family: NftFamily): NftTable[] {
  let doc: { nftables?: Record<string, Record<string, unknown>>[] };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch (e) {
    throw new TraceError(`nftables document: not JSON: ${(e as Error).message}`);
  }
  const names = (doc.nftables ?? []).flatMap((o) => (o.table && o.table.family === family && isOurTable(String(o.table.name)) ? [String(o.table.name)] : []));
  const tables = [...new Set(names)].map((name) => parseLiveTable(text, family, name)!);
  const byName = new Map(tables.map((t) => [t.name, new Map(t.sets.map((s) => [s.name, s]))]));
  for (const o of doc.nftables ?? []) {
    const el = o.element as { family?: string; table?: string; name?: string; elem?: unknown[] } | undefined;
    if (!el || el.family !== family || !byName.has(String(el.table))) continue;
    const set = byName.get(String(el.table))!.get(String(el.name));
    if (!set) throw new TraceError(`nftables document: elements for set ${JSON.stringify(el.name)}, which table ${String(el.table)} does not declare`);
    for (const raw of el.elem ?? []) {
      const [k, value] = set.kind === 'map' && Array.isArray(raw) ? [raw[0], raw[1]] : [raw, undefined];
      const unwrapped = k && typeof k === 'object' && 'elem' in k ? (k as { elem: { val: unknown; comment?: string } }).elem : undefined;
      set.elements.push({
        key: unwrapped ? unwrapped.val : k,
        ...(value !== undefined ? { value: value as Record<string, unknown> } : {}),
        ...(unwrapped?.comment !== undefined ? { comment: unwrapped.comment } : {}),
      });
    }
  }
  return tables;
}
