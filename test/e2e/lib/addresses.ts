// The test bed's address plan (see test/e2e/README.md for the picture). Everything lives
// inside namespaces the test bed creates; none of these addresses exist in the root namespace.

export type NodeName = 'node1' | 'node2';
export const NODE_NAMES: readonly NodeName[] = ['node1', 'node2'];

export interface NodeAddressPlan {
  /** Pod CIDRs (spec.podCIDRs), IPv4 then IPv6. */
  readonly podCIDRv4: string;
  readonly podCIDRv6: string;
  /** br0's addresses: the pods' default gateway. */
  readonly bridgeIPv4: string;
  readonly bridgeIPv6: string;
  /** Fixed MAC for br0, so adding a pod never changes the gateway's MAC under the other pods. */
  readonly bridgeMAC: string;
  /** Address on the node1 <-> node2 link: the node's InternalIP. */
  readonly nodeIPv4: string;
  readonly nodeIPv6: string;
  /** Pod addresses are <podPrefix><index>, index from FIRST_POD_INDEX. */
  readonly podPrefixV4: string;
  readonly podPrefixV6: string;
}

export const NODE_PLAN: Readonly<Record<NodeName, NodeAddressPlan>> = {
  node1: {
    podCIDRv4: '10.244.1.0/24',
    podCIDRv6: 'fd00:244:1::/64',
    bridgeIPv4: '10.244.1.1',
    bridgeIPv6: 'fd00:244:1::1',
    bridgeMAC: '02:00:0a:f4:01:01',
    nodeIPv4: '172.18.0.1',
    nodeIPv6: 'fd00:18::1',
    podPrefixV4: '10.244.1.',
    podPrefixV6: 'fd00:244:1::',
  },
  node2: {
    podCIDRv4: '10.244.2.0/24',
    podCIDRv6: 'fd00:244:2::/64',
    bridgeIPv4: '10.244.2.1',
    bridgeIPv6: 'fd00:244:2::1',
    bridgeMAC: '02:00:0a:f4:02:01',
    nodeIPv4: '172.18.0.2',
    nodeIPv6: 'fd00:18::2',
    podPrefixV4: '10.244.2.',
    podPrefixV6: 'fd00:244:2::',
  },
};

/** The node1 <-> node2 link ("the cluster network"). */
export const NODE_LINK = { prefixV4: 24, prefixV6: 64 } as const;

/** The external host's link to node1. */
export const EXTERNAL_LINK = {
  node1IPv4: '192.168.50.1',
  node1IPv6: 'fd00:50::1',
  externalIPv4: '192.168.50.2',
  externalIPv6: 'fd00:50::2',
  prefixV4: 24,
  prefixV6: 64,
} as const;

/**
 * Service (ClusterIP) ranges for tests. Nothing routes them: they exist only in the
 * rules a test loads. Without rules, node1 sends them to its default route (the external
 * host), which answers "host unreachable".
 */
export const SERVICE_CIDR = { v4: '10.96.0.0/16', v6: 'fd00:96::/112' } as const;

/** Pods get host indexes 10, 11, ... (IPv4 10.244.N.10, IPv6 fd00:244:N::10). */
export const FIRST_POD_INDEX = 10;
export const LAST_POD_INDEX = 250;

/** A pod's addresses from its node and index. The IPv6 one reuses the decimal digits. */
export function podAddresses(node: NodeName, index: number): { ipv4: string; ipv6: string } {
  if (!Number.isInteger(index) || index < FIRST_POD_INDEX || index > LAST_POD_INDEX) {
    throw new Error(`pod index ${index} outside ${FIRST_POD_INDEX}..${LAST_POD_INDEX}`);
  }
  const plan = NODE_PLAN[node];
  return { ipv4: `${plan.podPrefixV4}${index}`, ipv6: `${plan.podPrefixV6}${index}` };
}
