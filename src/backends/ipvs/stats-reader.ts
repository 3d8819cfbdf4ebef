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
// the same three as endpoint_*. Refusals (rejected_packets, dropped_packets) come from
// the counters of the refusing ipsets' elements (refusals.ts), named from the same pass.

import { systemExec } from '../../exec/system-exec.js';
import { runChecked, type Exec } from '../../exec/exec.js';
import type { RenderInput } from '../../model/render-input.js';
import { nodePortAddresses, servicePortViews } from '../../model/service-ports.js';
import { EVERY_ENDPOINT, sumSamples, trafficSample, type EndpointFilter, type ServicePortId, type TrafficSample } from '../traffic.js';
import { parseIpvsStats, type IpvsVirtualServerStats } from './stats.js';
import { addressKey, nodePortKey, parseSetCounters, refusalSamples, saveCountedSets, type RefusalNames } from './refusals.js';

/** `tcp 10.96.0.10:80` (IPv6 without brackets) -> the Service port it serves. */
export type VirtualServerNames = ReadonlyMap<string, ServicePortId>;

/** What the reads of one input name: virtual servers (stats) and refused elements (refusals.ts). */
export interface TrafficNames extends RefusalNames {
  readonly virtualServers: VirtualServerNames;
}

const vsKey = addressKey;

/** Every virtual server the input renders, and every Service address and node port its refusal sets can hold, named after its Service port. Pure. */
export function trafficNames(input: RenderInput): TrafficNames {
  const vss = new Map<string, ServicePortId>();
  const addresses = new Map<string, ServicePortId>();
  const nodePorts = new Map<string, ServicePortId>();
  for (const family of ['IPv4', 'IPv6'] as const) {
    const nodePortIPs = nodePortAddresses(input.node, input.config, family, 'all').ips;
    for (const v of servicePortViews(input, family)) {
      const id = { namespace: v.namespace, service: v.name, port: v.port, protocol: v.protocol };
      const proto = v.protocol.toLowerCase();
      for (const ip of [v.clusterIP, ...v.externalIPs, ...v.loadBalancerIPs]) addresses.set(vsKey(proto, ip, v.port), id);
      if (v.nodePort) {
        nodePorts.set(nodePortKey(proto, v.nodePort), id);
        for (const ip of nodePortIPs) vss.set(vsKey(proto, ip, v.nodePort), id);
      }
    }
  }
  // A Service address's virtual server is on its Service port: the same names.
  for (const [k, id] of addresses) vss.set(k, id);
  return { virtualServers: vss, addresses, nodePorts };
}

/** Every virtual server the input renders, named after its Service port. Pure. */
export function virtualServerNames(input: RenderInput): VirtualServerNames {
  return trafficNames(input).virtualServers;
}

/** Parsed statistics -> samples of the named virtual servers (others are not ours, or not rendered yet), per endpoint those `endpoints` has. Pure. */
export function ipvsTrafficSamples(stats: readonly IpvsVirtualServerStats[], names: VirtualServerNames, endpoints: EndpointFilter = EVERY_ENDPOINT): TrafficSample[] {
  const out: TrafficSample[] = [];
  for (const vs of stats) {
    const id = names.get(vsKey(vs.protocol, vs.ip, vs.port));
    if (!id) continue;
    out.push(trafficSample(id, 'new_connections', vs.conns));
    out.push(trafficSample(id, 'packets', vs.inPackets + vs.outPackets));
    out.push(trafficSample(id, 'bytes', vs.inBytes + vs.outBytes));
    for (const rs of vs.realServers) {
      const endpoint = rs.address;
      if (!endpoints.has(id.namespace, id.service, endpoint)) continue;
      out.push(trafficSample(id, 'endpoint_new_connections', rs.conns, undefined, endpoint));
      out.push(trafficSample(id, 'endpoint_packets', rs.inPackets + rs.outPackets, undefined, endpoint));
      out.push(trafficSample(id, 'endpoint_bytes', rs.inBytes + rs.outBytes, undefined, endpoint));
    }
  }
  // A Service port has one virtual server per address (ClusterIP, LB IPs, node addresses): summed.
  return sumSamples(out);
}

// The names of the last input, kept while the agent holds the same input object (a read every few seconds, a render only on change).
let cached: { input: RenderInput; names: TrafficNames } | undefined;

function namesOf(input: RenderInput): TrafficNames {
  if (cached?.input !== input) cached = { input, names: trafficNames(input) };
  return cached.names;
}

/**
 * Reads IPVS's statistics and our counted sets (refusals.ts) in the current network
 * namespace (or `netns`) and names them after `input`'s Service ports. Without an
 * input nothing can be named: no samples.
 */
export async function readIpvsTraffic(exec: Exec = systemExec, netns?: string, input?: RenderInput, endpoints?: EndpointFilter): Promise<TrafficSample[]> {
  if (!input) return [];
  const [stats, sets] = await Promise.all([
    runChecked(exec, { file: 'ipvsadm', args: ['-Ln', '--stats', '--exact'], timeoutMs: 30_000, ...(netns ? { netns } : {}) }),
    saveCountedSets(exec, netns),
  ]);
  const names = namesOf(input);
  return [...ipvsTrafficSamples(parseIpvsStats(stats), names.virtualServers, endpoints), ...sumSamples(refusalSamples(parseSetCounters(sets), names))];
}
