// A resync's cheap check (issue 16 §3): the syncer knows what the kernel holds from
// what it sent, so a periodic resync compares a few cheap readings with that memory and
// reads everything back (iptables-save of every table, ipset save) only when they
// disagree, after a failure, at start, with Services preserved from the kernel, and on
// every `readBackEvery`-th resync. At 10k Services the read-back is ~48 MB of nat text;
// the readings below are the names of nat's chains and a few chains' rules (README.md,
// "The resync's cheap check", has what each costs).
//
// What it reads, per family, against the memory of the last sync:
// - nat: the names of our chains (`nft list chains`: no rules fetched), each one known
//   and none missing: catches `-X`, a deleted or re-created table, a chain added. Told
//   first by a digest of the names (count and two sums of per-name hashes), which needs
//   no map of every chain: at 44k Services x 1 that map (132k chain objects, made from the
//   cached fragments) was the agent's peak, at the check that follows a first sync. Only
//   when the digests differ is each name looked up, to say which chains;
// - nat: the rules of the skeleton's chains (SVP-SERVICES, SVP-NODEPORTS, …), exactly
//   (`iptables -S CHAIN`, in iptables-save's form): catches `-F` of the table or of
//   SVP-SERVICES, a deleted or added rule there;
// - nat: the same for a rotating slice of the per-Service chains;
// - the traffic sets' entry counts (`ipset list -t`).
// The filter table (a few small chains) is compared whole and the built-in chains' jumps
// are checked (-C) whenever the check runs, as at a read-back. With a ruleset watch
// (ruleset-watch.ts) the check runs only after another process's change or a gap in the
// watch. Pure: the syncer runs the tools.

import type { IPFamily } from '../../model/ip.js';
import { CHAIN_PREFIX, CHAINS } from './names.js';

/**
 * Every how many resyncs (counting itself) one reads everything back even when the check (or
 * the ruleset watch) agrees: 120, hourly at the agent's default 30 s syncPeriod, kube-proxy's
 * own full-sync period. At 10k Services a read-back took 15-23 s where a watched resync took
 * 0.14-0.31 s (README.md, "The resync's event source"): a read-back every 10th resync would cost
 * ~10x the other nine together.
 */
export const DEFAULT_READ_BACK_EVERY = 120;

/** How many per-Service nat chains each resync that runs the cheap check compares, per family (44-70 ms each at 10k, run in parallel). */
export const DEFAULT_SLICE_CHAINS = 8;

/** The nat chains of the skeleton: compared at every resync. */
export const SKELETON_NAT_CHAINS: readonly string[] = [CHAINS.services, CHAINS.nodePorts, CHAINS.postrouting, CHAINS.markMasq];

/** What the syncer knows when a full sync is asked for. */
export interface ResyncState {
  /** Why the syncer has no memory of the kernel; undefined when it has one. */
  readonly forgotten: 'start' | 'failure' | undefined;
  /** Services whose rules are kept from the kernel (malformed input): only a read-back has them. */
  readonly preserved: number;
  /** Resyncs trusted to the cheap check since the last read-back. */
  readonly resyncsSinceReadBack: number;
  readonly readBackEvery: number;
}

/** Why this full sync must read everything back; undefined when the cheap check may decide. */
export function readBackReason(s: ResyncState): string | undefined {
  if (s.forgotten === 'start') return 'start: no memory of the kernel';
  if (s.forgotten === 'failure') return 'the last sync failed: what the kernel holds is unknown';
  if (s.preserved > 0) return 'Services preserved from the kernel';
  if (s.resyncsSinceReadBack + 1 >= s.readBackEvery) return `the periodic read-back (every ${s.readBackEvery} resyncs)`;
  return undefined;
}

/** Our chains in one family's nat table, as the syncer last wrote them (name -> rules): what the exact names check looks names up in. */
export type NatMemory = ReadonlyMap<string, readonly string[]>;

/** One chain as written: its rules unpacked only when read (packed-chains.ts). */
export interface WrittenChain {
  readonly name: string;
  readonly rules: readonly string[];
}

/**
 * Our chains in one family's nat table as the syncer last wrote them, walked in the order
 * written (the skeleton's first) without a map of them all: the syncer makes each
 * Service's chain objects from its cached fragment as the walk reaches it.
 */
export interface NatChains {
  readonly size: number;
  chains(): Iterable<WrittenChain>;
  /** A chain no single Service owns (the skeleton's), by name. */
  shared(name: string): WrittenChain | undefined;
}

/** NatChains over chains kept by name (tests; a memory that holds every chain anyway). */
export function natChainsOf(chains: ReadonlyMap<string, WrittenChain | readonly string[]>): NatChains {
  const chain = (name: string, c: WrittenChain | readonly string[]): WrittenChain => (Array.isArray(c) ? { name, rules: c as readonly string[] } : (c as WrittenChain));
  return {
    size: chains.size,
    *chains() {
      for (const [name, c] of chains) yield chain(name, c);
    },
    shared: (name) => {
      const c = chains.get(name);
      return c && chain(name, c);
    },
  };
}

/**
 * A set of chain names as an order-free digest: how many, and two 32-bit sums of per-name
 * hashes (FNV-1a and a multiply-xorshift of the same characters). Two sets the syncer
 * could confuse differ in a name; both sums agreeing by chance is ~2^-64.
 */
export class NameDigest {
  count = 0;
  private a = 0;
  private b = 0;

  add(name: string): void {
    let h1 = 0x811c9dc5;
    let h2 = name.length;
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    this.count++;
    this.a = (this.a + h1) | 0;
    this.b = (this.b + h2) | 0;
  }

  equals(o: NameDigest): boolean {
    return this.count === o.count && this.a === o.a && this.b === o.b;
  }
}

/**
 * The names check by digest: our nat chains in `nft list chains` output against the
 * memory's, per family, holding neither the listing nor a map of the memory. When it
 * disagrees, ChainNamesCheck (below) says which chains.
 */
export class ChainNamesDigest {
  private readonly written = new Map<IPFamily, NameDigest>();
  private readonly listed = new Map<IPFamily, NameDigest>();
  private readonly table = new NatTableLines();

  constructor(memory: ReadonlyMap<IPFamily, NatChains>) {
    for (const [f, mem] of memory) {
      const d = new NameDigest();
      for (const c of mem.chains()) d.add(c.name);
      this.written.set(f, d);
      this.listed.set(f, new NameDigest());
    }
  }

  line(line: string): void {
    const hit = this.table.ours(line);
    if (!hit) return;
    // A family the memory does not hold: its chains are not ours (the exact check names them).
    let d = this.listed.get(hit.family);
    if (!d) this.listed.set(hit.family, (d = new NameDigest()));
    d.add(hit.name);
  }

  /** Whether every family lists exactly the chains written; a family with none listed or written agrees. */
  agrees(): boolean {
    for (const [f, d] of this.listed) if (!d.equals(this.written.get(f) ?? new NameDigest())) return false;
    return true;
  }

  /** What the digests tell, for when the exact check finds nothing (the listing changed between the two readings). */
  disagreements(): string[] {
    const out: string[] = [];
    for (const [f, d] of this.listed) {
      const w = this.written.get(f) ?? new NameDigest();
      if (!d.equals(w)) out.push(`${f} nat: ${d.count} chains of ours listed, not the ${w.count} written`);
    }
    return out;
  }
}

/** Which lines of `nft list chains` name a chain of ours in a nat table, and its family. */
class NatTableLines {
  /** The family of the `table FAMILY nat {` block the lines are in; undefined elsewhere. */
  private current: IPFamily | undefined;

  ours(line: string): { family: IPFamily; name: string } | undefined {
    const t = line.trimStart();
    if (t.startsWith('table ')) {
      const [, family, name] = t.split(' ');
      this.current = name === 'nat' ? NFT_FAMILY[family!] : undefined;
      return undefined;
    }
    if (this.current === undefined || !t.startsWith('chain ')) return undefined;
    const name = unquote(t.slice(6, t.indexOf(' ', 6) < 0 ? undefined : t.indexOf(' ', 6)));
    return name.startsWith(CHAIN_PREFIX) ? { family: this.current, name } : undefined;
  }
}

const NFT_FAMILY: Record<string, IPFamily> = { ip: 'IPv4', ip6: 'IPv6' };

/**
 * Our nat chains in `nft list chains` output (every family's tables, chains without
 * rules), told against the memory line by line: how many known names were listed and
 * which were not known. Nothing of the listing is kept.
 */
export class ChainNamesCheck {
  private readonly seen = new Map<IPFamily, number>();
  private readonly unknown = new Map<IPFamily, string[]>();
  private unknownCount = 0;
  private readonly table = new NatTableLines();

  constructor(private readonly memory: ReadonlyMap<IPFamily, NatMemory>) {
    for (const f of memory.keys()) this.seen.set(f, 0);
  }

  line(line: string): void {
    const hit = this.table.ours(line);
    if (!hit) return;
    const { family, name } = hit;
    const mem = this.memory.get(family);
    if (mem?.has(name)) this.seen.set(family, this.seen.get(family)! + 1);
    else {
      this.unknownCount++;
      const u = this.unknown.get(family) ?? [];
      if (u.length < 3) u.push(name);
      this.unknown.set(family, u);
    }
  }

  /** What disagrees: chains of the memory not listed, chains listed the memory does not hold. */
  disagreements(): string[] {
    const out: string[] = [];
    for (const [f, mem] of this.memory) {
      const missing = mem.size - this.seen.get(f)!;
      if (missing > 0) out.push(`${f} nat: ${missing} of our ${mem.size} chains missing`);
      const u = this.unknown.get(f);
      if (u) out.push(`${f} nat: chains not written by us (${u.join(', ')}${this.unknownCount > u.length ? ', …' : ''})`);
    }
    return out;
  }
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

/**
 * One chain's rules as `iptables -S CHAIN` printed them (undefined: no such chain)
 * against the rules last written; undefined when they are the same, else why not.
 */
export function chainDisagreement(family: IPFamily, chain: string, written: readonly string[], listed: string | undefined): string | undefined {
  if (listed === undefined) return `${family} nat ${chain}: missing`;
  let n = 0;
  let differs = false;
  for (const line of listed.split('\n')) {
    if (!line.startsWith('-A ')) continue;
    if (!differs && written[n] !== line) differs = true;
    n++;
  }
  if (n !== written.length) return `${family} nat ${chain}: ${n} rules, ${written.length} written`;
  return differs ? `${family} nat ${chain}: rules differ` : undefined;
}

/**
 * The chains a resync compares rule for rule: the skeleton's (in SKELETON_NAT_CHAINS' order),
 * then `count` per-Service chains from `cursor` on, round the memory: one walk of it, which
 * keeps only the chains picked.
 */
export function chainsToCompare(memory: NatChains, cursor: number, count: number): { chains: WrittenChain[]; next: number } {
  const chains = SKELETON_NAT_CHAINS.flatMap((name) => memory.shared(name) ?? []);
  const perService = memory.size - chains.length;
  if (perService <= 0 || count <= 0) return { chains, next: 0 };
  const start = cursor % perService;
  const want = Math.min(count, perService);
  const picked: WrittenChain[] = [];
  let i = 0;
  for (const c of memory.chains()) {
    if (SKELETON_NAT_CHAINS.includes(c.name)) continue;
    // The per-Service chains start .. start + want - 1, round the end of the memory.
    if ((i - start + perService) % perService < want) picked.push(c);
    i++;
  }
  return { chains: [...chains, ...picked], next: (start + want) % perService };
}

/** Entry counts per set in `ipset list -t` output ("Name: …" … "Number of entries: N"). */
export function parseIpsetCounts(text: string): Map<string, number> {
  const out = new Map<string, number>();
  let name: string | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('Name: ')) name = line.slice(6).trim();
    else if (name !== undefined && line.startsWith('Number of entries: ')) out.set(name, Number(line.slice(19).trim()));
  }
  return out;
}

/** The traffic sets' entry counts against the memory's. */
export function ipsetDisagreements(memory: ReadonlyMap<string, number>, listed: ReadonlyMap<string, number>): string[] {
  const out: string[] = [];
  for (const [name, n] of memory) {
    const l = listed.get(name);
    if (l === undefined) out.push(`ipset ${name}: missing`);
    else if (l !== n) out.push(`ipset ${name}: ${l} entries, ${n} written`);
  }
  return out;
}
