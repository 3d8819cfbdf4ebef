// What a trace is about and what it answers, shared by every backend's interpreter.
//
// An interpreter walks the *rendered rules* (or the kernel's), not the model: the
// point is to check what the rules do. Random choices in the rules (numgen,
// statistic, IPVS scheduling) and state the rules keep (affinity) are explored as
// forks, so one trace covers every way a new connection can go: each fork ends in
// one Branch, and summarise() turns the branches into the answer.

import { canonicalIP, cidrContains, parseCIDR, parseIP, type IPFamily } from '../model/ip.js';

export type TraceProtocol = 'tcp' | 'udp' | 'sctp';
export const TRACE_PROTOCOLS: readonly TraceProtocol[] = ['tcp', 'udp', 'sctp'];

/** The first packet of a new connection. Addresses are canonical. */
export interface TracePacket {
  readonly src: string;
  readonly dst: string;
  readonly dport: number;
  readonly proto: TraceProtocol;
  /** Input interface, for rules that detect pod traffic by interface; unset: unknown. */
  readonly iif?: string;
}

/** What the node is, as far as routing goes: the addresses it owns (loopback ranges always count). */
export interface NodeFacts {
  readonly localAddresses: readonly string[];
}

export type TraceVerdict = 'dnat' | 'reject' | 'drop' | 'accept' | 'none';

/** One way a connection can go. */
export interface Branch {
  readonly verdict: TraceVerdict;
  /** `ip:port` (`[ip6]:port`) after DNAT; only with verdict dnat. */
  readonly endpoint?: string;
  /** The packet left the node masqueraded. */
  readonly masquerade: boolean;
  readonly steps: readonly string[];
}

export interface TraceResult {
  readonly verdict: TraceVerdict;
  /** Every endpoint a new connection can reach, sorted. */
  readonly endpoints: string[];
  /** Masqueraded on some branch (a hairpin is masqueraded only on the branch back to the client). */
  readonly masquerade: boolean;
  /** The rules walked: the steps all branches share, then each branch's own, prefixed `branch N:`. */
  readonly path: string[];
}

/** A rule we do not understand, a branch explosion, an inconsistent ruleset: never a silent guess. */
export class TraceError extends Error {
  override readonly name = 'TraceError';
}

export function endpointText(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function familyOfPacket(p: TracePacket): IPFamily {
  return p.dst.includes(':') ? 'IPv6' : 'IPv4';
}

const LOOPBACK = [parseCIDR('127.0.0.0/8')!, parseCIDR('::1/128')!];

/** Whether the node owns an address (what `fib … type local` and `addrtype LOCAL` answer). */
export function isLocalAddress(node: NodeFacts, ip: string): boolean {
  const p = parseIP(ip);
  if (!p) return false;
  if (LOOPBACK.some((c) => cidrContains(c, p))) return true;
  const c = canonicalIP(ip);
  return node.localAddresses.some((a) => canonicalIP(a) === c);
}

/**
 * Runs `run` once per combination of fork answers (depth first, "taken" first).
 * `run` asks `choose(what)` at every fork; what it returns per run is collected.
 */
export function explore<T>(run: (choose: () => boolean) => T, maxBranches = 4096): T[] {
  const out: T[] = [];
  let script: boolean[] = [];
  for (;;) {
    const made: boolean[] = [];
    out.push(run(() => {
      const c = made.length < script.length ? script[made.length]! : true;
      made.push(c);
      return c;
    }));
    let k = made.length - 1;
    while (k >= 0 && !made[k]) k--;
    if (k < 0) return out;
    if (out.length >= maxBranches) throw new TraceError(`more than ${maxBranches} branches: the ruleset forks too often to trace`);
    script = [...made.slice(0, k), false];
  }
}

/** Branches -> one answer. Branches that end differently (dnat on one, drop on another) are reported, not merged. */
export function summarise(branches: readonly Branch[]): TraceResult {
  const verdicts = [...new Set(branches.map((b) => b.verdict))];
  if (verdicts.length !== 1) {
    throw new TraceError(`the packet's branches end differently (${verdicts.join(', ')}): ${branches.map((b) => b.steps.at(-1) ?? '').join(' | ')}`);
  }
  const endpoints = [...new Set(branches.flatMap((b) => (b.endpoint ? [b.endpoint] : [])))].sort();
  let common = 0;
  const first = branches[0]!.steps;
  while (common < first.length && branches.every((b) => b.steps[common] === first[common])) common++;
  const path = [...first.slice(0, common)];
  // Identical branches (two forks that end the same way) are listed once.
  const seen = new Set<string>();
  let n = 0;
  for (const b of branches) {
    const rest = b.steps.slice(common);
    const key = JSON.stringify(rest);
    if (rest.length === 0 || seen.has(key)) continue;
    seen.add(key);
    n++;
    for (const s of rest) path.push(`branch ${n}: ${s}`);
  }
  return { verdict: verdicts[0]!, endpoints, masquerade: branches.some((b) => b.masquerade), path };
}

/** What an interpreter tracks about the packet on one branch. */
export interface PacketState {
  src: string;
  dst: string;
  dport: number;
  /** The destination before any DNAT (conntrack's original tuple). */
  readonly origDst: string;
  readonly origDport: number;
  readonly proto: string;
  /** Input interface: '' for the node's own traffic, undefined when not given. */
  readonly iif: string | undefined;
  /** Generated by the node itself (output path). */
  readonly fromNode: boolean;
  mark: number;
  /** `ip:port` once DNATed. */
  dnat?: string;
  masquerade: boolean;
  /** An explicit accept verdict of ours was hit. */
  accepted: boolean;
  readonly steps: string[];
}

export function newPacketState(p: TracePacket, node: NodeFacts): PacketState {
  const fromNode = isLocalAddress(node, p.src);
  return {
    src: p.src, dst: p.dst, dport: p.dport, origDst: p.dst, origDport: p.dport, proto: p.proto, iif: fromNode ? '' : p.iif,
    fromNode, mark: 0, masquerade: false, accepted: false,
    steps: [fromNode ? `${p.src} is a node address: locally generated (output path)` : `arrives from ${p.src} (prerouting path)`],
  };
}

/** The branch a packet that was not dropped or rejected ends as. */
export function survivingBranch(s: PacketState): Branch {
  return { verdict: branchVerdict({ ...(s.dnat ? { dnat: s.dnat } : {}), accepted: s.accepted }), ...(s.dnat ? { endpoint: s.dnat } : {}), masquerade: s.masquerade, steps: s.steps };
}

/** The verdict of a branch from what happened on it. */
export function branchVerdict(s: { final?: 'drop' | 'reject'; dnat?: string; accepted: boolean }): TraceVerdict {
  if (s.final) return s.final;
  if (s.dnat) return 'dnat';
  return s.accepted ? 'accept' : 'none';
}
