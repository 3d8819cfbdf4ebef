// The addresses on this network namespace's interfaces, read at the I/O edge so that
// render stays pure: nodePortAddresses CIDRs select among them.
//
// In process (getifaddrs through os.networkInterfaces) rather than `ip -j addr`: the
// agent reads them before every sync, and a process spawn per sync was a fixed
// 10-20 ms of each endpoint change.

import { networkInterfaces } from 'node:os';
import { canonicalIP, cidrContains, parseCIDR, parseIP } from '../model/ip.js';
import type { NodeContext } from '../model/node.js';

const LOOPBACK = [parseCIDR('127.0.0.0/8')!, parseCIDR('::1/128')!];
const LINK_LOCAL = [parseCIDR('169.254.0.0/16')!, parseCIDR('fe80::/10')!];

/**
 * Every address that can serve NodePorts: not loopback (host scope) and not link-local.
 * A global address on `lo` (a VIP bound there) counts, as `ip addr` would show it with
 * scope global.
 */
export function serviceableAddresses(addresses: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const a of addresses) {
    const ip = canonicalIP(a.split('%')[0]!);
    if (!ip) continue;
    const p = parseIP(ip)!;
    if ([...LOOPBACK, ...LINK_LOCAL].some((c) => c.family === p.family && cidrContains(c, p))) continue;
    out.add(ip);
  }
  return [...out].sort();
}

export async function readLocalAddresses(): Promise<string[]> {
  const all: string[] = [];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) all.push(a.address);
  return serviceableAddresses(all);
}

export async function withLocalAddresses(node: NodeContext): Promise<NodeContext> {
  return { ...node, localAddresses: await readLocalAddresses() };
}
