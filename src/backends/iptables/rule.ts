// One iptables rule, written in exactly the form `iptables-save` prints it back
// (option order, `/32` on addresses, quoting, the MARK and REJECT spellings, the
// statistic probability after the kernel's rounding). Apply compares rendered
// chains with read-back chains as text, so any difference here would resend a
// chain on every sync; the round-trip test loads every golden and compares.

import type { IPFamily } from '../../model/ip.js';
import { canonicalCIDR, canonicalIP } from '../../model/ip.js';

/** `[!] -s/-d ADDR`, `[!] -i IFACE`: the base matches iptables-save prints first, in this order. */
export interface RuleSpec {
  readonly src?: string;
  readonly notSrc?: boolean;
  readonly dst?: string;
  readonly notDst?: boolean;
  readonly inIface?: string;
  readonly notInIface?: boolean;
  /** `-p tcp|udp|sctp` (lowercase). */
  readonly proto?: string;
  readonly comment?: string;
  /** Match modules after the comment, already in save form, e.g. `-m addrtype --dst-type LOCAL`. */
  readonly matches?: readonly string[];
  /** `-m PROTO --dport N`, after the other matches. */
  readonly dport?: number;
  /** The target and its options, e.g. `-j SVP-SVC-…` or `-j DNAT --to-destination 10.0.0.1:80`. */
  readonly target: string;
}

const UNSAFE = /[^A-Za-z0-9 ._:;/\-<>()[\],=+@]/g;
const UNSAFE_TEST = /[^A-Za-z0-9 ._:;/\-<>()[\],=+@]/;

/** iptables stores comments of at most 255 bytes. */
const MAX_COMMENT = 240;

/**
 * A comment iptables-restore reads as one argument and iptables-save prints back
 * unchanged. The input is validated upstream, but a comment must never be able to
 * end the quoted string or the line: every character outside a plain printable set
 * (quotes, backslashes, newlines, control and non-ASCII characters) becomes `_`.
 */
export function safeComment(text: string): string {
  // Most comments are clean already: a test allocates nothing, a replace a new string.
  const clean = (UNSAFE_TEST.test(text) ? text.replace(UNSAFE, '_') : text).slice(0, MAX_COMMENT);
  return clean === '' ? '_' : clean;
}

/** How iptables-save quotes a string: bare when only [A-Za-z0-9_-], else in double quotes. */
export function saveQuote(text: string): string {
  return /^[A-Za-z0-9_-]+$/.test(text) ? text : `"${text}"`;
}

// At 10k Services the same few thousand addresses are checked 10^5 times: parse each
// IPv6 address once. IPv4 skips the cache: canonicalIP's dotted-quad check is cheaper
// than a Map lookup of a fresh string.
const canonical = new Map<string, string | undefined>();
function canonicalIPCached(ip: string): string | undefined {
  if (!ip.includes(':')) return canonicalIP(ip);
  let c = canonical.get(ip);
  if (c === undefined && !canonical.has(ip)) {
    if (canonical.size > 200_000) canonical.clear();
    c = canonicalIP(ip);
    canonical.set(ip, c);
  }
  return c;
}

/** An address or CIDR as iptables-save prints it (`/32`, `/128` on single addresses). Throws on anything else. */
export function addrArg(a: string): string {
  if (a.includes('/')) {
    const c = canonicalCIDR(a);
    if (!c) throw new Error(`iptables render: not a CIDR: ${JSON.stringify(a)}`);
    return c;
  }
  const ip = canonicalIPCached(a);
  if (!ip) throw new Error(`iptables render: not an IP address: ${JSON.stringify(a)}`);
  return `${ip}/${ip.includes(':') ? 128 : 32}`;
}

/** `IP:PORT` or `[IP6]:PORT` for DNAT. Throws on a value that is not an address and port. */
export function dnatTarget(ip: string, port: number): string {
  const c = canonicalIPCached(ip);
  if (!c || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`iptables render: bad endpoint ${JSON.stringify(ip)}:${JSON.stringify(port)}`);
  }
  return c.includes(':') ? `[${c}]:${port}` : `${c}:${port}`;
}

const PROTOS = new Set(['tcp', 'udp', 'sctp']);

function portArg(p: number): string {
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`iptables render: bad port ${JSON.stringify(p)}`);
  return String(p);
}

// Consecutive rules often carry the same comment (an endpoint chain's two rules, a
// Service's rules): the last one is kept rather than sanitised and quoted again.
let lastComment: string | undefined;
let lastQuoted = '';
function quotedComment(comment: string): string {
  if (comment !== lastComment) {
    lastQuoted = saveQuote(safeComment(comment));
    lastComment = comment;
  }
  return lastQuoted;
}

/** `-A CHAIN …`: one rule line. Parts pushed one by one (no array per negation): 10^5 rules per render at 10k Services. */
export function ruleLine(chain: string, r: RuleSpec): string {
  const parts = ['-A', chain];
  if (r.src !== undefined) {
    if (r.notSrc) parts.push('!');
    parts.push('-s', addrArg(r.src));
  }
  if (r.dst !== undefined) {
    if (r.notDst) parts.push('!');
    parts.push('-d', addrArg(r.dst));
  }
  if (r.inIface !== undefined) {
    if (!/^[A-Za-z0-9_.:-]{1,15}\+?$/.test(r.inIface)) throw new Error(`iptables render: bad interface ${JSON.stringify(r.inIface)}`);
    if (r.notInIface) parts.push('!');
    parts.push('-i', r.inIface);
  }
  if (r.proto !== undefined) {
    if (!PROTOS.has(r.proto)) throw new Error(`iptables render: bad protocol ${JSON.stringify(r.proto)}`);
    parts.push('-p', r.proto);
  }
  if (r.comment !== undefined) parts.push('-m', 'comment', '--comment', quotedComment(r.comment));
  if (r.matches) for (const m of r.matches) parts.push(m);
  if (r.dport !== undefined) {
    if (r.proto === undefined) throw new Error('iptables render: --dport needs a protocol');
    parts.push('-m', r.proto, '--dport', portArg(r.dport));
  }
  parts.push(r.target);
  return parts.join(' ');
}

/**
 * `--probability` as iptables-save prints it: the statistic match keeps
 * round(p * 2^31) and prints that over 2^31 with 11 decimals (printf's "%.11f"), so 1/3
 * reads back as 0.33333333349. Writing that form makes render and read-back agree.
 * printf rounds the exact value half to even, toFixed half up: they part at exact ties,
 * such as 1/4096 = 0.000244140625, which iptables prints 0.00024414062 (a Service with
 * 4096 endpoints or more was rewritten by every full sync), so the decimals are made here
 * from the stored integer exactly.
 */
export function probability(n: number): string {
  const stored = BigInt(Math.round(0x80000000 / n));
  const scaled = stored * 10n ** 11n;
  let digits = scaled / 0x80000000n;
  const twiceRest = (scaled % 0x80000000n) * 2n;
  if (twiceRest > 0x80000000n || (twiceRest === 0x80000000n && digits % 2n === 1n)) digits++;
  const text = digits.toString().padStart(12, '0');
  return `${text.slice(0, -11)}.${text.slice(-11)}`;
}

// Every Service with n endpoints uses the same n-1 matches: made once each.
const randomMatches: string[] = [];

/** `-m statistic --mode random --probability 1/n`. */
export function randomMatch(n: number): string {
  // No closure here: tsx (the bench, the tests) names every arrow function it makes with
  // a defineProperty call, which at 10^5 calls per render was 4 % of the render.
  if (n >= 4096) return statisticMatch(n);
  return (randomMatches[n] ??= statisticMatch(n));
}

function statisticMatch(n: number): string {
  return `-m statistic --mode random --probability ${probability(n)}`;
}

/** The recent match's full-address mask for a family. */
export function recentMask(family: IPFamily): string {
  return family === 'IPv4' ? '255.255.255.255' : 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
}

/** `-m mark --mark M/M` (or `! --mark`), in save form. */
export function markMatch(mark: number, not = false): string {
  const m = `0x${mark.toString(16)}`;
  return `-m mark ${not ? '! ' : ''}--mark ${m}/${m}`;
}

/** REJECT with the family's port-unreachable, as iptables-save prints it. */
export function rejectTarget(family: IPFamily): string {
  return `-j REJECT --reject-with ${family === 'IPv4' ? 'icmp-port-unreachable' : 'icmp6-port-unreachable'}`;
}
