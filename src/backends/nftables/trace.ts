// The nftables interpreter: follows a new connection through our `ip|ip6 svcplane`
// table the way the kernel does. Base chains run by hook and priority; rules are
// evaluated expression by expression; sets and verdict maps are looked up in the
// table's elements. Only the expressions our renderer writes (and `nft -j list`
// prints back) are understood: anything else is a TraceError naming the rule.

import type { Expr, NftChain, NftRule, NftSet, NftTable } from './nft.js';
import { TABLE_NAME } from './render.js';
import { canonicalIP, cidrContains, parseCIDR, parseIP } from '../../model/ip.js';
import {
  endpointText, explore, isLocalAddress, newPacketState, summarise, survivingBranch, TraceError,
  type Branch, type NodeFacts, type PacketState, type TracePacket, type TraceResult,
} from '../trace-result.js';

type Hook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
type Val = string | number | Val[] | undefined;
type ChainEnd = { kind: 'return' } | { kind: 'stop'; verdict: 'accept' | 'drop' | 'reject'; explicit: boolean };

type State = PacketState;

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const MAX_DEPTH = 64;

/** One rule, named for errors and for the path: `chain[index]` and its comment. */
function ruleName(chain: NftChain, i: number, r: NftRule): string {
  return `${chain.name}[${i}]${r.comment ? ` (${r.comment})` : ''}`;
}

class Interpreter {
  private readonly chains: Map<string, NftChain>;
  private readonly sets: Map<string, NftSet>;

  constructor(
    private readonly table: NftTable,
    private readonly node: NodeFacts,
  ) {
    this.chains = new Map(table.chains.map((c) => [c.name, c]));
    this.sets = new Map(table.sets.map((s) => [s.name, s]));
  }

  /** This table's base chains of one hook. */
  baseChains(hook: Hook): { table: Interpreter; chain: NftChain }[] {
    return this.table.chains.filter((c) => c.base?.hook === hook).map((chain) => ({ table: this, chain }));
  }

  chain(name: string, s: State, choose: () => boolean, depth: number): ChainEnd {
    if (depth > MAX_DEPTH) throw new TraceError(`nftables: chain ${this.table.name}/${name}: jumps nest deeper than ${MAX_DEPTH} (a loop?)`);
    const c = this.chains.get(name);
    if (!c) throw new TraceError(`nftables: a rule jumps to chain ${JSON.stringify(name)}, which table ${this.table.name} does not have`);
    for (let i = 0; i < c.rules.length; i++) {
      const r = c.rules[i]!;
      const end = this.rule(c, i, r, s, choose, depth);
      if (end) return end;
    }
    return { kind: 'return' };
  }

  /** Evaluates one rule; a ChainEnd when it ends the chain, undefined to go on with the next rule. */
  private rule(c: NftChain, i: number, r: NftRule, s: State, choose: () => boolean, depth: number): ChainEnd | undefined {
    const where = `${this.table.name === TABLE_NAME ? '' : `${this.table.name}/`}${ruleName(c, i, r)}`;
    const fail = (e: unknown, why: string): never => {
      throw new TraceError(`nftables: rule ${where}: ${why}: ${JSON.stringify(e)}`);
    };
    for (const e of r.expr) {
      if (!isObj(e)) fail(e, 'not an expression');
      if ('match' in e) {
        const m = e.match as { op: string; left: unknown; right: unknown };
        const ok = this.match(m, s, choose, (why) => fail(e, why));
        if (ok === 'fork') {
          const taken = choose();
          s.steps.push(`${where}: ${describeFork(m)} ${taken ? 'taken' : 'not taken'}`);
          if (!taken) return undefined;
          continue;
        }
        if (!ok) return undefined;
        continue;
      }
      const end = this.statement(e, where, s, choose, depth, (why) => fail(e, why));
      if (end === 'next') continue;
      return end;
    }
    return undefined;
  }

  private statement(e: Expr, where: string, s: State, choose: () => boolean, depth: number, fail: (why: string) => never): ChainEnd | 'next' {
    const key = Object.keys(e)[0];
    switch (key) {
      case 'jump':
      case 'goto':
        return this.verdict(e, where, s, choose, depth);
      case 'accept':
      case 'drop':
      case 'return':
        s.steps.push(`${where}: ${key}`);
        return this.verdict(e, where, s, choose, depth);
      case 'reject':
        s.steps.push(`${where}: reject`);
        return { kind: 'stop', verdict: 'reject', explicit: true };
      case 'vmap': {
        const v = e.vmap as { key: unknown; data: unknown };
        const set = this.setRef(v.data, fail);
        const k = this.value(v.key, s, fail);
        const hit = set.elements.find((el) => elementMatches(k, el.key));
        if (!hit) {
          s.steps.push(`${where}: ${show(k)} not in @${set.name}`);
          return 'next';
        }
        if (!isObj(hit.value)) fail('map element without a verdict');
        s.steps.push(`${where}: ${show(k)} in @${set.name}${hit.comment ? ` (${hit.comment})` : ''}`);
        return this.verdict(hit.value as Expr, where, s, choose, depth);
      }
      case 'dnat': {
        const d = e.dnat as { addr?: unknown; port?: unknown };
        const addr = typeof d.addr === 'string' ? canonicalIP(d.addr) : undefined;
        if (!addr || typeof d.port !== 'number') fail('dnat without a literal address and port');
        s.dst = addr!;
        s.dport = d.port as number;
        s.dnat = endpointText(s.dst, s.dport);
        s.steps.push(`${where}: dnat to ${s.dnat}`);
        return { kind: 'stop', verdict: 'accept', explicit: false };
      }
      case 'masquerade':
        s.masquerade = true;
        s.steps.push(`${where}: masquerade`);
        return { kind: 'stop', verdict: 'accept', explicit: false };
      case 'mangle': {
        const m = e.mangle as { key: unknown; value: unknown };
        if (!isMeta(m.key, 'mark') || !isObj(m.value)) fail('only meta mark is set');
        const [op, args] = Object.entries(m.value as Record<string, unknown>)[0] ?? [];
        if (!Array.isArray(args) || !isMeta(args[0], 'mark') || typeof args[1] !== 'number') fail('mark set to an unknown expression');
        const bits = (args as unknown[])[1] as number;
        if (op === '|') s.mark = (s.mark | bits) >>> 0;
        else if (op === '^') s.mark = (s.mark ^ bits) >>> 0;
        else fail(`mark operation ${op}`);
        s.steps.push(`${where}: meta mark set to 0x${s.mark.toString(16)}`);
        return 'next';
      }
      case 'set': {
        // `update @affinity-… { ip saddr }`: the kernel remembers the client; the
        // lookup side is a fork anyway, so nothing to keep here.
        const u = e.set as { op?: string };
        if (u.op !== 'update' && u.op !== 'add') fail('set statement');
        return 'next';
      }
      case 'counter':
        return 'next';
      default:
        return fail('statement not understood');
    }
  }

  /** A verdict: jump/goto a chain, accept, drop, return. */
  private verdict(v: Expr, where: string, s: State, choose: () => boolean, depth: number): ChainEnd | 'next' {
    const key = Object.keys(v)[0];
    const target = isObj(v[key!]) ? (v[key!] as { target?: unknown }).target : undefined;
    switch (key) {
      case 'jump':
      case 'goto': {
        if (typeof target !== 'string') throw new TraceError(`nftables: rule ${where}: ${key} without a target`);
        s.steps.push(`${where}: ${key} ${target}`);
        const end = this.chain(target, s, choose, depth + 1);
        // jump: a return resumes here; goto: it returns from this chain too.
        return key === 'jump' && end.kind === 'return' ? 'next' : end;
      }
      case 'accept':
        return { kind: 'stop', verdict: 'accept', explicit: true };
      case 'drop':
        return { kind: 'stop', verdict: 'drop', explicit: true };
      case 'return':
        return { kind: 'return' };
      default:
        throw new TraceError(`nftables: rule ${where}: verdict not understood: ${JSON.stringify(v)}`);
    }
  }

  private setRef(ref: unknown, fail: (why: string) => never): NftSet {
    if (typeof ref !== 'string' || !ref.startsWith('@')) return fail('expected a named set');
    const set = this.sets.get(ref.slice(1));
    if (!set) return fail(`set ${ref} does not exist`);
    return set;
  }

  /** true/false, or 'fork' when the answer depends on chance or on state the kernel keeps. */
  private match(m: { op: string; left: unknown; right: unknown }, s: State, _choose: () => boolean, fail: (why: string) => never): boolean | 'fork' {
    const { op, left, right } = m;
    if (isObj(left) && 'numgen' in left) return 'fork';
    if (isObj(left) && 'ct' in left) {
      const k = (left.ct as { key?: string }).key;
      const have = k === 'state' ? ['new'] : k === 'status' ? (s.dnat ? ['dnat'] : []) : fail(`ct ${String(k)}`);
      const want = (Array.isArray(right) ? right : [right]).map(String);
      const any = want.some((w) => have.includes(w));
      return op === '!=' ? !any : any;
    }
    if (typeof right === 'string' && right.startsWith('@')) {
      const set = this.setRef(right, fail);
      // Sets the kernel fills itself (affinity): the client may or may not be in it.
      if (set.dynamic || set.flags?.includes('timeout') || set.name.startsWith('affinity-')) return 'fork';
      const v = this.value(left, s, fail);
      if (v === undefined) return false;
      const inSet = set.elements.some((el) => elementMatches(v, el.key));
      if (op === '==' || op === 'in') return inSet;
      if (op === '!=') return !inSet;
      return fail(`operator ${op} on a set`);
    }
    // The traffic counters skip loopback; a traced packet never arrives on lo.
    if (isMeta(left, 'iifname') && right === 'lo' && s.iif === undefined) return op === '!=';
    const v = this.value(left, s, fail);
    if (v === undefined) return false;
    let eq: boolean;
    if (isMeta(left, 'iifname') && typeof right === 'string' && right.endsWith('*')) eq = typeof v === 'string' && v.startsWith(right.slice(0, -1));
    else eq = elementMatches(v, right);
    if (op === '==' || op === 'in') return eq;
    if (op === '!=') return !eq;
    return fail(`operator ${op}`);
  }

  /** The packet's value for an expression; undefined when the packet has no such field (no match). */
  private value(x: unknown, s: State, fail: (why: string) => never): Val {
    if (typeof x === 'string' || typeof x === 'number') return x;
    if (!isObj(x)) return fail('value not understood');
    if ('payload' in x) {
      const { protocol, field } = x.payload as { protocol: string; field: string };
      if ((protocol === 'ip' || protocol === 'ip6') && (field === 'saddr' || field === 'daddr')) return field === 'saddr' ? s.src : s.dst;
      if (field === 'dport' && protocol === 'th') return s.dport;
      if (field === 'dport' && (protocol === 'tcp' || protocol === 'udp' || protocol === 'sctp')) return s.proto === protocol ? s.dport : undefined;
      return fail(`payload ${protocol} ${field}`);
    }
    if ('meta' in x) {
      const k = (x.meta as { key: string }).key;
      if (k === 'l4proto') return s.proto;
      if (k === 'mark') return s.mark;
      if (k === 'iifname') {
        if (s.iif === undefined) throw new TraceError('nftables: the rules detect pod traffic by input interface (meta iifname): give the packet\'s interface (--iif)');
        return s.iif;
      }
      return fail(`meta ${k}`);
    }
    if ('ct' in x) {
      // Conntrack's original tuple (the traffic counters): the packet's destination before DNAT.
      const c = x.ct as { key?: string; dir?: string };
      if (c.dir === 'original' && (c.key === 'ip daddr' || c.key === 'ip6 daddr')) return s.origDst;
      if (c.dir === 'original' && c.key === 'proto-dst') return s.origDport;
      // Its reply source (the per-endpoint counters): who answers, the destination after DNAT.
      if (c.dir === 'reply' && (c.key === 'ip saddr' || c.key === 'ip6 saddr')) return s.dst;
      if (c.dir === 'reply' && c.key === 'proto-src') return s.dport;
      return fail(`ct ${String(c.dir)} ${String(c.key)}`);
    }
    if ('fib' in x) {
      const f = x.fib as { result?: string; flags?: unknown };
      const flags = Array.isArray(f.flags) ? f.flags : [f.flags];
      if (f.result !== 'type' || flags.length !== 1) return fail('fib lookup');
      const addr = flags[0] === 'saddr' ? s.src : flags[0] === 'daddr' ? s.dst : fail('fib flags');
      return isLocalAddress(this.node, addr) ? 'local' : 'unicast';
    }
    if ('concat' in x && Array.isArray(x.concat)) return x.concat.map((p) => this.value(p, s, fail)) as Val[];
    if ('&' in x && Array.isArray(x['&'])) {
      const [a, b] = x['&'] as unknown[];
      const av = this.value(a, s, fail);
      if (typeof av !== 'number' || typeof b !== 'number') return fail('& on non-numbers');
      return (av & b) >>> 0;
    }
    return fail('value not understood');
  }
}

function isMeta(x: unknown, key: string): boolean {
  return isObj(x) && isObj(x.meta) && (x.meta as { key?: string }).key === key;
}

function describeFork(m: { left: unknown; right: unknown }): string {
  if (isObj(m.left) && 'numgen' in m.left) {
    const n = m.left.numgen as { mod?: number };
    return `numgen random mod ${n.mod} == ${String(m.right)}`;
  }
  return `${show(m.right)} (kept by the kernel: the client may be in it)`;
}

function show(v: unknown): string {
  if (Array.isArray(v)) return v.map(show).join(' . ');
  return typeof v === 'string' || typeof v === 'number' ? String(v) : JSON.stringify(v);
}

/** Does a packet value match an element key (a value, prefix, range, concatenation)? */
export function elementMatches(v: Val, key: unknown): boolean {
  if (isObj(key) && 'elem' in key) return elementMatches(v, (key.elem as { val: unknown }).val);
  if (isObj(key) && 'concat' in key) {
    const parts = key.concat as unknown[];
    return Array.isArray(v) && v.length === parts.length && parts.every((p, i) => elementMatches(v[i], p));
  }
  if (Array.isArray(v)) return false;
  if (isObj(key) && 'prefix' in key) {
    const { addr, len } = key.prefix as { addr: string; len: number };
    const c = parseCIDR(`${addr}/${len}`);
    const ip = typeof v === 'string' ? parseIP(v) : undefined;
    return !!c && !!ip && cidrContains(c, ip);
  }
  if (isObj(key) && 'range' in key) {
    const [lo, hi] = key.range as [unknown, unknown];
    if (typeof v === 'number' && typeof lo === 'number' && typeof hi === 'number') return v >= lo && v <= hi;
    const [a, b, x] = [lo, hi, v].map((s) => (typeof s === 'string' ? parseIP(s) : undefined));
    return !!a && !!b && !!x && a.family === x.family && x.value >= a.value && x.value <= b.value;
  }
  if (typeof key === 'number') return v === key;
  if (typeof key === 'string') {
    if (typeof v !== 'string') return false;
    if (v === key) return true;
    const a = canonicalIP(v);
    return a !== undefined && a === canonicalIP(key);
  }
  return false;
}

/** One new connection through every table of ours in its family. */
function run(tables: readonly Interpreter[], node: NodeFacts, p: TracePacket, choose: () => boolean): Branch {
  const s = newPacketState(p, node);
  const fromNode = s.fromNode;
  const hooks: Hook[] = [fromNode ? 'output' : 'prerouting'];
  let routed = false;
  for (let i = 0; i < hooks.length; i++) {
    const end = hook(tables, hooks[i]!, s, choose);
    if (end) return { verdict: end, masquerade: false, steps: s.steps };
    if (routed) continue;
    routed = true;
    const local = isLocalAddress(node, s.dst);
    s.steps.push(`route: ${s.dst} is ${local ? 'a node address: delivered locally' : 'not a node address: forwarded'}`);
    if (fromNode) hooks.push(...(local ? (['postrouting', 'input'] as const) : (['postrouting'] as const)));
    else hooks.push(...(local ? (['input'] as const) : (['forward', 'postrouting'] as const)));
  }
  return survivingBranch(s);
}

/**
 * The base chains of one hook, over all tables, in priority order (ties: table
 * order); 'drop'/'reject' when the packet dies there.
 */
function hook(tables: readonly Interpreter[], h: Hook, s: State, choose: () => boolean): 'drop' | 'reject' | undefined {
  const base = tables.flatMap((t) => t.baseChains(h)).sort((a, b) => a.chain.base!.prio - b.chain.base!.prio);
  for (const { table, chain } of base) {
    // nat chains see only the first packet, and only until a NAT is set up for the connection.
    if (chain.base!.type === 'nat' && h !== 'postrouting' && s.dnat) continue;
    const end = table.chain(chain.name, s, choose, 0);
    if (end.kind === 'stop') {
      if (end.verdict !== 'accept') return end.verdict;
      if (end.explicit) s.accepted = true;
    }
  }
  return undefined;
}

/** Traces a packet through one family's tables of ours (none: nothing of ours touches it). */
export function traceNftables(tables: readonly NftTable[], packet: TracePacket, node: NodeFacts): TraceResult {
  if (tables.length === 0) {
    return { verdict: 'none', endpoints: [], masquerade: false, path: ['no svcplane table for this family'] };
  }
  const its = tables.map((t) => new Interpreter(t, node));
  return summarise(explore((choose) => run(its, node, packet, choose)));
}

/** Whether a table name is ours: the main table or one of its shards (`svcplane-00`…; not `svcplane-userspace`). */
export function isOurTable(name: string): boolean {
  return name === TABLE_NAME || new RegExp(`^${TABLE_NAME}-[0-9a-f]{2}$`).test(name);
}
