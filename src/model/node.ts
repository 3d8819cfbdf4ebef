// The node a ruleset is rendered for: its name, addresses, pod CIDRs and zone.

import { z } from 'zod/v3';

export const NodeContextSchema = z.strictObject({
  name: z.string(),
  /** Node IPs, primary first (the API's InternalIP, then ExternalIP), canonical. */
  addresses: z.array(z.string()),
  /** spec.podCIDRs: for detectLocalMode NodeCIDR. */
  podCIDRs: z.array(z.string()),
  /** topology.kubernetes.io/zone label. */
  zone: z.string().optional(),
  /**
   * Every address on the node's interfaces, when known (apply and the agent read
   * them from the kernel; render from manifests does not know them). kube-proxy
   * matches nodePortAddresses CIDRs against these, not against the Node object.
   */
  localAddresses: z.array(z.string()).optional(),
  /**
   * nf_conntrack_tcp_be_liberal is set in the node's namespace (apply, check and the agent
   * read it; render from manifests does not know it: unset). kube-proxy's iptables mode
   * then installs no INVALID drop.
   */
  conntrackTCPBeLiberal: z.boolean().optional(),
});
export type NodeContext = z.infer<typeof NodeContextSchema>;

// In node-unknown.ts (no zod: the render path loads it without the schema).
export { UNKNOWN_NODE } from './node-unknown.js';
