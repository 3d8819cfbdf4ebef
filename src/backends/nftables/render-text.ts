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
import { dnatTargets, eachServicePortView } from '../../model/service-ports.js';
import { documentPieces, ElementLines, pushRuleLines, tableHead } from './document.js';
import { LinePieces } from './line-pieces.js';
import type { NftChain, NftSet, NftTable } from './nft.js';
import { ENDPOINT_TRAFFIC_SETS } from './endpoint-traffic.js';
import { EndpointTrafficText } from './endpoint-traffic-text.js';
import { HairpinText, pushLoadBalanceLines } from './dnat-text.js';
import { clusterChainName, localChainName, NFT_NAMES, serviceFragment, skeletonTables, TABLE_NAME, tableContext, trafficComment } from './render.js';
import { chainObject, setObject, tableObject } from './transaction.js';

/** One table's lines by section, filled skeleton first, then fragment by fragment. */
class TableLines {
  readonly sets = new LinePieces();
  readonly chains = new LinePieces();
  readonly rules = new LinePieces();
  /** Element lines per set, in set order: the skeleton's, then the fragments'. */
  readonly elements = new Map<string, ElementLines<LinePieces>>();
  readonly head: string;
  private readonly chainStart: string;
  used: boolean;

  constructor(readonly table: NftTable) {
    this.head = tableHead(table);
    this.chainStart = `{"chain":{${this.head},"name":`;
    this.used = table.name === TABLE_NAME;
    for (const s of table.sets) this.addSet(s);
    this.addChains(table.chains);
  }

  addSet(s: NftSet): void {
    this.sets.push(JSON.stringify(setObject(this.table, s)));
    const el = new ElementLines(this.head, s, new LinePieces());
    for (const e of s.elements) el.push(e);
    this.elements.set(s.name, el);
  }

  /**
   * Chains declared in order, then their rules (after every earlier chain's rules);
   * `more(c)` writes the rules of `c` that its object leaves out (the fragment's text parts).
   */
  addChains(chains: readonly NftChain[], more?: (c: NftChain) => void): void {
    for (const c of chains) {
      if (c.base) this.chains.push(JSON.stringify(chainObject(this.table, c)));
      else {
        // chainObject's JSON for a regular chain (one a Service port, 10k-44k of them), without the object.
        this.chains.open();
        this.chains.put(this.chainStart);
        this.chains.put(JSON.stringify(c.name));
        this.chains.put('}}');
        this.chains.close();
      }
    }
    for (const c of chains) {
      pushRuleLines(this.head, c, this.rules);
      more?.(c);
    }
  }

  /** The table's part of the document, as pieces of lines (LinePieces) in document order. */
  pieces(): string[] {
    const out = [JSON.stringify(tableObject(this.table))];
    for (const section of [this.sets, this.chains, this.rules]) out.push(...section.done());
    for (const el of this.elements.values()) out.push(...el.out.done());
    return out;
  }
}

/** One family's tables as pieces: the main table, then the shards that hold a Service. */
function familyPieces(input: RenderInput, family: IPFamily): string[] {
  const tc = tableContext(input, family);
  const tables = new Map(skeletonTables(input, tc).map((t) => [t.name, new TableLines(t)]));
  const main = tables.get(TABLE_NAME)!;
  // The per-endpoint sets' elements, written as text into their sets' places (the skeleton's sets are empty).
  const endpointTraffic = new EndpointTrafficText(main.head, {
    service: main.elements.get(ENDPOINT_TRAFFIC_SETS.service)!.out,
    nodePort: main.elements.get(ENDPOINT_TRAFFIC_SETS.nodePort)!.out,
  });
  const hairpin = new HairpinText(main.head, main.elements.get(NFT_NAMES.hairpin)!.out);
  for (const v of eachServicePortView(input, family)) {
    const fr = serviceFragment(v, tc, false);
    endpointTraffic.add(v, trafficComment(v));
    hairpin.add(dnatTargets(v));
    const home = tables.get(fr.table)!;
    home.used = true;
    // Affinity sets start empty (the kernel fills them).
    for (const s of fr.sets) home.addSet(s);
    // Without affinity the policy chains' load-balancing rules are left to the text (dnat-text.ts).
    const cluster = v.affinitySeconds === 0 ? clusterChainName(v) : undefined;
    const local = v.affinitySeconds === 0 ? localChainName(v) : undefined;
    home.addChains(fr.chains, (c) => {
      if (c.name === cluster) pushLoadBalanceLines(home.head, c.name, v.protocol, v.clusterEndpoints, home.rules);
      else if (c.name === local) pushLoadBalanceLines(home.head, c.name, v.protocol, v.localEndpoints, home.rules);
    });
    for (const e of fr.elements) tables.get(e.table)!.elements.get(e.set)!.push(e.element);
  }
  return [...tables.values()].filter((t) => t.used).flatMap((t) => t.pieces());
}

/** The whole document for `input`: serializeTables(renderTables(input)), rendered per Service port. */
export function renderDocumentText(input: RenderInput): string {
  return renderDocumentPieces(input).join('');
}

/** renderDocumentText's parts, not joined (`svcplane render` writes them in turn). */
export function renderDocumentPieces(input: RenderInput): string[] {
  return documentPieces([...familyPieces(input, 'IPv4'), ...familyPieces(input, 'IPv6')]);
}
