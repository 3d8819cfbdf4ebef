// Sysctls the test bed sets explicitly in each kind of namespace, and why. They are set
// right after the namespace is created, before any interface exists, so the `default.*`
// values are what every interface created later inherits.
//
// A new namespace does not start from a clean slate: IPv4 `conf/{all,default}` values are
// copied from the root namespace (net.core.devconf_inherit_init_net=0), IPv6 ones reset to
// kernel defaults. Setting everything that matters makes runs independent of the host.

/** IPv6 addresses usable at once: DAD would keep them "tentative" (unusable) for ~1-2 s. */
const NO_DAD = {
  'net.ipv6.conf.all.accept_dad': 0,
  'net.ipv6.conf.default.accept_dad': 0,
  'net.ipv6.conf.all.disable_ipv6': 0,
  'net.ipv6.conf.default.disable_ipv6': 0,
} as const;

/**
 * ICMP errors are how a REJECT (and a closed UDP port) is seen as "refused". By default
 * they are rate-limited per destination (burst of 6, then 1 per second), which would turn
 * 'refused' into 'timeout' in any test that expects many rejections in a row.
 */
const NO_ICMP_RATELIMIT = {
  'net.ipv4.icmp_ratelimit': 0,
  'net.ipv6.icmp.ratelimit': 0,
} as const;

/**
 * Also raise the overall ICMP budget (1000/s, burst 50 by default). Best effort: on older
 * kernels these exist only in the root namespace, and the per-destination limit above is
 * the one the tests hit.
 */
export const BEST_EFFORT_SYSCTLS: Readonly<Record<string, number>> = {
  'net.ipv4.icmp_msgs_per_sec': 100000,
  'net.ipv4.icmp_msgs_burst': 100000,
};

/** rp_filter is inherited from the root namespace (often 1 or 2): make it 0 everywhere. */
const NO_RP_FILTER = {
  'net.ipv4.conf.all.rp_filter': 0,
  'net.ipv4.conf.default.rp_filter': 0,
} as const;

export const NODE_SYSCTLS: Readonly<Record<string, number>> = {
  ...NO_DAD,
  ...NO_ICMP_RATELIMIT,
  // Nodes forward: a new namespace starts with forwarding off, and ClusterIP, NodePort and
  // cross-node pod traffic would simply be dropped (timeouts).
  'net.ipv4.ip_forward': 1,
  'net.ipv6.conf.all.forwarding': 1,
  'net.ipv6.conf.default.forwarding': 1,
  // Bridged frames (pod -> VIP -> pod on the same br0, a pod reaching itself through its
  // Service) must traverse the IP netfilter hooks, or DNAT never sees them and they time out.
  'net.bridge.bridge-nf-call-iptables': 1,
  'net.bridge.bridge-nf-call-ip6tables': 1,
  // Strict reverse-path filtering drops legitimate asymmetric paths after DNAT/masquerade
  // (and kube-proxy does not rely on it); effective value is max(all, interface).
  ...NO_RP_FILTER,
  // 127.0.0.1:<nodePort> (iptables mode's localhostNodePorts) needs loopback destinations
  // to be DNATed and routed out a real interface; the kernel refuses that without it.
  'net.ipv4.conf.all.route_localnet': 1,
  // When node1 routes a packet back out br0 (pod -> VIP -> pod on the same bridge) it would
  // send the client an ICMP redirect "go straight to that pod", which later packets to the
  // VIP would then follow, bypassing the node's rules. Real CNIs avoid this too.
  'net.ipv4.conf.all.send_redirects': 0,
  'net.ipv4.conf.default.send_redirects': 0,
};

/** Pods and the external host: plain hosts with one interface. */
export const HOST_SYSCTLS: Readonly<Record<string, number>> = {
  ...NO_DAD,
  ...NO_ICMP_RATELIMIT,
  ...NO_RP_FILTER,
  // Never let a redirect (see send_redirects above; IPv6 has no switch to stop sending them)
  // change how a host reaches a Service address.
  'net.ipv4.conf.all.accept_redirects': 0,
  'net.ipv4.conf.default.accept_redirects': 0,
  'net.ipv6.conf.all.accept_redirects': 0,
  'net.ipv6.conf.default.accept_redirects': 0,
  // Routes are static; router advertisements play no part.
  'net.ipv6.conf.all.accept_ra': 0,
  'net.ipv6.conf.default.accept_ra': 0,
};
