// Does this process hold the capabilities its backend needs? Checked once at start,
// so an agent run without them (a container without --cap-add NET_ADMIN, a pod whose
// securityContext dropped it) stops with one line naming what is missing instead of
// failing every sync with the kernel tool's bare "Operation not permitted".

import { readFileSync } from 'node:fs';
import type { Capability } from '../backends/backend.js';
import { getAgentBackend } from '../backends/registry.js';

/** Bit numbers from linux/capability.h. */
const CAPABILITY_BITS: Readonly<Record<Capability, number>> = { CAP_NET_ADMIN: 12 };

/**
 * What the backend says it cannot work without: NET_ADMIN to change the packet filter
 * (nft, iptables-restore, ipset, ipvsadm, conntrack -D all need it). The userspace
 * backend relays traffic itself and only warns when it cannot install its redirect.
 */
export function requiredCapabilities(backend: string): readonly Capability[] {
  return getAgentBackend(backend).capabilities;
}

/** The effective set from /proc/<pid>/status text (the `CapEff:` hex mask). */
export function parseEffectiveCapabilities(status: string): bigint {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(status);
  if (!m) throw new Error('no CapEff line in /proc/self/status');
  return BigInt(`0x${m[1]}`);
}

/** Those of `wanted` that the effective mask lacks. */
export function missingCapabilities(effective: bigint, wanted: readonly Capability[]): Capability[] {
  return wanted.filter((c) => (effective & (1n << BigInt(CAPABILITY_BITS[c]))) === 0n);
}

/** Throws (a runtime failure, exit 1) naming every capability `backend` needs and this process lacks. */
export function assertCapabilities(backend: string, status = readFileSync('/proc/self/status', 'utf8')): void {
  const missing = missingCapabilities(parseEffectiveCapabilities(status), requiredCapabilities(backend));
  if (missing.length === 0) return;
  const names = missing.map((c) => c.replace(/^CAP_/, ''));
  throw new Error(
    `the ${backend} backend needs the ${missing.join(', ')} capability, which this process does not have ` +
      `(run the container with --cap-add ${names.join(' --cap-add ')}, or add ${names.join(', ')} to the pod's securityContext.capabilities)`,
  );
}
