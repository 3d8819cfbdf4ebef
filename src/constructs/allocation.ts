// Deterministic picks of ClusterIPs and NodePorts. Pure: no clock, no randomness.
//
// The API server picks free values at random; we pick them at synth, so the
// manifests (and the rules precompiled beside them) already hold the addresses
// every node will use. A value is a hash of what it is for and of the Service's
// namespace/name, so the same code gives the same value on every machine, and a
// Service's values never depend on which other Services exist: adding a Service
// never moves another one. The price is that two Services can hash onto one
// value; the app reports that at synth and the user pins one of them.

import { createHash } from 'node:crypto';
import { cidrSize, formatIP, parseCIDR, parseIP, type IPFamily, type ParsedCIDR } from '../model/ip.js';

/** An inclusive port range such as 30000-32767. */
export interface PortRange {
  readonly min: number;
  readonly max: number;
}

/** sha256 of the parts (NUL-separated, so ("a/b","c") and ("a","b/c") differ), as a number. */
export function stableHash(...parts: readonly string[]): bigint {
  const digest = createHash('sha256').update(parts.join('\0')).digest('hex');
  return BigInt(`0x${digest}`);
}

/**
 * Offsets inside a service CIDR that are never handed out: the network address,
 * the first address (the API server gives it to the `kubernetes` Service) and,
 * for IPv4, the broadcast address.
 */
function usableOffsets(cidr: ParsedCIDR): { first: bigint; count: bigint } {
  const size = cidrSize(cidr);
  const reservedAtEnd = cidr.family === 'IPv4' ? 1n : 0n;
  const count = size - 2n - reservedAtEnd;
  return { first: 2n, count: count > 0n ? count : 0n };
}

/** Whether `ip` may be a Service's ClusterIP in `cidr`: inside it and not reserved. */
export function isAllocatableServiceIP(cidr: string, ip: string): boolean {
  const c = parseCIDR(cidr);
  const a = parseIP(ip);
  if (!c || !a || c.family !== a.family) return false;
  const offset = a.value - c.network;
  const { first, count } = usableOffsets(c);
  return offset >= first && offset < first + count;
}

/**
 * The ClusterIP for `key` (namespace/name) in `cidr`; undefined when the CIDR
 * is malformed or too small to have an address to give.
 */
export function allocateServiceIP(cidr: string, key: string): string | undefined {
  const c = parseCIDR(cidr);
  if (!c) return undefined;
  const { first, count } = usableOffsets(c);
  if (count === 0n) return undefined;
  const offset = first + (stableHash('clusterIP', c.family, key) % count);
  return formatIP(c.family, c.network + offset);
}

/**
 * A NodePort for `key` (namespace/name plus what the port is for) in `range`,
 * avoiding `taken` (the Service's own other NodePorts: a Service must not pick
 * one of its own twice). Starts at the hashed position and walks up, wrapping,
 * so the answer depends only on the key and this one Service's ports.
 * Undefined when every port in the range is taken.
 */
export function allocateNodePort(range: PortRange, key: string, taken: ReadonlySet<number> = new Set()): number | undefined {
  const size = range.max - range.min + 1;
  if (size <= 0) return undefined;
  const start = Number(stableHash('nodePort', key) % BigInt(size));
  for (let i = 0; i < size; i++) {
    const port = range.min + ((start + i) % size);
    if (!taken.has(port)) return port;
  }
  return undefined;
}

/** The family of a CIDR string, when it is one. */
export function cidrFamily(cidr: string): IPFamily | undefined {
  return parseCIDR(cidr)?.family;
}
