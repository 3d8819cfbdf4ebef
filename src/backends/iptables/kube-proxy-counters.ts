// The two packet counts kube-proxy's iptables mode exports from nfacct objects
// (kubeproxy_iptables_ct_state_invalid_dropped_packets_total and
// kubeproxy_iptables_localhost_nodeports_accepted_packets_total), read here from the
// counters iptables keeps on our own equivalent rules: no nfacct objects, no extra rules.
//
// - INVALID drops: the `-m conntrack --ctstate INVALID -j DROP` rule of SVP-FORWARD.
//   It exists only when the node's conntrack is not tcp_be_liberal (render.ts), so
//   the count is absent (undefined), not 0, on a liberal node: nothing is dropped there.
// - Localhost NodePort accepts: as kube-proxy (v1.35), one rule per node port with
//   endpoints in nat SVP-NODEPORTS, `-d 127.0.0.0/8` ahead of the port's general rule,
//   rendered only where NodePorts answer on 127.0.0.1 (render.ts, localhostNodePorts:
//   IPv4, iptables.localhostNodePorts, node ports on every address). The count is
//   present exactly where they answer, which the SVP-FIREWALL localnet guard rendered
//   under the same condition tells (0 until a node port has endpoints), and absent
//   elsewhere: kube-proxy would export a 0 there that can never move.

import { systemExec } from '../../exec/system-exec.js';
import { runChecked, type Exec } from '../../exec/exec.js';
import { saveTool } from './counters.js';

export interface KubeProxyRuleCounters {
  /** Packets dropped as conntrack INVALID; undefined when no such rule is installed. */
  readonly invalidDropped?: number;
  /** Packets (new connections: nat) accepted on localhost node ports; undefined when no rule counts them. */
  readonly localhostNodePortsAccepted?: number;
}

const add = (a: number | undefined, b: number) => (a ?? 0) + b;

/**
 * Both counts from `iptables-save -c` lines, given one at a time as the tool prints them:
 * at 10k Services the nat save is ~48 MB, which a scrape held whole for each table and
 * family, then joined, then split (the agent at 10k × 10 went from 131 to 927 MiB in three
 * scrapes, with the traffic reader's own copies: src/agent/README.md, "Session 20").
 */
export class KubeProxyRuleCounts {
  private invalidDropped: number | undefined;
  private localhostNodePortsAccepted: number | undefined;

  line(line: string): void {
    const m = /^\[(\d+):\d+\] -A (SVP-FORWARD|SVP-NODEPORTS|SVP-FIREWALL) (.*)$/.exec(line);
    if (!m) return;
    const packets = Number(m[1]);
    const rest = m[3]!;
    const toLocalnet = /(^| )-d 127\.0\.0\.0\/8\b/.test(rest);
    if (m[2] === 'SVP-FORWARD' && /--ctstate INVALID\b/.test(rest) && /-j DROP\b/.test(rest)) this.invalidDropped = add(this.invalidDropped, packets);
    else if (m[2] === 'SVP-NODEPORTS' && toLocalnet) this.localhostNodePortsAccepted = add(this.localhostNodePortsAccepted, packets);
    else if (m[2] === 'SVP-FIREWALL' && toLocalnet && /-j DROP\b/.test(rest)) this.localhostNodePortsAccepted = add(this.localhostNodePortsAccepted, 0);
  }

  counts(): KubeProxyRuleCounters {
    const { invalidDropped, localhostNodePortsAccepted } = this;
    return { ...(invalidDropped !== undefined ? { invalidDropped } : {}), ...(localhostNodePortsAccepted !== undefined ? { localhostNodePortsAccepted } : {}) };
  }
}

/** `iptables-save -c` text (filter and nat, any number of families) -> the two counts. Pure. */
export function parseKubeProxyRuleCounters(saved: string): KubeProxyRuleCounters {
  const c = new KubeProxyRuleCounts();
  for (const line of saved.split('\n')) c.line(line);
  return c.counts();
}

/** Reads both counts, both families, in the current network namespace (or `netns`): each save parsed as the tool prints it, one at a time (as counters.ts reads). */
export async function readKubeProxyRuleCounters(exec: Exec = systemExec, netns?: string): Promise<KubeProxyRuleCounters> {
  const c = new KubeProxyRuleCounts();
  const lines = (line: string) => c.line(line);
  for (const family of ['IPv4', 'IPv6'] as const) {
    for (const table of ['filter', 'nat']) await runChecked(exec, { file: saveTool(family), args: ['-c', '-t', table], timeoutMs: 30_000, stdoutLines: lines, ...(netns ? { netns } : {}) });
  }
  return c.counts();
}
