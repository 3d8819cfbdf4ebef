// The small nftables table that sends Service traffic to the relay's listeners (pure):
// `redirect` rewrites the destination to this node (the incoming interface's address,
// 127.0.0.1 / ::1 for the node's own traffic) and the listener's port, so the relay
// accepts connections addressed to ClusterIPs, external IPs and load-balancer IPs.
// Node ports need no rule: the relay binds them itself.
//
//   table ip svcplane-userspace
//     map ports        addr . proto . port : listener port      (nat prerouting + output: redirect)
//     set reject       addr . proto . port   no endpoint at all (filter: ICMP port unreachable)
//     set drop         addr . proto . port   none for this traffic policy here (filter: drop)
//     set firewall-ips / firewall-allow       loadBalancerSourceRanges (filter prerouting: drop others)
//
// The whole table is replaced in one transaction (`add; delete; add ...`): it is small,
// and NAT is decided on a connection's first packet, so established connections keep
// their redirect whatever the table becomes.

import { addrValue, concat, daddr, drop, match, meta, reject, saddr, thDport, type Expr, type NftFamily } from '../backends/nftables/nft.js';
import { del, tableObject, type NftDocumentItem, type NftSetBody } from '../backends/nftables/transaction.js';
import type { IPFamily } from '../model/ip.js';
import type { PortPlan } from './plan.js';

export const USERSPACE_TABLE = 'svcplane-userspace';

/** The listener ports a relay got from the kernel; undefined: that listener is not open. */
export interface BoundPorts {
  readonly internal?: number;
  readonly external?: number;
}

const NFT_FAMILY: Record<IPFamily, NftFamily> = { IPv4: 'ip', IPv6: 'ip6' };
const addrType = (f: NftFamily) => (f === 'ip' ? 'ipv4_addr' : 'ipv6_addr');
const key3 = (f: NftFamily) => concat(daddr(f), meta('l4proto'), thDport());

interface Entries {
  ports: unknown[];
  reject: unknown[];
  drop: unknown[];
  firewallIPs: unknown[];
  firewallAllow: unknown[];
}

function collect(plans: readonly PortPlan[], bound: ReadonlyMap<string, BoundPorts>): Entries {
  const e: Entries = { ports: [], reject: [], drop: [], firewallIPs: [], firewallAllow: [] };
  for (const p of plans) {
    const proto = p.protocol.toLowerCase();
    const k = (addr: string) => ({ concat: [addr, proto, p.port] });
    const b = bound.get(p.key) ?? {};
    if (p.internal.endpoints.length === 0) e[p.internal.none].push(k(p.clusterIP));
    else if (b.internal !== undefined) e.ports.push([k(p.clusterIP), b.internal]);
    for (const addr of p.externalAddresses) {
      if (p.external.endpoints.length === 0) e[p.external.none].push(k(addr));
      else if (b.external !== undefined) e.ports.push([k(addr), b.external]);
    }
    for (const addr of p.firewalledAddresses) {
      e.firewallIPs.push(k(addr));
      for (const range of p.sourceRanges) e.firewallAllow.push({ concat: [addr, proto, p.port, addrValue(range)] });
    }
    // A node port without any endpoint is refused like the kernel backends do, where
    // its addresses are known; otherwise the relay resets (TCP) or ignores (UDP) it.
    if (p.nodePort && p.external.endpoints.length === 0 && p.external.none === 'reject') {
      for (const ip of p.nodePortAddresses.ips) e.reject.push({ concat: [ip, proto, p.nodePort] });
    }
  }
  return e;
}

/** The nft JSON commands for one family's table, replacing whatever table of ours is there. */
export function redirectTableCommands(family: IPFamily, plans: readonly PortPlan[], bound: ReadonlyMap<string, BoundPorts>): NftDocumentItem[] {
  const f = NFT_FAMILY[family];
  const table = { family: f, name: USERSPACE_TABLE };
  const e = collect(plans.filter((p) => p.family === family), bound);
  const a = addrType(f);
  const t3 = [a, 'inet_proto', 'inet_service'];
  const set = (name: string, type: NftSetBody['type'], elems: unknown[], extra: Pick<NftSetBody, 'flags'> = {}): NftDocumentItem[] => [
    { set: { family: f, table: USERSPACE_TABLE, name, type, ...extra } },
    ...(elems.length ? [{ element: { family: f, table: USERSPACE_TABLE, name, elem: elems } }] : []),
  ];
  const chain = (name: string, type: 'nat' | 'filter', hook: 'prerouting' | 'output', prio: number, rules: Expr[][]): NftDocumentItem[] => [
    { chain: { family: f, table: USERSPACE_TABLE, name, type, hook, prio, policy: 'accept' } },
    ...rules.map((expr) => ({ rule: { family: f, table: USERSPACE_TABLE, chain: name, expr } })),
  ];
  const noEndpoints: Expr[][] = [
    [match(key3(f), '==', '@reject'), reject(f)],
    [match(key3(f), '==', '@drop'), drop()],
  ];
  const redirect: Expr[][] = [
    [
      // nft needs a transport protocol match before a port map.
      match(meta('l4proto'), '==', { set: ['tcp', 'udp'] }),
      { redirect: { port: { map: { key: key3(f), data: '@ports' } } } },
    ],
  ];
  return [
    // add + delete + add: one transaction that works whether or not the table exists.
    tableObject(table),
    del(tableObject(table)),
    tableObject(table),
    { map: { family: f, table: USERSPACE_TABLE, name: 'ports', type: t3, map: 'inet_service' } },
    ...(e.ports.length ? [{ element: { family: f, table: USERSPACE_TABLE, name: 'ports', elem: e.ports } }] : []),
    ...set('reject', t3, e.reject),
    ...set('drop', t3, e.drop),
    ...set('firewall-ips', t3, e.firewallIPs),
    ...set('firewall-allow', [...t3, a], e.firewallAllow, { flags: ['interval'] }),
    // Filter before NAT (priority -110 < dstnat -100): decisions on the original address.
    ...chain('filter-prerouting', 'filter', 'prerouting', -110, [
      [match(key3(f), '==', '@firewall-ips'), match(concat(daddr(f), meta('l4proto'), thDport(), saddr(f)), '!=', '@firewall-allow'), drop()],
      ...noEndpoints,
    ]),
    ...chain('filter-output', 'filter', 'output', -110, noEndpoints),
    ...chain('nat-prerouting', 'nat', 'prerouting', -100, redirect),
    ...chain('nat-output', 'nat', 'output', -100, redirect),
  ];
}

/** The whole document for `nft -j -f`: both families' tables, replaced atomically. */
export function redirectDocument(plans: readonly PortPlan[], bound: ReadonlyMap<string, BoundPorts>): string {
  const commands = (['IPv4', 'IPv6'] as const).flatMap((fam) => redirectTableCommands(fam, plans, bound));
  return `{"nftables":[\n${commands.map((c) => JSON.stringify(c)).join(',\n')}\n]}\n`;
}

/** Deletes our tables (both families) if present: the document for cleanup. */
export function deleteDocument(families: readonly NftFamily[]): string {
  return JSON.stringify({ nftables: families.map((family) => del(tableObject({ family, name: USERSPACE_TABLE }))) });
}
