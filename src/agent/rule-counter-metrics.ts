// kube-proxy's two iptables-mode metrics that come from kernel counters rather than
// from its own bookkeeping, and the tool a failed IPVS-mode sync names. kube-proxy
// reads nfacct objects when scraped and exports nothing when it cannot read one; we
// read our equivalent rules' counters (src/backends/iptables/kube-proxy-counters.ts)
// and export nothing for a count whose rule is not installed (no INVALID drop on a
// tcp_be_liberal node): an absent series says "not measured", a 0 would say "none".

import { Counter, type Registry } from './prom/index.js';
import type { KubeProxyRuleCounters } from '../backends/iptables/kube-proxy-counters.js';
import { ExecError } from '../exec/exec.js';
import type { IPFamily } from '../model/ip.js';

/** Names and help as kube-proxy v1.35's pkg/proxy/metrics (unlabelled counters). */
const RULE_METRICS: readonly { name: string; help: string; count: keyof KubeProxyRuleCounters }[] = [
  { name: 'kubeproxy_iptables_ct_state_invalid_dropped_packets_total', help: 'packets dropped by iptables to work around conntrack problems', count: 'invalidDropped' },
  { name: 'kubeproxy_iptables_localhost_nodeports_accepted_packets_total', help: 'Number of packets accepted on nodeports of loopback interface', count: 'localhostNodePortsAccepted' },
];

/** Registers both; one read serves both metrics of a scrape (the registry collects them concurrently). */
export function registerRuleCounterMetrics(registry: Registry, read: () => Promise<KubeProxyRuleCounters>): void {
  let pending: Promise<KubeProxyRuleCounters> | undefined;
  const counts = (): Promise<KubeProxyRuleCounters> =>
    (pending ??= read()
      .catch((): KubeProxyRuleCounters => ({}))
      .finally(() => (pending = undefined)));
  for (const m of RULE_METRICS) {
    let absent = true;
    const counter = new Counter({
      name: m.name,
      help: m.help,
      registers: [registry],
      async collect() {
        const v = (await counts())[m.count];
        absent = v === undefined;
        this.reset();
        if (v !== undefined) this.inc(v);
      },
    });
    // An unlabelled counter always prints a value (0 after reset): drop it when absent.
    const get = counter.get.bind(counter);
    counter.get = async () => {
      const r = await get();
      return absent ? { ...r, values: [] } : r;
    };
  }
}

/** The family of the iptables restore tool a failed command names (`ip6tables…-restore`: IPv6); undefined for any other failure. */
export function restoreToolFamily(error: unknown): IPFamily | undefined {
  for (let e = error; e instanceof Error; e = e.cause) {
    const m = e instanceof ExecError ? /(?:^|\s)(ip6?)tables(?:-nft|-legacy)?-restore(?:\s|$)/.exec(e.command) : null;
    if (m) return m[1] === 'ip6' ? 'IPv6' : 'IPv4';
  }
  return undefined;
}
