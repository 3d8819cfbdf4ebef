// Our nftables document (`svcplane render --backend nftables`, dist/rules/nftables.json)
// back into tables: the same reader as for `nft -j list table`, plus the element
// objects the rendered document lists one by one.

import { parseLiveTable } from '../backends/nftables/document.js';
import type { NftFamily, NftTable } from '../backends/nftables/nft.js';
import { TABLE_NAME } from '../backends/nftables/render.js';
import { TraceError } from './result.js';

export function parseNftDocument(text: string, family: NftFamily): NftTable | undefined {
  let doc: { nftables?: Record<string, Record<string, unknown>>[] };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch (e) {
    throw new TraceError(`nftables document: not JSON: ${(e as Error).message}`);
  }
  const table = parseLiveTable(text, family, TABLE_NAME);
  if (!table) return undefined;
  const sets = new Map(table.sets.map((s) => [s.name, s]));
  for (const o of doc.nftables ?? []) {
    const el = o.element as { family?: string; table?: string; name?: string; elem?: unknown[] } | undefined;
    if (!el || el.family !== family || el.table !== TABLE_NAME) continue;
    const set = sets.get(String(el.name));
    if (!set) throw new TraceError(`nftables document: elements for set ${JSON.stringify(el.name)}, which is not declared`);
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
  return table;
}
