// Desired IPVS ruleset vs what the kernel reports -> the commands that converge it,
// touching only what changed: IPVS virtual and real servers (`ipvsadm -R` input:
// -A/-E/-D, -a/-e/-d), ipset members (`ipset restore` input: create/add/del),
// dummy-interface addresses. Pure; the parser for `ipvsadm -Sn` here too (ipsets: ../ipset.ts).

import { virtualServerLines, hostPort } from './document.js';
import type { IpvsProtocol, RealServer, VirtualServer } from './ruleset.js';

export { diffIpsets, hasCounters, parseIpsetSave, rebuildName, type LiveIpset } from '../ipset.js';

const FLAG_PROTO: Record<string, IpvsProtocol> = { '-t': 'tcp', '-u': 'udp', '--sctp-service': 'sctp' };
const PROTO_FLAG: Record<IpvsProtocol, string> = { tcp: '-t', udp: '-u', sctp: '--sctp-service' };

export interface LiveVirtualServer {
  readonly protocol: IpvsProtocol;
  readonly address: string;
  readonly port: number;
  readonly scheduler: string;
  readonly persistentSeconds?: number;
  readonly realServers: RealServer[];
}

export function splitHostPort(s: string): { address: string; port: number } {
  const m = /^\[(.+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (!m) throw new Error(`cannot parse address:port ${JSON.stringify(s)}`);
  return { address: m[1]!, port: Number(m[2]) };
}

/** Parses `ipvsadm -Sn` (the same syntax `ipvsadm -R` reads). Firewall-mark services are not ours and are ignored. */
export function parseIpvsadmSave(text: string): LiveVirtualServer[] {
  const byKey = new Map<string, LiveVirtualServer>();
  for (const line of text.split('\n')) {
    const w = line.trim().split(/\s+/);
    if (w.length < 3 || (w[0] !== '-A' && w[0] !== '-a')) continue;
    const proto = FLAG_PROTO[w[1]!];
    if (!proto) continue;
    const { address, port } = splitHostPort(w[2]!);
    const key = `${proto}|${address}|${port}`;
    const opt = (flag: string) => {
      const i = w.indexOf(flag);
      return i >= 0 ? w[i + 1] : undefined;
    };
    if (w[0] === '-A') {
      const p = opt('-p');
      byKey.set(key, { protocol: proto, address, port, scheduler: opt('-s') ?? 'wlc', ...(p ? { persistentSeconds: Number(p) } : {}), realServers: [] });
    } else {
      const vs = byKey.get(key);
      const r = opt('-r');
      if (!vs || !r) continue;
      const rs = splitHostPort(r);
      vs.realServers.push({ address: rs.address, port: rs.port, weight: Number(opt('-w') ?? '1') });
    }
  }
  return [...byKey.values()];
}

export const vsKey = (v: { protocol: string; address: string; port: number }): string => `${v.protocol}|${v.address}|${v.port}`;
const rsKey = (r: RealServer) => `${r.address}|${r.port}`;

/**
 * `ipvsadm -R` commands from live to desired. Only virtual servers we would own
 * are compared: `owns` says whether a live one is ours (its address is on our
 * dummy interface or is a node address we serve NodePorts on).
 */
export function diffIpvs(desired: readonly VirtualServer[], live: readonly LiveVirtualServer[], owns: (v: LiveVirtualServer) => boolean): string[] {
  const out: string[] = [];
  const liveBy = new Map(live.map((v) => [vsKey(v), v]));
  const wantBy = new Map(desired.map((v) => [vsKey(v), v]));
  for (const v of desired) {
    const l = liveBy.get(vsKey(v));
    const svc = `${PROTO_FLAG[v.protocol]} ${hostPort(v.address, v.port)}`;
    if (!l) {
      out.push(...virtualServerLines(v));
      continue;
    }
    if (l.scheduler !== v.scheduler || (l.persistentSeconds ?? 0) !== (v.persistentSeconds ?? 0)) {
      out.push(`-E ${svc} -s ${v.scheduler}${v.persistentSeconds ? ` -p ${v.persistentSeconds}` : ''}`);
    }
    const have = new Map(l.realServers.map((r) => [rsKey(r), r]));
    const want = new Map(v.realServers.map((r) => [rsKey(r), r]));
    for (const r of v.realServers) {
      const h = have.get(rsKey(r));
      if (!h) out.push(`-a ${svc} -r ${hostPort(r.address, r.port)} -m -w ${r.weight}`);
      else if (h.weight !== r.weight) out.push(`-e ${svc} -r ${hostPort(r.address, r.port)} -m -w ${r.weight}`);
    }
    for (const r of l.realServers) if (!want.has(rsKey(r))) out.push(`-d ${svc} -r ${hostPort(r.address, r.port)}`);
  }
  for (const l of live) {
    if (!wantBy.has(vsKey(l)) && owns(l)) out.push(`-D ${PROTO_FLAG[l.protocol]} ${hostPort(l.address, l.port)}`);
  }
  return out;
}
