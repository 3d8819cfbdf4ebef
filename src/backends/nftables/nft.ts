// A small typed model of the nftables objects we own (a table, its chains, rules,
// sets and maps) and builders for the JSON expressions we use (libnftables-json(5)).
//
// Every expression is written in the exact shape `nft -j list` prints it back, so
// that the live table read from the kernel can be compared with the rendered one
// structurally: `meta l4proto tcp th dport 80` is printed back as `tcp dport 80`,
// so we write the latter.

export type NftFamily = 'ip' | 'ip6';
export type Expr = Record<string, unknown>;
/** A verdict or value in a map element: { goto: { target } }, { drop: null }, ... */
export type Verdict = Record<string, unknown>;

export interface NftRule {
  readonly expr: readonly Expr[];
  readonly comment?: string;
}

export interface NftBaseChain {
  readonly type: 'filter' | 'nat';
  readonly hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  readonly prio: number;
  readonly policy: 'accept';
}

export interface NftChain {
  readonly name: string;
  readonly base?: NftBaseChain;
  readonly rules: NftRule[];
}

export interface NftElement {
  /** A single value, a prefix, or a concatenation: as nft prints it. */
  readonly key: unknown;
  /** Maps only: the verdict. */
  readonly value?: Verdict;
  readonly comment?: string;
}

export interface NftSet {
  readonly name: string;
  readonly kind: 'set' | 'map';
  readonly type: string | readonly string[];
  /** Maps: the data type ("verdict"). */
  readonly map?: string;
  readonly flags?: readonly string[];
  /** Seconds, for timeout sets. */
  readonly timeout?: number;
  readonly size?: number;
  /** The kernel adds and expires elements itself (affinity): never compared or written. */
  readonly dynamic?: boolean;
  /** Every element carries a counter (packets, bytes of the lookups that matched it): read by the traffic readers. */
  readonly counter?: boolean;
  readonly elements: NftElement[];
}

export interface NftTable {
  readonly family: NftFamily;
  readonly name: string;
  readonly chains: NftChain[];
  readonly sets: NftSet[];
}

// ---- expression builders -------------------------------------------------

export function ipProto(family: NftFamily): 'ip' | 'ip6' {
  return family;
}

export const payload = (protocol: string, field: string): Expr => ({ payload: { protocol, field } });
export const meta = (key: string): Expr => ({ meta: { key } });
export const concat = (...parts: unknown[]): Expr => ({ concat: parts });
export const prefix = (addr: string, len: number): Expr => ({ prefix: { addr, len } });

export function match(left: unknown, op: '==' | '!=' | 'in', right: unknown): Expr {
  return { match: { op, left, right } };
}

export const saddr = (f: NftFamily) => payload(ipProto(f), 'saddr');
export const daddr = (f: NftFamily) => payload(ipProto(f), 'daddr');
/** The transport destination port of a known protocol (nft folds `meta l4proto X th dport` into this). */
export const dport = (proto: string) => payload(proto.toLowerCase(), 'dport');
export const thDport = (): Expr => payload('th', 'dport');
/** ip daddr . meta l4proto . th dport: the key of our service maps. */
export const serviceKey = (f: NftFamily) => concat(daddr(f), meta('l4proto'), thDport());

export const ctStateNew = (): Expr => match({ ct: { key: 'state' } }, 'in', 'new');
export const ctStatusDnat = (): Expr => match({ ct: { key: 'status' } }, 'in', 'dnat');
/** `ct original ip daddr` / `ct original proto-dst`: the connection's first destination, before DNAT, for every packet of it. */
export const ctOriginal = (f: NftFamily, key: 'daddr' | 'proto-dst'): Expr => ({ ct: { key: key === 'daddr' ? `${f} daddr` : key, dir: 'original' } });
export const fibLocal = (dir: 'saddr' | 'daddr'): Expr => match({ fib: { result: 'type', flags: [dir] } }, '==', 'local');
export const l4proto = (proto: string): Expr => match(meta('l4proto'), '==', proto.toLowerCase());

export const jump = (target: string): Expr => ({ jump: { target } });
export const goto = (target: string): Expr => ({ goto: { target } });
export const drop = (): Expr => ({ drop: null });
export const ret = (): Expr => ({ return: null });
export const reject = (f: NftFamily): Expr => ({ reject: { type: f === 'ip' ? 'icmp' : 'icmpv6', expr: 'port-unreachable' } });
export const vmap = (key: unknown, map: string): Expr => ({ vmap: { key, data: `@${map}` } });
export const dnat = (addr: string, port: number): Expr => ({ dnat: { addr, port } });
/** A rule's own counter, as `nft -j list` prints a fresh one (read.ts zeroes the live values so they never count as a difference). */
export const counter = (): Expr => ({ counter: { packets: 0, bytes: 0 } });
export const numgenMod = (mod: number, value: number): Expr =>
  match({ numgen: { mode: 'random', mod, offset: 0 } }, '==', value);
export const updateSet = (set: string, elem: unknown): Expr => ({ set: { op: 'update', elem, set: `@${set}` } });
export const setMark = (op: '|' | '^', bits: number): Expr => ({
  mangle: { key: meta('mark'), value: { [op]: [meta('mark'), bits] } },
});
export const markAnd = (bits: number): Expr => ({ '&': [meta('mark'), bits] });
export const masquerade = (): Expr => ({ masquerade: { flags: 'fully-random' } });

/** An address or CIDR as an nft value: plain for a host, a prefix object otherwise. */
export function addrValue(cidrOrIp: string): unknown {
  const slash = cidrOrIp.indexOf('/');
  if (slash < 0) return cidrOrIp;
  const len = Number(cidrOrIp.slice(slash + 1));
  const addr = cidrOrIp.slice(0, slash);
  const full = addr.includes(':') ? 128 : 32;
  return len === full ? addr : prefix(addr, len);
}
