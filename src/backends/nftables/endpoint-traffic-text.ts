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
// under it, each as one string of its endpoints' key fields (`|"ip",port|...|`): kept as
// the lists themselves, they held every endpoint object of the render (10^5 at 10k x 10)
// until its end, and every young GC copied them. An address met again writes only the
// endpoints none of its strings holds. Pure.

import { dnatTargets, type ServicePortView } from '../../model/service-ports.js';
import type { PartSink } from './line-pieces.js';
import { ENDPOINT_TRAFFIC_SETS } from './endpoint-traffic.js';

/** One set's lines: its line head, the endpoint lists written under each address part, the sink. */
class AddressedLines {
  /** Per address part, the endpoint lists written under it, each as `|epText|epText|...|`. */
  private readonly written = new Map<string, string[]>();
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
   * each with the endpoint lists written under it before (none: all of them are new); `list` is this
   * port's endpoints as `|epText|...|`.
   */
  claim(keys: readonly string[], list: string): { start: string; before: string[] | undefined }[] {
    return keys.map((key) => {
      const lists = this.written.get(key);
      // Copied: an address repeated within this port must see this port's list, the others must not.
      const before = lists ? [...lists] : undefined;
      if (lists) lists.push(list);
      else this.written.set(key, [list]);
      return { start: key, before };
    });
  }

  /** The line of address `start` and an endpoint (`epText`: its key fields), unless a list written before holds it. */
  write(start: string, before: string[] | undefined, epText: string, end: string): void {
    // `|` is in no address or port: `|epText|` matches one whole endpoint, never a part of one.
    if (before && before.some((l) => l.includes(`|${epText}|`))) return;
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
    const epTexts = eps.map((ep) => `${JSON.stringify(ep.ip)},${ep.port}`);
    // One flat string (a template around the join would be a cons string, kept as such).
    const list = ['', ...epTexts, ''].join('|');
    const proto = JSON.stringify(v.protocol.toLowerCase());
    const addrs = this.service.claim(
      [v.clusterIP, ...v.externalIPs, ...v.loadBalancerIPs].map((ip) => `{"concat":[${JSON.stringify(ip)},${proto},${v.port},`),
      list,
    );
    const np = v.nodePort !== 0 ? this.nodePort.claim([`{"concat":[${proto},${v.nodePort},`], list)[0] : undefined;
    const end = `]},"comment":${JSON.stringify(comment)}}}]}}`;
    for (const epText of epTexts) {
      for (const a of addrs) this.service.write(a.start, a.before, epText, end);
      if (np) this.nodePort.write(np.start, np.before, epText, end);
    }
  }
}
