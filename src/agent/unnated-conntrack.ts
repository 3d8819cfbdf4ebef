// Conntrack entries to a ClusterIP that were never DNATed: made while the node had no
// rules for that address (someone flushed them, or before the agent's first sync). A
// ClusterIP is no real address: such a connection's packets went to the default route
// and nowhere. conntrack keeps the NAT decision of a connection's first packet, so the
// entry sends every later connection from the same client port the same way, rules or
// not: a TCP SYN_SENT entry lives 120 s and each retried SYN renews it, a UDP one as long
// as datagrams come. Seen in the cluster faults test: connections made while a node's
// rules were flushed left ~120 such entries, and a minute after the repair every new
// connection that reused one of those client ports timed out (a fresh port worked).
// Only on the iptables node: `iptables -F -X` leaves the nat table's base chains hooked, so
// the first SYN got a binding to nothing for good; deleting an nftables table unhooks its
// base chains too, no binding is made, and the next retried SYN is NATed (a flush of our
// nftables chains that keeps the table would black-hole the same way).
//
// kube-proxy deletes UDP entries when a Service's endpoints go from none to some (our
// conntrack.ts does too) and no TCP entries (kubernetes issue 48719). The agent, after a
// full sync that changed the kernel (a repair, or the first sync on a node that lacked
// rules), for every backend whose Services are DNATed in the nat hooks (all but IPVS:
// AgentBackend.dnatsInNatHooks), deletes the entries to a ClusterIP whose reply still
// comes from that ClusterIP (not DNATed): one listing per family, then `conntrack -D -p
// PROTO --orig-dst VIP --reply-src VIP` for each address and protocol the listing showed.
// Connections that were DNATed (their reply comes from an endpoint) are never touched.
//
// `unNatedDeletions` is pure; `deleteUnNatedEntries` runs the tools.

import type { Exec } from '../exec/exec.js';
import { systemExec } from '../exec/system-exec.js';
import { ipFamilyOf, type IPFamily } from '../model/ip.js';
import { proxiedServices, type RenderInput } from '../model/render-input.js';
import { runConntrack, type ConntrackDeletion, type ConntrackRunResult } from './conntrack.js';

/** Every ClusterIP of our Services, by family. */
export function clusterIPsByFamily(input: RenderInput): Map<IPFamily, Set<string>> {
  const out = new Map<IPFamily, Set<string>>();
  // Not ownedServices' map of every Service by key: it would live as long as the Service list does.
  for (const svc of proxiedServices(input.plan, input.mode)) {
    for (const ip of svc.clusterIPs) {
      const f = ipFamilyOf(ip);
      if (!f) continue;
      let set = out.get(f);
      if (!set) out.set(f, (set = new Set()));
      set.add(ip);
    }
  }
  return out;
}

/**
 * The ClusterIP and protocol of one `conntrack -L` line when it is an entry to one of
 * `vips` that was not DNATed (the reply tuple's source is still the ClusterIP); undefined
 * otherwise. A line: `tcp 6 116 SYN_SENT src=A dst=VIP sport=P dport=80 [UNREPLIED]
 * src=VIP dst=A sport=80 dport=P mark=0 use=1`, the original tuple first.
 */
export function unNatedEntry(line: string, vips: ReadonlySet<string>): { proto: string; vip: string } | undefined {
  const origDst = / dst=(\S+)/.exec(line);
  if (!origDst || !vips.has(origDst[1]!)) return undefined;
  const replySrc = / src=(\S+)/g;
  replySrc.exec(line); // the original tuple's source
  const reply = replySrc.exec(line);
  if (!reply || reply[1] !== origDst[1]) return undefined;
  const proto = /^\s*(\S+)/.exec(line)?.[1];
  return proto ? { proto, vip: origDst[1]! } : undefined;
}

/** Adds the deletion `line` needs, if any, to `found` (by ClusterIP and protocol: one each). */
function collect(found: Map<string, ConntrackDeletion>, line: string, vips: ReadonlySet<string>): void {
  const e = unNatedEntry(line, vips);
  if (e) found.set(`${e.proto} ${e.vip}`, ['-p', e.proto, '--orig-dst', e.vip, '--reply-src', e.vip]);
}

const sorted = (found: ReadonlyMap<string, ConntrackDeletion>): ConntrackDeletion[] => [...found.keys()].sort().map((k) => found.get(k)!);

/** One deletion per ClusterIP and protocol that has un-DNATed entries among `lines`; sorted. */
export function unNatedDeletions(lines: Iterable<string>, vips: ReadonlySet<string>): ConntrackDeletion[] {
  const found = new Map<string, ConntrackDeletion>();
  for (const line of lines) collect(found, line, vips);
  return sorted(found);
}

/**
 * Lists each family's conntrack table (streamed: a busy node holds 10^5 entries or more),
 * then deletes the un-DNATed entries to our ClusterIPs. A listing that fails is returned
 * as a failed result, so the caller logs it; nothing else depends on it.
 */
export async function deleteUnNatedEntries(input: RenderInput, families: readonly IPFamily[], exec: Exec = systemExec): Promise<ConntrackRunResult[]> {
  const byFamily = clusterIPsByFamily(input);
  const results: ConntrackRunResult[] = [];
  for (const family of families) {
    const vips = byFamily.get(family);
    if (!vips?.size) continue;
    const found = new Map<string, ConntrackDeletion>();
    const args = ['-L', '-f', family === 'IPv6' ? 'ipv6' : 'ipv4'];
    const r = await exec.run({
      file: 'conntrack',
      args,
      stdoutLines: (line) => collect(found, line, vips),
    });
    if (r.exitCode !== 0) {
      results.push({ args, ok: false, deleted: 0, error: `conntrack ${args.join(' ')} exited ${r.exitCode}: ${r.stderr.trim()}` });
      continue;
    }
    results.push(...(await runConntrack(sorted(found), exec)));
  }
  return results;
}
