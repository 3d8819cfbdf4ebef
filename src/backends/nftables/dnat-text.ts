// The per-endpoint lines of a Service port that render.ts writes as objects, written
// straight as text for render-text: the policy chains' load-balancing rules without
// affinity (`numgen random mod n-i == 0 meta l4proto tcp counter dnat to IP:PORT`, as
// loadBalanceRules) and the hairpin set's elements (`ip . ip` per endpoint address, each
// once, as ElementLines). Same lines, same order as document.ts writes for the objects
// (render-text.test.ts checks both renders on random Services with every feature).
// Why: at 10k Services x 10 endpoints they are 200k of the document's ~600k lines; as
// objects each cost ~10 small objects and a JSON.stringify, plus a dedupe key string per
// hairpin element. Here a line is one template of strings made once per chain or endpoint.
// Pure.

import type { EndpointTarget } from '../../model/service-ports.js';
import { AddressSet } from './address-set.js';
import type { PartSink } from './line-pieces.js';
import { NFT_NAMES } from './render.js';

/** nft.ts's numgenMod(left, 0) as JSON text with the separator after it, by `left` (made once each). */
const picks: string[] = [];
function pickText(left: number): string {
  return (picks[left] ??= `{"match":{"op":"==","left":{"numgen":{"mode":"random","mod":${left},"offset":0}},"right":0}},`);
}

/**
 * loadBalanceRules(v, eps) without affinity, as rule lines of chain `chain` in the table of
 * `tableHead`: endpoint i of n taken with `numgen random mod (n-i) == 0`, the last one always.
 */
export function pushLoadBalanceLines(tableHead: string, chain: string, protocol: string, eps: readonly EndpointTarget[], out: PartSink): void {
  const start = `{"rule":{${tableHead},"chain":${JSON.stringify(chain)},"expr":[`;
  // l4proto(proto), counter(), then dnat(ip, port): the part before the address is the same for every endpoint.
  const action = `{"match":{"op":"==","left":{"meta":{"key":"l4proto"}},"right":${JSON.stringify(protocol.toLowerCase())}}},{"counter":{"packets":0,"bytes":0}},{"dnat":{"addr":`;
  for (let i = 0; i < eps.length; i++) {
    const ep = eps[i]!;
    const left = eps.length - i;
    const port = String(ep.port);
    out.open();
    out.put(start);
    if (left > 1) out.put(pickText(left));
    out.put(action);
    out.put(JSON.stringify(ep.ip));
    out.put(',"port":');
    out.put(port);
    out.put('}}],"comment":');
    out.put(JSON.stringify(`${ep.ip}:${port}`));
    out.put('}}');
    out.close();
  }
}

/** The hairpin set's element lines of one table: `{ concat: [ip, ip] }` per endpoint address, the first of each address only. */
export class HairpinText {
  /** The addresses written: an address is the whole key, so it identifies the element. */
  private readonly seen = new AddressSet();
  private readonly head: string;

  constructor(
    tableHead: string,
    private readonly out: PartSink,
  ) {
    this.head = `{"element":{${tableHead},"name":${JSON.stringify(NFT_NAMES.hairpin)},"elem":[{"concat":[`;
  }

  add(eps: readonly EndpointTarget[]): void {
    for (const ep of eps) {
      if (!this.seen.add(ep.ip)) continue;
      const ip = JSON.stringify(ep.ip);
      this.out.open();
      this.out.put(this.head);
      this.out.put(ip);
      this.out.put(',');
      this.out.put(ip);
      this.out.put(']}]}}');
      this.out.close();
    }
  }
}
