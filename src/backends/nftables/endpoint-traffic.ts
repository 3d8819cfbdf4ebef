// Packets and bytes per endpoint: two counted sets in the main table, filled per
// Service port with one element per (Service address, endpoint) pair, matched in the
// count-traffic chain (after DNAT, every packet of a DNATed connection, both
// directions) on what conntrack knows of the connection: its original destination
// (the Service address and port, or the node port) and its reply source (the
// endpoint the connection was DNATed to, whatever masquerading did to the source).
//   endpoint-traffic            ct original ip daddr . meta l4proto . ct original proto-dst . ct reply ip saddr . ct reply proto-src
//   nodeport-endpoint-traffic   meta l4proto . ct original proto-dst . ct reply ip saddr . ct reply proto-src
// One lookup per packet of a Service connection (two for node ports: the first misses),
// beside the per-Service lookup count-traffic already does; no verdicts. Elements carry
// the Service port's traffic comment: counters.ts names the series from it, preserve.ts
// finds the owner of a skipped Service's elements by it. Pure.

import { dnatTargets, type ServicePortView } from '../../model/service-ports.js';
import { concat, l4proto, match, meta, type Expr, type NftElement, type NftFamily, type NftRule, type NftSet } from './nft.js';

export const ENDPOINT_TRAFFIC_SETS = { service: 'endpoint-traffic', nodePort: 'nodeport-endpoint-traffic' } as const;

const ct = (dir: 'original' | 'reply', key: string): Expr => ({ ct: { key, dir } });
const addrType = (f: NftFamily) => (f === 'ip' ? 'ipv4_addr' : 'ipv6_addr');

/** The two sets' declarations (empty: the Service fragments bring the elements). */
export function endpointTrafficSets(f: NftFamily): NftSet[] {
  const a = addrType(f);
  return [
    { name: ENDPOINT_TRAFFIC_SETS.service, kind: 'set', type: [a, 'inet_proto', 'inet_service', a, 'inet_service'], counter: true, elements: [] },
    { name: ENDPOINT_TRAFFIC_SETS.nodePort, kind: 'set', type: ['inet_proto', 'inet_service', a, 'inet_service'], counter: true, elements: [] },
  ];
}

/** The key's endpoint half: who answered the connection (conntrack's reply source). */
const endpointHalf = (f: NftFamily): Expr[] => [ct('reply', `${f} saddr`), ct('reply', 'proto-src')];

/**
 * The counting rules of one protocol (`l4proto` first: nft types `proto-dst`/`proto-src`
 * from it). No verdict: the packet goes on to the per-Service counters.
 */
export function endpointTrafficRules(f: NftFamily, proto: string): { service: NftRule; nodePort: NftRule } {
  const lookup = (key: Expr[], set: string): NftRule => ({ expr: [l4proto(proto), match(concat(...key), '==', `@${set}`)] });
  return {
    service: lookup([ct('original', `${f} daddr`), meta('l4proto'), ct('original', 'proto-dst'), ...endpointHalf(f)], ENDPOINT_TRAFFIC_SETS.service),
    nodePort: lookup([meta('l4proto'), ct('original', 'proto-dst'), ...endpointHalf(f)], ENDPOINT_TRAFFIC_SETS.nodePort),
  };
}

/** One element per (Service address or node port, endpoint) of the Service port. */
export function endpointTrafficElements(v: ServicePortView, comment: string): { set: string; element: NftElement }[] {
  const proto = v.protocol.toLowerCase();
  const out: { set: string; element: NftElement }[] = [];
  for (const ep of dnatTargets(v)) {
    for (const ip of [v.clusterIP, ...v.externalIPs, ...v.loadBalancerIPs]) {
      out.push({ set: ENDPOINT_TRAFFIC_SETS.service, element: { key: { concat: [ip, proto, v.port, ep.ip, ep.port] }, comment } });
    }
    if (v.nodePort !== 0) out.push({ set: ENDPOINT_TRAFFIC_SETS.nodePort, element: { key: { concat: [proto, v.nodePort, ep.ip, ep.port] }, comment } });
  }
  return out;
}
