// The IPVS-mode interpreter: the helper iptables rules (with their ipset lookups)
// run through the iptables interpreter, and IPVS itself picks a real server where
// the kernel calls it: LOCAL_IN for arriving traffic (after filter INPUT), LOCAL_OUT
// for the node's own (right after mangle and nat OUTPUT). Virtual-server addresses sit on our
// dummy interface, so the node owns them: routing delivers them locally.

import { HOOKS } from './iptables-rules.js';
import { parseIpvsadmSave, type LiveVirtualServer } from './diff.js';
import { SECTION, splitSections } from './document.js';
import { canonicalIP, cidrContains, parseCIDR, parseIP, type IPFamily } from '../../model/ip.js';
import { addBuiltinJumps } from '../iptables/trace-document.js';
import { IptablesInterpreter, type IptState } from '../iptables/trace.js';
import { readDump, type IptDump } from '../iptables/trace-rules.js';
import {
  endpointText, explore, isLocalAddress, newPacketState, summarise, survivingBranch, TraceError,
  type Branch, type NodeFacts, type TracePacket, type TraceResult,
} from '../trace-result.js';

export interface IpsetView {
  readonly type: string;
  readonly entries: readonly string[];
}

/** Everything IPVS mode keeps in the kernel for one family. */
export interface IpvsView {
  /** Addresses on the dummy interface (the node owns them). */
  readonly addresses: readonly string[];
  readonly sets: ReadonlyMap<string, IpsetView>;
  readonly iptables: IptDump;
  readonly virtualServers: readonly LiveVirtualServer[];
}

/** `create`/`add` lines of `ipset save` (or our restore input) -> sets, addresses canonical. */
export function readIpsets(text: string, into = new Map<string, IpsetView>()): Map<string, IpsetView> {
  const entries = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const w = line.trim().split(/\s+/);
    if (w[0] === 'create' && w[1] && w[2]) {
      into.set(w[1], { type: w[2], entries: [] });
      entries.set(w[1], []);
    } else if (w[0] === 'add' && w[1] && w[2]) {
      const list = entries.get(w[1]) ?? [];
      entries.set(w[1], list);
      list.push(w[2].split(',').map((p) => (p.includes('/') ? p : canonicalIP(p) ?? p)).join(','));
    }
  }
  for (const [name, list] of entries) into.set(name, { type: into.get(name)?.type ?? 'unknown', entries: list });
  return into;
}

/** The view of one family from our rendered IPVS document. */
export function ipvsDocumentView(document: string, family: IPFamily): IpvsView {
  const sec = splitSections(document);
  const v4 = family === 'IPv4';
  const part = (name: string) => {
    const t = sec.get(name);
    if (t === undefined) throw new TraceError(`ipvs document: no "${name}" section`);
    return t;
  };
  const addresses = part(SECTION.addresses).split('\n').filter(Boolean).map((a) => a.split('/')[0]!);
  return {
    addresses,
    sets: readIpsets(part(v4 ? SECTION.ipset4 : SECTION.ipset6)),
    iptables: addBuiltinJumps(readDump(part(v4 ? SECTION.iptables4 : SECTION.iptables6)), HOOKS.map(([table, chain, target]) => ({ table, chain, rule: ['-j', target] }))),
    virtualServers: parseIpvsadmSave(part(SECTION.ipvs)).filter((vs) => (vs.address.includes(':') ? 'IPv6' : 'IPv4') === family),
  };
}

/** `-m set --match-set NAME DIRS` against one set's entries. */
function setLookup(sets: ReadonlyMap<string, IpsetView>) {
  return (name: string, dirs: readonly ('src' | 'dst')[], s: IptState): boolean | undefined => {
    const set = sets.get(name);
    if (!set) return undefined;
    const ip = (d: 'src' | 'dst' | undefined) => (d === 'src' ? s.src : s.dst);
    const port = (d: 'src' | 'dst' | undefined) => {
      if (d !== 'dst') throw new TraceError(`ipset ${name}: a source port is not known to a trace`);
      return s.dport;
    };
    const hostMatches = (entry: string, value: string, net: boolean) => {
      if (!net || !entry.includes('/')) return entry === canonicalIP(value);
      const c = parseCIDR(entry);
      const p = parseIP(value);
      return !!c && !!p && cidrContains(c, p);
    };
    const ipPort = (e: string) => e.split(',');
    switch (set.type) {
      case 'hash:ip':
        return set.entries.some((e) => hostMatches(e, ip(dirs[0]), false));
      case 'bitmap:port': {
        const p = port(dirs[0]);
        return set.entries.some((e) => {
          const [lo, hi] = e.split('-').map(Number);
          return hi === undefined ? p === lo : p >= lo! && p <= hi;
        });
      }
      case 'hash:ip,port':
      case 'hash:ip,port,ip':
      case 'hash:ip,port,net': {
        const want = [canonicalIP(ip(dirs[0])), `${s.proto}:${port(dirs[1])}`];
        return set.entries.some((e) => {
          const [a, pp, third] = ipPort(e);
          if (a !== want[0] || pp !== want[1]) return false;
          if (set.type === 'hash:ip,port') return true;
          return third !== undefined && hostMatches(third, ip(dirs[2]), set.type === 'hash:ip,port,net');
        });
      }
      default:
        throw new TraceError(`ipset ${name}: type ${set.type} not understood`);
    }
  };
}

/** IPVS at LOCAL_IN / LOCAL_OUT: 'none' when no virtual server holds the address, else it forwards or refuses. */
function ipvsStep(view: IpvsView, s: IptState, choose: () => boolean): 'none' | 'dnat' | 'reject' {
  const dst = canonicalIP(s.dst);
  const vs = view.virtualServers.find((v) => v.protocol === s.proto && canonicalIP(v.address) === dst && v.port === s.dport);
  if (!vs) {
    s.steps.push(`ipvs: no virtual server ${endpointText(s.dst, s.dport)}/${s.proto}`);
    return 'none';
  }
  const usable = vs.realServers.filter((r) => r.weight > 0);
  const name = `ipvs ${vs.protocol} ${endpointText(vs.address, vs.port)} (${vs.scheduler}${vs.persistentSeconds ? `, persistent ${vs.persistentSeconds}s` : ''})`;
  if (usable.length === 0) {
    // ip_vs_leave(): no destination to schedule -> ICMP port unreachable, packet dropped.
    s.steps.push(`${name}: no real server with weight > 0: IPVS answers port unreachable`);
    return 'reject';
  }
  // Any real server with a weight can be picked (scheduler and persistence decide which).
  let i = 0;
  while (i < usable.length - 1 && !choose()) i++;
  const r = usable[i]!;
  s.dst = canonicalIP(r.address) ?? r.address;
  s.dport = r.port;
  s.dnat = endpointText(s.dst, s.dport);
  s.steps.push(`${name}: real server ${s.dnat}`);
  return 'dnat';
}

export function traceIpvs(view: IpvsView, packet: TracePacket, node: NodeFacts): TraceResult {
  const facts: NodeFacts = { localAddresses: [...node.localAddresses, ...view.addresses] };
  const it = new IptablesInterpreter(view.iptables, facts, setLookup(view.sets));
  return summarise(explore((choose) => {
    const s = newPacketState(packet, facts);
    const die = (v: 'drop' | 'reject'): Branch => ({ verdict: v, masquerade: false, steps: s.steps });
    const hook = (t: 'mangle' | 'nat' | 'filter', c: string) => it.builtin(t, c, s, choose);
    if (s.fromNode) {
      // mangle OUTPUT (-150) and nat OUTPUT (-100) see the packet before IPVS (-99).
      let end = hook('mangle', 'OUTPUT');
      if (end) return die(end);
      end = hook('nat', 'OUTPUT');
      if (end) return die(end);
      if (ipvsStep(view, s, choose) === 'reject') return die('reject');
      const local = !s.dnat && isLocalAddress(facts, s.dst);
      end = hook('nat', 'POSTROUTING');
      if (end) return die(end);
      if (local) {
        s.steps.push(`route: ${s.dst} is a node address: delivered locally`);
        end = hook('filter', 'INPUT');
        if (end) return die(end);
      }
      return survivingBranch(s);
    }
    let end = hook('nat', 'PREROUTING');
    if (end) return die(end);
    const local = isLocalAddress(facts, s.dst);
    s.steps.push(`route: ${s.dst} is ${local ? 'a node address: delivered locally' : 'not a node address: forwarded'}`);
    if (local) {
      end = hook('filter', 'INPUT');
      if (end) return die(end);
      const r = ipvsStep(view, s, choose);
      if (r === 'reject') return die('reject');
      if (r === 'none') return survivingBranch(s);
    }
    end = hook('nat', 'POSTROUTING');
    if (end) return die(end);
    return survivingBranch(s);
  }));
}
