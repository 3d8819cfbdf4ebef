// The addresses of a Service: clusterIP(s), ipFamilies and ipFamilyPolicy, and
// externalIPs. An address that does not parse, or a special address the node must
// never capture, is refused on both sides; where the address lies relative to the
// service CIDRs, and a dual-stack Service's missing second address, are the API
// server's allocation under its configuration (authoring only).

import { cidrContains, familyBits, formatCIDR, parseCIDR, parseIP, prefixMask, type ParsedCIDR, type ParsedIP } from './ip.js';
import { indexPath, notSupported } from './json-fields.js';
import type { ServiceRules } from './validate-service-rules.js';

export const IP_FAMILY_POLICIES = ['SingleStack', 'PreferDualStack', 'RequireDualStack'] as const;
const IP_FAMILIES = ['IPv4', 'IPv6'] as const;
export const VALID_IP_MSG = 'must be a valid IP address (e.g. 10.9.8.7 or 2001:db8::ffff)';

// Parsed once: specialIPError runs for every endpoint address of every slice.
const SPECIAL_RANGES: ReadonlyArray<{ cidrs: readonly ParsedCIDR[]; message: string }> = [
  { cidrs: ['127.0.0.0/8', '::1/128'], message: 'may not be in the loopback range (127.0.0.0/8, ::1/128)' },
  { cidrs: ['169.254.0.0/16', 'fe80::/10'], message: 'may not be in the link-local range (169.254.0.0/16, fe80::/10)' },
  { cidrs: ['224.0.0.0/24', 'ff02::/16'], message: 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/16)' },
].map((r) => ({ cidrs: r.cidrs.map((c) => parseCIDR(c)!), message: r.message }));

/**
 * The API server refuses these as externalIPs and endpoint addresses
 * (ValidateNonSpecialIP): traffic to them never comes from outside the node, and
 * capturing or forwarding to them would break the node.
 */
export function specialIPError(ip: ParsedIP): string | undefined {
  if (ip.value === 0n) return 'may not be unspecified (0.0.0.0 or ::)';
  for (const r of SPECIAL_RANGES) if (r.cidrs.some((c) => cidrContains(c, ip))) return r.message;
  return undefined;
}

// SPECIAL_RANGES' IPv4 networks as 32-bit numbers, for specialIPv4Error.
const SPECIAL_V4: ReadonlyArray<{ network: number; mask: number; message: string }> = SPECIAL_RANGES.flatMap((r) =>
  r.cidrs.filter((c) => c.family === 'IPv4').map((c) => ({ network: Number(c.network), mask: Number(prefixMask(32, c.prefix)), message: r.message })),
);

/**
 * specialIPError of an IPv4 address given as its 32-bit value (parseV4Number's): the
 * same answer without a BigInt or a ParsedIP, for the 10^5 endpoint addresses of a
 * large input (test/model/validate-service.test.ts compares the two).
 */
export function specialIPv4Error(value: number): string | undefined {
  if (value === 0) return 'may not be unspecified (0.0.0.0 or ::)';
  for (const r of SPECIAL_V4) if ((value & r.mask) >>> 0 === r.network) return r.message;
  return undefined;
}

/**
 * Where an address may be allocated from: inside one of the CIDRs, and not the
 * network address (nor, for IPv4, the broadcast address) the allocator reserves.
 */
function serviceCIDRError(ip: ParsedIP, cidrs: readonly ParsedCIDR[]): string | undefined {
  const c = cidrs.find((x) => cidrContains(x, ip));
  if (!c) return `must be inside a service CIDR (${cidrs.map(formatCIDR).join(', ')})`;
  const bits = familyBits(c.family);
  if (c.prefix < bits - 1) {
    if (ip.value === c.network) return `must not be the network address of service CIDR ${formatCIDR(c)}`;
    const broadcast = c.network | ~prefixMask(bits, c.prefix) & ((1n << BigInt(bits)) - 1n);
    if (c.family === 'IPv4' && ip.value === broadcast) return `must not be the broadcast address of service CIDR ${formatCIDR(c)}`;
  }
  return undefined;
}

export interface ClusterIPFacts {
  readonly clusterIP: string;
  readonly clusterIPs: readonly string[];
  readonly clusterIPsGiven: readonly string[];
  readonly ipFamilies: readonly string[];
  readonly policyRaw: string | undefined;
  readonly headless: boolean;
  readonly ipField: (i: number) => string;
  readonly serviceCIDRs: readonly string[];
}

/** clusterIP <-> clusterIPs <-> ipFamilies <-> ipFamilyPolicy, as validation and the IP allocator check them. */
export function checkClusterIPs(rules: ServiceRules, f: ClusterIPFacts): void {
  const { clusterIPs, ipFamilies } = f;
  // Which address is the primary one would be ambiguous: refused.
  if (f.clusterIP !== '') {
    if (f.clusterIPsGiven.length > 0 && f.clusterIPsGiven[0] !== f.clusterIP) rules.refuse('spec.clusterIPs', 'first value must match spec.clusterIP');
  } else if (f.clusterIPsGiven.length > 0) {
    rules.refuse('spec.clusterIPs', 'must be empty when spec.clusterIP is not set (set both)');
  }

  const seenFamilies = new Set<string>();
  ipFamilies.forEach((fam, i) => {
    if (!(IP_FAMILIES as readonly string[]).includes(fam)) rules.refuse(indexPath('spec.ipFamilies', i), notSupported(fam, IP_FAMILIES));
    else if (seenFamilies.has(fam)) rules.refuse(indexPath('spec.ipFamilies', i), `duplicate family ${fam}`);
    seenFamilies.add(fam);
  });
  if (ipFamilies.length > 2) rules.refuse('spec.ipFamilies', 'may hold at most 2 values');
  if (f.policyRaw !== undefined && !(IP_FAMILY_POLICIES as readonly string[]).includes(f.policyRaw)) {
    rules.refuse('spec.ipFamilyPolicy', notSupported(f.policyRaw, IP_FAMILY_POLICIES));
  }

  let bad = false;
  const parsed: ParsedIP[] = [];
  clusterIPs.forEach((ip, i) => {
    if (ip === 'None') {
      if (i !== 0 || clusterIPs.length > 1) {
        bad = true;
        rules.refuse('spec.clusterIPs', "'None' must be the first and only value");
      }
      return;
    }
    const p = parseIP(ip);
    if (!p) {
      bad = true;
      rules.refuse(f.ipField(i), VALID_IP_MSG);
    } else {
      parsed.push(p);
    }
  });
  if (clusterIPs.length > 2) {
    rules.refuse('spec.clusterIPs', 'may hold at most 2 values');
    bad = true;
  }
  // Later checks would only repeat a bad address's problem in other words.
  if (bad) return;
  if (parsed.length === 2 && parsed[0]!.family === parsed[1]!.family) {
    rules.refuse('spec.clusterIPs', 'may hold at most one IP of each family (dual-stack: one IPv4 and one IPv6)');
  }
  if (!f.headless) {
    parsed.forEach((p, i) => {
      const fam = ipFamilies[i];
      if (fam && (IP_FAMILIES as readonly string[]).includes(fam) && fam !== p.family) {
        rules.refuse(f.ipField(i), `expected an ${fam} address, as spec.ipFamilies[${i}] says`);
      }
    });
  }
  // The allocator's rules: single-stack means one family; dual-stack needs both.
  const policy = f.policyRaw;
  if (policy === 'SingleStack' && (ipFamilies.length > 1 || parsed.length > 1)) {
    rules.refuse('spec.ipFamilyPolicy', "must be 'PreferDualStack' or 'RequireDualStack' when two IP families or clusterIPs are given");
  }
  if (policy === 'RequireDualStack' && !f.headless && parsed.length === 1) {
    // The API server would allocate the second address; a plan cannot know which one it
    // picks. A live object has it; one that does not still forwards on the one it has.
    rules.allocation('spec.clusterIPs', 'RequireDualStack needs a clusterIP of each family; give the secondary one too');
  }
  if (f.serviceCIDRs.length > 0) {
    const cidrs = f.serviceCIDRs.map((c) => parseCIDR(c)).filter((c): c is ParsedCIDR => c !== undefined);
    parsed.forEach((p, i) => rules.allocation(f.ipField(i), serviceCIDRError(p, cidrs)));
  }
}

/** spec.externalIPs: parseable and not special (capturing 127.0.0.1 would break the node). */
export function checkExternalIPs(rules: ServiceRules, externalIPs: readonly string[]): void {
  externalIPs.forEach((ip, i) => {
    const p = parseIP(ip);
    if (!p) rules.refuse(indexPath('spec.externalIPs', i), VALID_IP_MSG);
    else rules.refuse(indexPath('spec.externalIPs', i), specialIPError(p));
  });
}
