// UDP conntrack cleanup after a sync. UDP has no connection end: a conntrack entry
// keeps sending a client's datagrams to the endpoint it was DNATed to, even after
// that endpoint left the rules, and an entry made while a Service had no endpoint
// keeps the datagrams going nowhere after one arrives. kube-proxy deletes both
// kinds; so do we, after the rules changed (earlier, a new datagram would just
// recreate the entry with the old rules).
//
// `conntrackPlan` is pure (what to delete, from the inputs before and after);
// `runConntrack` runs the `conntrack -D` commands.

import { commandLine, type Exec } from '../exec/exec.js';
import { systemExec } from '../exec/system-exec.js';
import { ipFamilyOf, type IPFamily } from '../model/ip.js';
import type { EndpointSliceInfo } from '../model/endpoints.js';
import { serviceKey, type PlanService } from '../model/plan.js';
import { proxiedWhere, type RenderInput } from '../model/render-input.js';
import { slicesByService, viewsOfService, type ServicePortView } from '../model/service-ports.js';

/** The arguments of one `conntrack -D` command. */
export type ConntrackDeletion = readonly string[];

interface UdpPortState {
  readonly vips: readonly string[];
  readonly nodePort: number;
  /** Endpoint IPs any rule of this port may DNAT to. */
  readonly endpoints: ReadonlySet<string>;
}

const FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];

function portId(v: ServicePortView): string {
  return `${v.namespace}/${v.name}|${v.portName}|${v.port}|${v.family}`;
}

/**
 * The Services of ours with a UDP port among `keys` (all when undefined). By name first,
 * then by key, so that only the changed Services build a `namespace/name` string: the
 * map of every Service by key (ownedServices) was built again for each new Service list
 * (every sync that holds Services back for a later batch makes one: sync-batches.ts) and
 * lived as long as that list did, ~4 MB each at 44k Services.
 */
function udpServices(input: RenderInput, keys?: ReadonlySet<string>): PlanService[] {
  const names = keys && new Set([...keys].map((k) => k.slice(k.indexOf('/') + 1)));
  return proxiedWhere(input, (s) => (!names || (names.has(s.name) && keys!.has(serviceKey(s)))) && s.ports.some((p) => p.protocol === 'UDP'));
}

/** The slices of the Services `wanted` (by key); the name test first spares a string per slice. */
function slicesOf(slices: readonly EndpointSliceInfo[], wanted: ReadonlySet<string>): EndpointSliceInfo[] {
  const names = new Set([...wanted].map((k) => k.slice(k.indexOf('/') + 1)));
  return slices.filter((s) => names.has(s.serviceName) && wanted.has(`${s.namespace}/${s.serviceName}`));
}

/** The UDP ports of the given Services (all when `keys` is undefined) and the endpoints their rules use. */
export function udpPorts(input: RenderInput, keys?: ReadonlySet<string>): Map<string, UdpPortState> {
  const out = new Map<string, UdpPortState>();
  const services = udpServices(input, keys);
  if (services.length === 0) return out;
  const bySvc = slicesByService(slicesOf(input.endpointSlices, new Set(services.map(serviceKey))));
  for (const svc of services) {
    for (const family of FAMILIES) {
      for (const v of viewsOfService(svc, family, bySvc.get(serviceKey(svc)) ?? [], input.node)) {
        if (v.protocol !== 'UDP') continue;
        const endpoints = new Set<string>();
        for (const e of v.clusterEndpoints) endpoints.add(e.ip);
        for (const e of v.localEndpoints) endpoints.add(e.ip);
        out.set(portId(v), { vips: [v.clusterIP, ...v.externalIPs, ...v.loadBalancerIPs], nodePort: v.nodePort, endpoints });
      }
    }
  }
  return out;
}

/**
 * The conntrack deletions a change from `before` to `after` needs, for the Services
 * in `keys` (all when undefined). Sorted and without duplicates.
 */
export function conntrackPlan(before: RenderInput, after: RenderInput, keys?: ReadonlySet<string>): ConntrackDeletion[] {
  const old = udpPorts(before, keys);
  const cur = udpPorts(after, keys);
  const out = new Map<string, ConntrackDeletion>();
  const add = (args: string[]) => out.set(args.join(' '), args);
  for (const [id, was] of old) {
    const now = cur.get(id);
    const stillThere = now?.endpoints ?? new Set<string>();
    for (const ep of was.endpoints) {
      if (stillThere.has(ep)) continue;
      for (const vip of was.vips) {
        if (ipFamilyOf(vip) !== ipFamilyOf(ep)) continue;
        add(['-p', 'udp', '--orig-dst', vip, '--reply-src', ep]);
      }
      if (was.nodePort) add(['-p', 'udp', '--orig-port-dst', String(was.nodePort), '--reply-src', ep]);
    }
  }
  for (const [id, now] of cur) {
    if (now.endpoints.size === 0) continue;
    const was = old.get(id);
    if (was && was.endpoints.size > 0) continue;
    // First endpoint: entries made while there was none (dropped or rejected) must go.
    for (const vip of now.vips) add(['-p', 'udp', '--orig-dst', vip]);
    if (now.nodePort) add(['-p', 'udp', '--orig-port-dst', String(now.nodePort)]);
  }
  return [...out.keys()].sort().map((k) => out.get(k)!);
}

export interface ConntrackRunResult {
  readonly args: ConntrackDeletion;
  readonly ok: boolean;
  readonly deleted: number;
  readonly error?: string;
}

/** Runs `conntrack -D ARGS` for each deletion, through `exec`; "nothing matched" is not an error. */
export async function runConntrack(deletions: readonly ConntrackDeletion[], exec: Exec = systemExec): Promise<ConntrackRunResult[]> {
  const out: ConntrackRunResult[] = [];
  for (const args of deletions) out.push(await deleteEntries(exec, args));
  return out;
}

async function deleteEntries(exec: Exec, args: ConntrackDeletion): Promise<ConntrackRunResult> {
  const cmd = { file: 'conntrack', args: ['-D', ...args] };
  const r = await exec.run(cmd);
  // conntrack prints "N flow entries have been deleted" on stderr, and exits 1 when N is 0.
  const m = /(\d+) flow entr(?:y|ies) ha(?:s|ve) been deleted/.exec(r.stderr);
  if (m) return { args, ok: true, deleted: Number(m[1]) };
  if (r.exitCode === 0) return { args, ok: true, deleted: 0 };
  return { args, ok: false, deleted: 0, error: `${commandLine(cmd)} exited ${r.exitCode}: ${r.stderr.trim()}` };
}
