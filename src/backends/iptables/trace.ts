// The iptables interpreter: follows a new connection through our SVP- chains in
// the filter and nat tables, entered from the built-in chains' jumps, in the order
// netfilter calls the hooks. Shared with IPVS mode, whose helper rules are iptables
// rules too (that mode adds ipset lookups and IPVS itself, in ../ipvs/trace.ts).

import { canonicalIP, cidrContains, parseCIDR, parseIP } from '../../model/ip.js';
import { parseRule, type IptDump, type IptRule, type Match } from './trace-rules.js';
import {
  endpointText, explore, isLocalAddress, newPacketState, summarise, survivingBranch, TraceError,
  type Branch, type NodeFacts, type PacketState, type TracePacket, type TraceResult,
} from '../trace-result.js';

export type IptState = PacketState;

/** An ipset lookup for `-m set --match-set NAME DIRS`; undefined when there is no such set. */
export type SetLookup = (name: string, dirs: readonly ('src' | 'dst')[], s: IptState) => boolean | undefined;

type End = { kind: 'return' } | { kind: 'stop'; verdict: 'accept' | 'drop' | 'reject'; explicit: boolean };

const MAX_DEPTH = 64;

function cidrHas(cidr: string, ip: string): boolean {
  const c = parseCIDR(cidr.includes('/') ? cidr : `${cidr}/${cidr.includes(':') ? 128 : 32}`);
  const p = parseIP(ip);
  return !!c && !!p && cidrContains(c, p);
}

export class IptablesInterpreter {
  private readonly parsed = new Map<string, IptRule[]>();

  constructor(
    private readonly dump: IptDump,
    private readonly node: NodeFacts,
    private readonly sets?: SetLookup,
  ) {}

  /** The rules of a chain, parsed on first use. */
  private rules(table: string, chain: string): IptRule[] {
    const key = `${table}/${chain}`;
    let r = this.parsed.get(key);
    if (!r) {
      const lines = this.dump.get(table)?.get(chain);
      if (!lines) throw new TraceError(`iptables: a rule jumps to ${table} chain ${chain}, which does not exist`);
      r = lines.map((l, i) => parseRule(l, i));
      this.parsed.set(key, r);
    }
    return r;
  }

  /**
   * One built-in chain: its rules that jump into our chains (SVP-…), in order.
   * Other rules in built-in chains belong to someone else and are not followed.
   * Returns 'drop'/'reject' when the packet dies here.
   */
  builtin(table: 'mangle' | 'nat' | 'filter', chain: string, s: IptState, choose: () => boolean): 'drop' | 'reject' | undefined {
    const lines = this.dump.get(table)?.get(chain) ?? [];
    for (let i = 0; i < lines.length; i++) {
      if (!/ -j SVP-\S+$/.test(lines[i]!)) continue;
      // nat: once the connection is DNATed, the nat hooks before routing are done with it.
      if (table === 'nat' && s.dnat && chain !== 'POSTROUTING') break;
      const end = this.rule(table, parseRule(lines[i]!, i), s, choose, 0);
      if (end && end.kind === 'stop') {
        if (end.verdict !== 'accept') return end.verdict;
        if (end.explicit) s.accepted = true;
        break;
      }
    }
    return undefined;
  }

  private chain(table: string, name: string, s: IptState, choose: () => boolean, depth: number): End {
    if (depth > MAX_DEPTH) throw new TraceError(`iptables: ${table} chain ${name}: jumps nest deeper than ${MAX_DEPTH} (a loop?)`);
    for (const r of this.rules(table, name)) {
      const end = this.rule(table, r, s, choose, depth);
      if (end) return end;
    }
    return { kind: 'return' };
  }

  private rule(table: string, r: IptRule, s: IptState, choose: () => boolean, depth: number): End | undefined {
    const where = `${table} ${r.chain}[${r.index}]${r.comment ? ` (${r.comment})` : ''}`;
    for (const m of r.matches) {
      const ok = this.match(m, s, r);
      if (ok === 'fork') {
        const taken = choose();
        s.steps.push(`${where}: ${m.kind === 'random' ? `statistic random ${(m as { probability: string }).probability}` : `recent ${(m as { name: string }).name} (kept by the kernel: the client may be in it)`} ${taken ? 'taken' : 'not taken'}`);
        if (!taken) return undefined;
      } else if (!ok) return undefined;
    }
    const t = r.target;
    switch (t.kind) {
      case 'jump': {
        s.steps.push(`${where}: -j ${t.chain}`);
        const end = this.chain(table, t.chain, s, choose, depth + 1);
        return end.kind === 'return' ? undefined : end;
      }
      case 'RETURN':
        s.steps.push(`${where}: RETURN`);
        return { kind: 'return' };
      case 'ACCEPT':
        s.steps.push(`${where}: ACCEPT`);
        return { kind: 'stop', verdict: 'accept', explicit: true };
      case 'DROP':
        s.steps.push(`${where}: DROP`);
        return { kind: 'stop', verdict: 'drop', explicit: true };
      case 'REJECT':
        s.steps.push(`${where}: REJECT`);
        return { kind: 'stop', verdict: 'reject', explicit: true };
      case 'MASQUERADE':
        s.masquerade = true;
        s.steps.push(`${where}: MASQUERADE`);
        return { kind: 'stop', verdict: 'accept', explicit: false };
      case 'DNAT': {
        const ip = canonicalIP(t.ip);
        if (!ip) throw new TraceError(`iptables: rule ${where}: DNAT to ${t.ip}, not an address`);
        s.dst = ip;
        s.dport = t.port;
        s.dnat = endpointText(ip, t.port);
        s.steps.push(`${where}: DNAT to ${s.dnat}`);
        return { kind: 'stop', verdict: 'accept', explicit: false };
      }
      case 'MARK':
        s.mark = ((s.mark & ~t.mask) ^ t.value) >>> 0;
        s.steps.push(`${where}: MARK set to 0x${s.mark.toString(16)}`);
        return undefined;
    }
  }

  private match(m: Match, s: IptState, r: IptRule): boolean | 'fork' {
    const neg = (not: boolean, v: boolean) => (not ? !v : v);
    switch (m.kind) {
      case 'src':
        return neg(m.not, cidrHas(m.cidr, s.src));
      case 'dst':
        return neg(m.not, cidrHas(m.cidr, s.dst));
      case 'iif': {
        if (s.iif === undefined) throw new TraceError(`iptables: rule ${r.chain}[${r.index}] matches the input interface (-i): give the packet's interface (--iif)`);
        const hit = m.name.endsWith('+') ? s.iif.startsWith(m.name.slice(0, -1)) : s.iif === m.name;
        return neg(m.not, hit);
      }
      case 'proto':
        return s.proto === m.proto;
      case 'ctstate': {
        // A new connection's first packet: NEW, plus DNAT once it was DNATed.
        const have = ['NEW', ...(s.dnat ? ['DNAT'] : [])];
        return neg(m.not, m.states.some((x) => have.includes(x)));
      }
      case 'mark':
        return neg(m.not, ((s.mark & m.mask) >>> 0) === m.value);
      case 'addrtype': {
        if (m.type !== 'LOCAL') throw new TraceError(`iptables: rule ${r.line}: addrtype ${m.type}`);
        return neg(m.not, isLocalAddress(this.node, m.dir === 'src' ? s.src : s.dst));
      }
      case 'random':
      case 'recent-check':
        return 'fork';
      case 'recent-set':
        return true;
      case 'dport':
        return s.proto === m.proto && neg(m.not, s.dport === m.port);
      case 'set': {
        const hit = this.sets?.(m.name, m.dirs, s);
        if (hit === undefined) throw new TraceError(`iptables: rule ${r.line}: no ipset ${m.name}`);
        return neg(m.not, hit);
      }
    }
  }
}

/** The iptables backend's packet path: nat PREROUTING/OUTPUT, filter INPUT/FORWARD/OUTPUT, nat POSTROUTING. */
export function traceIptables(dump: IptDump, packet: TracePacket, node: NodeFacts): TraceResult {
  const it = new IptablesInterpreter(dump, node);
  return summarise(explore((choose) => {
    const s = newPacketState(packet, node);
    const steps: [('nat' | 'filter'), string][] = s.fromNode ? [['nat', 'OUTPUT'], ['filter', 'OUTPUT']] : [['nat', 'PREROUTING']];
    const die = (v: 'drop' | 'reject'): Branch => ({ verdict: v, masquerade: false, steps: s.steps });
    for (const [t, c] of steps) {
      const end = it.builtin(t, c, s, choose);
      if (end) return die(end);
    }
    const local = isLocalAddress(node, s.dst);
    s.steps.push(`route: ${s.dst} is ${local ? 'a node address: delivered locally' : 'not a node address: forwarded'}`);
    const after: [('nat' | 'filter'), string][] = s.fromNode
      ? [['nat', 'POSTROUTING'], ...(local ? [['filter', 'INPUT'] as ['filter', string]] : [])]
      : local ? [['filter', 'INPUT']] : [['filter', 'FORWARD'], ['nat', 'POSTROUTING']];
    for (const [t, c] of after) {
      const end = it.builtin(t, c, s, choose);
      if (end) return die(end);
    }
    return survivingBranch(s);
  }));
}
