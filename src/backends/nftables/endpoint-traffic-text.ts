// The per-endpoint counted sets' element lines (endpoint-traffic.ts) written straight as
// text: the same lines, in the same order, as ElementLines writes for
// endpointTrafficElements' objects, each key once (the first wins). Why: at 10k Services
// x 10 endpoints they are 100k elements, a fifth of the render's lines; as objects each
// cost a key object, a concat array and an element, a JSON.stringify and a key string
// kept for dedupe. Here a Service address's part of the line is made once and each
// endpoint's once per Service port, and a line is their concatenation.
//
// Dedupe without a string per element: a Service port's endpoints are distinct
// (dnatTargets), so a key can repeat only when a Service address (address . proto .
// port, or proto . node port) does. Each address remembers the endpoint lists written
// under it; an address met again writes only the endpoints none of them holds. Pure.

import { dnatTargets, type EndpointTarget, type ServicePortView } from '../../model/service-ports.js';
import type { PartSink } from './line-pieces.js';
import { ENDPOINT_TRAFFIC_SETS } from './endpoint-traffic.js';

/** One set's lines: its line head, the endpoint lists written under each address part, the sink. */
class AddressedLines {
  private readonly written = new Map<string, (readonly EndpointTarget[])[]>();
  private readonly head: string;

  constructor(
    tableHead: string,
    set: string,
    private readonly out: PartSink,
  ) {
    this.head = `{"element":{${tableHead},"name":${JSON.stringify(set)},"elem":[{"elem":{"val":`;
  }

  /**
   * The addresses (`key` = the key's text up to the endpoint fields, what a line has after the head),
   * each with the endpoint lists written under it before (none: all of them are new).
   */
  claim(keys: readonly string[], eps: readonly EndpointTarget[]): { start: string; before: (readonly EndpointTarget[])[] | undefined }[] {
    return keys.map((key) => {
      const lists = this.written.get(key);
      // Copied: an address repeated within this port must see this port's list, the others must not.
      const before = lists ? [...lists] : undefined;
      if (lists) lists.push(eps);
      else this.written.set(key, [eps]);
      return { start: key, before };
    });
  }

  /** The line of address `start` and endpoint `ep` (`epText`: its key fields), unless a list written before holds `ep`. */
  write(start: string, before: (readonly EndpointTarget[])[] | undefined, ep: EndpointTarget, epText: string, end: string): void {
    if (before && before.some((l) => l.some((o) => o.ip === ep.ip && o.port === ep.port))) return;
    // In parts (line-pieces.ts): the line itself is never made.
    this.out.open();
    this.out.put(this.head);
    this.out.put(start);
    this.out.put(epText);
    this.out.put(end);
    this.out.close();
  }
}

/** Both sets of one table (the main table of a family). */
export class EndpointTrafficText {
  private readonly service: AddressedLines;
  private readonly nodePort: AddressedLines;

  constructor(tableHead: string, sinks: { service: PartSink; nodePort: PartSink }) {
    this.service = new AddressedLines(tableHead, ENDPOINT_TRAFFIC_SETS.service, sinks.service);
    this.nodePort = new AddressedLines(tableHead, ENDPOINT_TRAFFIC_SETS.nodePort, sinks.nodePort);
  }

  /** endpointTrafficElements(v, comment), written: per endpoint, each Service address, then the node port. */
  add(v: ServicePortView, comment: string): void {
    const eps = dnatTargets(v);
    if (eps.length === 0) return;
    const proto = JSON.stringify(v.protocol.toLowerCase());
    const addrs = this.service.claim(
      [v.clusterIP, ...v.externalIPs, ...v.loadBalancerIPs].map((ip) => `{"concat":[${JSON.stringify(ip)},${proto},${v.port},`),
      eps,
    );
    const np = v.nodePort !== 0 ? this.nodePort.claim([`{"concat":[${proto},${v.nodePort},`], eps)[0] : undefined;
    const end = `]},"comment":${JSON.stringify(comment)}}}]}}`;
    for (const ep of eps) {
      const epText = `${JSON.stringify(ep.ip)},${ep.port}`;
      for (const a of addrs) this.service.write(a.start, a.before, ep, epText, end);
      if (np) this.nodePort.write(np.start, np.before, ep, epText, end);
    }
  }
}
