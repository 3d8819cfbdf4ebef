// RenderInput -> the nft JSON document (what `svcplane render` prints and synth writes),
// one Service port at a time: each fragment is written to its table's text lines as
// soon as it is rendered, and dropped. Same bytes as serializeTables(renderTables(input))
// (test/backends/nftables/render-text.test.ts checks both on every render fixture and
// at scale). Why: at 10k Services the whole table tree (10^6 small objects) lived until
// serialisation ended, so every young-generation GC copied it; now only strings survive.
//
// The order is assembleTables' then serializeTables': per table, the table, its sets
// (skeleton, then the fragments' in order), its chains (same), every chain's rules in
// chain order, and the elements set by set (skeleton's first, then the fragments' in
// order, each key once). Fragments add only chains, sets and elements, never rules to
// a skeleton chain, so appending per fragment keeps that order.

import type { IPFamily } from '../../model/ip.js';
import type { RenderInput } from '../../model/render-input.js';
import { servicePortViews } from '../../model/service-ports.js';
import { ElementLines, pushRuleLines, tableHead } from './document.js';
import type { NftChain, NftSet, NftTable } from './nft.js';
import { serviceFragment, skeletonTables, TABLE_NAME, tableContext } from './render.js';
import { chainObject, documentOfLines, setObject, tableObject } from './transaction.js';

/** One table's lines by section, filled skeleton first, then fragment by fragment. */
class TableLines {
  readonly sets: string[] = [];
  readonly chains: string[] = [];
  readonly rules: string[] = [];
  /** Element lines per set, in set order: the skeleton's, then the fragments'. */
  readonly elements = new Map<string, ElementLines>();
  readonly head: string;
  used: boolean;

  constructor(readonly table: NftTable) {
    this.head = tableHead(table);
    this.used = table.name === TABLE_NAME;
    for (const s of table.sets) this.addSet(s);
    this.addChains(table.chains);
  }

  addSet(s: NftSet): void {
    this.sets.push(JSON.stringify(setObject(this.table, s)));
    const el = new ElementLines(this.head, s);
    for (const e of s.elements) el.push(e);
    this.elements.set(s.name, el);
  }

  /** Chains declared in order, then their rules (after every earlier chain's rules). */
  addChains(chains: readonly NftChain[]): void {
    for (const c of chains) this.chains.push(JSON.stringify(chainObject(this.table, c)));
    for (const c of chains) pushRuleLines(this.head, c, this.rules);
  }

  /** The table's part of the document: one string holding its lines joined as documentOfLines joins them. */
  text(): string {
    const lines = [JSON.stringify(tableObject(this.table)), ...this.sets, ...this.chains, ...this.rules];
    for (const el of this.elements.values()) for (const l of el.lines) lines.push(l);
    return lines.join(',\n');
  }
}

/** One family's tables as text parts: the main table, then the shards that hold a Service. */
function familyText(input: RenderInput, family: IPFamily): string[] {
  const tc = tableContext(input, family);
  const tables = new Map(skeletonTables(input, tc).map((t) => [t.name, new TableLines(t)]));
  for (const v of servicePortViews(input, family)) {
    const fr = serviceFragment(v, tc);
    const home = tables.get(fr.table)!;
    home.used = true;
    // Affinity sets start empty (the kernel fills them).
    for (const s of fr.sets) home.addSet(s);
    home.addChains(fr.chains);
    for (const e of fr.elements) tables.get(e.table)!.elements.get(e.set)!.push(e.element);
  }
  return [...tables.values()].filter((t) => t.used).map((t) => t.text());
}

/** The whole document for `input`: serializeTables(renderTables(input)), rendered per Service port. */
export function renderDocumentText(input: RenderInput): string {
  return documentOfLines([...familyText(input, 'IPv4'), ...familyText(input, 'IPv6')]);
}
