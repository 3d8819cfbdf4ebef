// IPVS keeps its own traffic statistics on every virtual and real server (no rule of
// ours needed): connections scheduled, packets and bytes in and out. This file reads
// `ipvsadm -Ln --stats --exact` into data. Pure: stats-reader.ts runs the tool and
// names each virtual server after its Service port.

import type { IpvsProtocol } from './ruleset.js';

/** One server's counters, as ipvsadm prints them (exact, not scaled to K/M). */
export interface IpvsCounters {
  /** Connections scheduled to it (one per new connection, or per persistence template use). */
  readonly conns: number;
  readonly inPackets: number;
  readonly outPackets: number;
  readonly inBytes: number;
  readonly outBytes: number;
}

export interface IpvsRealServerStats extends IpvsCounters {
  /** `ip:port`, IPv6 in brackets as ipvsadm prints it (`[fd00::1]:80`). */
  readonly address: string;
}

export interface IpvsVirtualServerStats extends IpvsCounters {
  readonly protocol: IpvsProtocol;
  /** The address without brackets. */
  readonly ip: string;
  readonly port: number;
  readonly realServers: readonly IpvsRealServerStats[];
}

const COUNTERS = String.raw`\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$`;
const VIRTUAL = new RegExp(String.raw`^(TCP|UDP|SCTP)\s+(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d+)` + COUNTERS);
const REAL = new RegExp(String.raw`^\s+->\s+(\[[0-9a-fA-F:.]+\]:\d+|[0-9.]+:\d+)` + COUNTERS);

function counters(m: RegExpExecArray, from: number): IpvsCounters {
  const n = (i: number) => Number(m[from + i]);
  return { conns: n(0), inPackets: n(1), outPackets: n(2), inBytes: n(3), outBytes: n(4) };
}

/**
 * `ipvsadm -Ln --stats --exact` -> one entry per TCP/UDP/SCTP virtual server with its
 * real servers. Header lines and firewall-mark services (FWM: never ours) are skipped,
 * and so are the real servers under them.
 */
export function parseIpvsStats(text: string): IpvsVirtualServerStats[] {
  const out: { vs: IpvsVirtualServerStats; reals: IpvsRealServerStats[] }[] = [];
  let current: IpvsRealServerStats[] | undefined;
  for (const line of text.split('\n')) {
    const v = VIRTUAL.exec(line);
    if (v) {
      current = [];
      const vs = { protocol: v[1]!.toLowerCase() as IpvsProtocol, ip: v[2] ?? v[3]!, port: Number(v[4]), ...counters(v, 5), realServers: current };
      out.push({ vs, reals: current });
      continue;
    }
    const r = REAL.exec(line);
    if (r) {
      current?.push({ address: r[1]!, ...counters(r, 2) });
      continue;
    }
    // Any other line that starts a service (FWM) ends the current one: its real servers are not ours.
    if (/^\S/.test(line)) current = undefined;
  }
  return out.map((o) => o.vs);
}
