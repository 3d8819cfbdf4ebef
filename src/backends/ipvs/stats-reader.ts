// Per-Service traffic in IPVS mode, from IPVS's own statistics (stats.ts): the kernel
// keeps them on every virtual and real server, so the rules need nothing extra and
// the data plane pays nothing more. The kernel knows addresses only, so the Service
// port of each virtual server comes from the input the node enforces, placed where
// render.ts places virtual servers (ClusterIP, external and load-balancer IPs on the
// Service port; node ports on the node-port addresses). Only the Service port views
// are built, not the whole render: ~4x cheaper at 10k Services, and the naming runs
// again whenever the synced input changed. A test holds it to render's virtual servers.
//
// Per Service port: new_connections (IPVS "Conns"), packets and bytes (in + out, both
// directions of its connections, as nftables counts them). Per endpoint (real server):
// the same three as endpoint_*. Refusals are not per Service here: IPVS mode rejects
// and drops by ipset membership in static iptables rules that never name a Service.

import { systemExec } from '../../exec/system-exec.js';
import { runChecked, type Exec } from '../../exec/exec.js';
import type { RenderInput } from '../../model/render-input.js';
import { nodePortAddresses, servicePortViews } from '../../model/service-ports.js';
import { sumSamples, type ServicePortId, type TrafficSample } from '../traffic.js';
import { parseIpvsStats, type IpvsVirtualServerStats } from './stats.js';

/** `tcp 10.96.0.10:80` (IPv6 without brackets) -> the Service port it serves. */
export type VirtualServerNames = ReadonlyMap<string, ServicePortId>;

const vsKey = (protocol: string, ip: string, port: number) => `${protocol} ${ip}:${port}`;

/** Every virtual server the input renders, named after its Service port. Pure. */
export function virtualServerNames(input: RenderInput): VirtualServerNames {
  const out = new Map<string, ServicePortId>();
  for (const family of ['IPv4', 'IPv6'] as const) {
    const nodePortIPs = nodePortAddresses(input.node, input.config, family, 'all').ips;
    for (const v of servicePortViews(input, family)) {
      const id = { namespace: v.namespace, service: v.name, port: v.port, protocol: v.protocol };
      const proto = v.protocol.toLowerCase();
      for (const ip of [v.clusterIP, ...v.externalIPs, ...v.loadBalancerIPs]) out.set(vsKey(proto, ip, v.port), id);
      if (v.nodePort) for (const ip of nodePortIPs) out.set(vsKey(proto, ip, v.nodePort), id);
    }
  }
  return out;
}

/** Parsed statistics -> samples of the named virtual servers (others are not ours, or not rendered yet). Pure. */
export function ipvsTrafficSamples(stats: readonly IpvsVirtualServerStats[], names: VirtualServerNames): TrafficSample[] {
  const out: TrafficSample[] = [];
  for (const vs of stats) {
    const id = names.get(vsKey(vs.protocol, vs.ip, vs.port));
    if (!id) continue;
    out.push({ ...id, kind: 'new_connections', value: vs.conns });
    out.push({ ...id, kind: 'packets', value: vs.inPackets + vs.outPackets });
    out.push({ ...id, kind: 'bytes', value: vs.inBytes + vs.outBytes });
    for (const rs of vs.realServers) {
      const endpoint = rs.address;
      out.push({ ...id, endpoint, kind: 'endpoint_new_connections', value: rs.conns });
      out.push({ ...id, endpoint, kind: 'endpoint_packets', value: rs.inPackets + rs.outPackets });
      out.push({ ...id, endpoint, kind: 'endpoint_bytes', value: rs.inBytes + rs.outBytes });
    }
  }
  // A Service port has one virtual server per address (ClusterIP, LB IPs, node addresses): summed.
  return sumSamples(out);
}

// The names of the last input, kept while the agent holds the same input object (a read every few seconds, a render only on change).
let cached: { input: RenderInput; names: VirtualServerNames } | undefined;

function namesOf(input: RenderInput): VirtualServerNames {
  if (cached?.input !== input) cached = { input, names: virtualServerNames(input) };
  return cached.names;
}

/**
 * Reads IPVS's statistics in the current network namespace (or `netns`) and names
 * them after `input`'s Service ports. Without an input nothing can be named: no samples.
 */
export async function readIpvsTraffic(exec: Exec = systemExec, netns?: string, input?: RenderInput): Promise<TrafficSample[]> {
  if (!input) return [];
  const text = await runChecked(exec, { file: 'ipvsadm', args: ['-Ln', '--stats', '--exact'], timeoutMs: 30_000, ...(netns ? { netns } : {}) });
  return ipvsTrafficSamples(parseIpvsStats(text), namesOf(input));
}
