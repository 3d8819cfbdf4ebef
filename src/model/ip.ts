// IP address and CIDR arithmetic for both families, on bigints. Pure, no I/O.
//
// Kubernetes stores addresses as strings; two spellings of one IPv6 address must
// compare equal and render identically, so everything is parsed and re-printed
// in canonical form (RFC 5952 for IPv6) before it reaches the plan.

export type IPFamily = 'IPv4' | 'IPv6';

export interface ParsedIP {
  readonly family: IPFamily;
  readonly value: bigint;
}

export interface ParsedCIDR {
  readonly family: IPFamily;
  /** Network address (host bits cleared). */
  readonly network: bigint;
  readonly prefix: number;
}

const V4_BITS = 32;
const V6_BITS = 128;

export function familyBits(family: IPFamily): number {
  return family === 'IPv4' ? V4_BITS : V6_BITS;
}

/**
 * The 32-bit value of a dotted quad, or undefined. Hand-rolled (no regex, no split):
 * every endpoint address of a 10k-Service input passes through here.
 */
export function parseV4Number(s: string): number | undefined {
  let value = 0;
  let octets = 0;
  let i = 0;
  const n = s.length;
  while (octets < 4) {
    const start = i;
    let octet = 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      octet = octet * 10 + (c - 48);
      i++;
    }
    const digits = i - start;
    // 1-3 digits, no leading zeros: "010" is octal to some parsers and refused by the API server.
    if (digits === 0 || digits > 3 || (digits > 1 && s.charCodeAt(start) === 48) || octet > 255) return undefined;
    value = value * 256 + octet;
    octets++;
    if (octets < 4) {
      if (s.charCodeAt(i) !== 46) return undefined;
      i++;
    }
  }
  return i === n ? value : undefined;
}

function parseV4(s: string): bigint | undefined {
  const v = parseV4Number(s);
  return v === undefined ? undefined : BigInt(v);
}

function parseV6(s: string): bigint | undefined {
  if (s.length === 0 || s.includes('%')) return undefined;
  let head = s;
  let tailV4: bigint | undefined;
  // Embedded IPv4 in the last 32 bits (::ffff:1.2.3.4).
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    tailV4 = parseV4(s.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = s.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = head.split('::');
  if (dbl.length > 2) return undefined;
  const toGroups = (x: string): string[] | undefined => {
    if (x === '') return [];
    const g = x.split(':');
    return g.every((h) => /^[0-9a-fA-F]{1,4}$/.test(h)) ? g : undefined;
  };
  const left = toGroups(dbl[0]!);
  const right = dbl.length === 2 ? toGroups(dbl[1]!) : [];
  if (!left || !right) return undefined;
  let groups: string[];
  if (dbl.length === 2) {
    const missing = 8 - left.length - right.length;
    if (missing < 1) return undefined;
    groups = [...left, ...Array<string>(missing).fill('0'), ...right];
  } else {
    groups = left;
  }
  if (groups.length !== 8) return undefined;
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(parseInt(g, 16));
  if (tailV4 !== undefined) v = (v & ~0xffffffffn) | tailV4;
  return v;
}

/** Parses an IPv4 or IPv6 address; undefined when it is not one. */
export function parseIP(s: string): ParsedIP | undefined {
  if (typeof s !== 'string') return undefined;
  if (s.includes(':')) {
    const v = parseV6(s);
    return v === undefined ? undefined : { family: 'IPv6', value: v };
  }
  const v = parseV4(s);
  return v === undefined ? undefined : { family: 'IPv4', value: v };
}

export function isIP(s: string): boolean {
  return parseIP(s) !== undefined;
}

export function ipFamilyOf(s: string): IPFamily | undefined {
  return parseIP(s)?.family;
}

export function formatIP(family: IPFamily, value: bigint): string {
  if (family === 'IPv4') {
    const v = Number(value);
    return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (>= 2) of zero groups, the first on a tie.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Canonical spelling of an address, or undefined when it is not one. */
export function canonicalIP(s: string): string | undefined {
  // A dotted quad parseV4 accepts is already canonical (no leading zeros, no spaces).
  if (typeof s === 'string' && !s.includes(':')) return parseV4Number(s) === undefined ? undefined : s;
  const p = parseIP(s);
  return p && formatIP(p.family, p.value);
}

/**
 * Parses "a.b.c.d/n" or "x::/n". With `strict`, host bits must be zero (the API
 * server's rule for ServiceCIDR and loadBalancerSourceRanges is lenient, so
 * strict is off by default and the network is masked).
 */
export function parseCIDR(s: string, strict = false): ParsedCIDR | undefined {
  if (typeof s !== 'string') return undefined;
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIP(s.slice(0, slash));
  const pfx = s.slice(slash + 1);
  if (!ip || !/^(0|[1-9][0-9]{0,2})$/.test(pfx)) return undefined;
  const prefix = Number(pfx);
  const bits = familyBits(ip.family);
  if (prefix > bits) return undefined;
  const network = ip.value & prefixMask(bits, prefix);
  if (strict && network !== ip.value) return undefined;
  return { family: ip.family, network, prefix };
}

function computePrefixMask(bits: number, prefix: number): bigint {
  const all = (1n << BigInt(bits)) - 1n;
  return prefix === 0 ? 0n : all ^ ((1n << BigInt(bits - prefix)) - 1n);
}

// Every mask of both families, computed once: cidrContains runs for every endpoint
// address (10^5 at 10k Services) and four BigInt operations per call added up.
const MASKS: Readonly<Record<number, readonly bigint[]>> = {
  32: Array.from({ length: 33 }, (_, p) => computePrefixMask(32, p)),
  128: Array.from({ length: 129 }, (_, p) => computePrefixMask(128, p)),
};

export function prefixMask(bits: number, prefix: number): bigint {
  return MASKS[bits]?.[prefix] ?? computePrefixMask(bits, prefix);
}

export function formatCIDR(c: ParsedCIDR): string {
  return `${formatIP(c.family, c.network)}/${c.prefix}`;
}

/** Canonical spelling of a CIDR with host bits cleared, or undefined. */
export function canonicalCIDR(s: string): string | undefined {
  const c = parseCIDR(s);
  return c && formatCIDR(c);
}

export function cidrContains(c: ParsedCIDR, ip: ParsedIP): boolean {
  if (c.family !== ip.family) return false;
  return (ip.value & prefixMask(familyBits(c.family), c.prefix)) === c.network;
}

/** Number of addresses in the CIDR. */
export function cidrSize(c: ParsedCIDR): bigint {
  return 1n << BigInt(familyBits(c.family) - c.prefix);
}

export function cidrsOverlap(a: ParsedCIDR, b: ParsedCIDR): boolean {
  if (a.family !== b.family) return false;
  const p = Math.min(a.prefix, b.prefix);
  const m = prefixMask(familyBits(a.family), p);
  return (a.network & m) === (b.network & m);
}

/** Sort key that orders IPv4 before IPv6 and numerically within a family. */
export function compareIPs(a: string, b: string): number {
  const pa = parseIP(a);
  const pb = parseIP(b);
  if (!pa || !pb) return a < b ? -1 : a > b ? 1 : 0;
  if (pa.family !== pb.family) return pa.family === 'IPv4' ? -1 : 1;
  return pa.value < pb.value ? -1 : pa.value > pb.value ? 1 : 0;
}
