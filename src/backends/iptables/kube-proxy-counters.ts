// The two packet counts kube-proxy's iptables mode exports from nfacct objects
// (kubeproxy_iptables_ct_state_invalid_dropped_packets_total and
// kubeproxy_iptables_localhost_nodeports_accepted_packets_total), read here from the
// counters iptables keeps on our own equivalent rules: no nfacct objects, no extra rules.
//
// - INVALID drops: the `-m conntrack --ctstate INVALID -j DROP` rule of SVP-FORWARD.
//   It exists only when the node's conntrack is not tcp_be_liberal (render.ts), so
//   the count is absent (undefined), not 0, on a liberal node: nothing is dropped there.
// - Localhost NodePort accepts: kube-proxy counts them on a rule of its own per node
//   port (`-d 127.0.0.0/8 … -m nfacct`), which our render does not have (the localhost
//   node ports go through the same SVP-NODEPORTS rules as every node address). Read
//   when a rule in nat SVP-NODEPORTS matches `-d 127.0.0.0/8` (a render that adds
//   it), absent otherwise: README, "Observing the agent".

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

/** `iptables-save -c` text (filter and nat, any number of families) -> the two counts. Pure. */
export function parseKubeProxyRuleCounters(saved: string): KubeProxyRuleCounters {
  let invalidDropped: number | undefined;
  let localhostNodePortsAccepted: number | undefined;
  for (const line of saved.split('\n')) {
    const m = /^\[(\d+):\d+\] -A (SVP-FORWARD|SVP-NODEPORTS) (.*)$/.exec(line);
    if (!m) continue;
    const packets = Number(m[1]);
    const rest = m[3]!;
    if (m[2] === 'SVP-FORWARD' && /--ctstate INVALID\b/.test(rest) && /-j DROP\b/.test(rest)) invalidDropped = add(invalidDropped, packets);
    else if (m[2] === 'SVP-NODEPORTS' && /(^| )-d 127\.0\.0\.0\/8\b/.test(rest)) localhostNodePortsAccepted = add(localhostNodePortsAccepted, packets);
  }
  return { ...(invalidDropped !== undefined ? { invalidDropped } : {}), ...(localhostNodePortsAccepted !== undefined ? { localhostNodePortsAccepted } : {}) };
}

/** Reads both counts, both families, in the current network namespace (or `netns`). */
export async function readKubeProxyRuleCounters(exec: Exec = systemExec, netns?: string): Promise<KubeProxyRuleCounters> {
  const saves = (['IPv4', 'IPv6'] as const).flatMap((family) =>
    ['filter', 'nat'].map((table) => runChecked(exec, { file: saveTool(family), args: ['-c', '-t', table], timeoutMs: 30_000, ...(netns ? { netns } : {}) })),
  );
  return parseKubeProxyRuleCounters((await Promise.all(saves)).join('\n'));
}
