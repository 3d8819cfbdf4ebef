// The IPVS ruleset as one reviewable text document, in sections, each the input
// of one tool; `#` lines are for the reader and are stripped before a tool sees
// its section. splitSections is the way back.

import { DUMMY_INTERFACE, type Ipset, type IpvsRuleset, type RealServer, type VirtualServer } from './ruleset.js';
import { addLine, createLine } from '../ipset.js';

export const SECTION = {
  addresses: `addresses on ${DUMMY_INTERFACE}`,
  ipset4: 'ipset restore (IPv4)',
  iptables4: 'iptables-restore --noflush (IPv4)',
  ipset6: 'ipset restore (IPv6)',
  iptables6: 'ip6tables-restore --noflush (IPv6)',
  ipvs: 'ipvsadm -R',
} as const;

const MARK = '# == ';

/** `10.96.0.10:80`, `[fd00::1]:80`. */
export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

const PROTO_FLAG = { tcp: '-t', udp: '-u', sctp: '--sctp-service' } as const;

export function virtualServerLines(vs: VirtualServer): string[] {
  const svc = `${PROTO_FLAG[vs.protocol]} ${hostPort(vs.address, vs.port)}`;
  const head = `-A ${svc} -s ${vs.scheduler}${vs.persistentSeconds ? ` -p ${vs.persistentSeconds}` : ''}`;
  return [head, ...vs.realServers.map((r: RealServer) => `-a ${svc} -r ${hostPort(r.address, r.port)} -m -w ${r.weight}`)];
}

export function ipsetLines(s: Ipset): string[] {
  return [`# ${s.name}: ${s.comment}`, createLine(s), ...s.entries.map((e) => addLine(s.name, e))];
}

export function serializeIpvs(r: IpvsRuleset): string {
  const out: string[] = ['# svcplane ruleset, IPVS mode. Applied in this order: addresses, ipsets, iptables, IPVS.'];
  out.push(`${MARK}${SECTION.addresses}`, ...r.interfaceAddresses);
  for (const f of r.families) {
    const v4 = f.family === 'IPv4';
    out.push(`${MARK}${v4 ? SECTION.ipset4 : SECTION.ipset6}`);
    for (const s of f.ipsets) out.push(...ipsetLines(s));
    out.push(`${MARK}${v4 ? SECTION.iptables4 : SECTION.iptables6}`, f.iptables.trimEnd());
  }
  out.push(`${MARK}${SECTION.ipvs}`);
  for (const f of r.families) {
    for (const vs of f.virtualServers) out.push(`# ${vs.service}`, ...virtualServerLines(vs));
  }
  // The newline at the end from the join: `join(…) + '\n'` is a cons string, flattened (copied) by its writer.
  out.push('');
  return out.join('\n');
}

/** Section title -> its text without comment lines. */
export function splitSections(doc: string): Map<string, string> {
  const m = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const line of doc.split('\n')) {
    if (line.startsWith(MARK)) {
      cur = [];
      m.set(line.slice(MARK.length), cur);
    } else if (cur && line.trim() !== '' && !line.startsWith('#')) {
      cur.push(line);
    }
  }
  return new Map([...m].map(([k, v]) => [k, v.length ? v.join('\n') + '\n' : '']));
}
