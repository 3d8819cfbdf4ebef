// The part of KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1) that
// svcplane acts on: what changes the rules, the IPVS and conntrack kernel settings,
// and the agent's listen addresses, with kube-proxy's defaults.

import { z } from 'zod/v3';
import { parseHostPortString } from './host-port.js';

export const DetectLocalModeSchema = z.enum(['ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix']);

/** "host:port" or "[v6]:port", as kube-proxy's healthzBindAddress and metricsBindAddress take it. */
const HostPortSchema = z.string().refine((s) => parseHostPortString(s) !== undefined, 'must be host:port, e.g. 0.0.0.0:10256 or [::]:10256');

/**
 * conntrack.*: the node-wide conntrack sysctls kube-proxy sets at start. Absent
 * fields (or 0) leave the kernel's value as it is.
 */
export const ConntrackConfigSchema = z.strictObject({
  /** nf_conntrack_max = max(maxPerCore x CPUs, min), only ever raised; 0 leaves it. */
  maxPerCore: z.number().int().min(0).optional(),
  min: z.number().int().min(0).optional(),
  tcpEstablishedTimeoutSeconds: z.number().int().min(0).optional(),
  tcpCloseWaitTimeoutSeconds: z.number().int().min(0).optional(),
  /** nf_conntrack_tcp_be_liberal = 1 when true; false leaves it. */
  tcpBeLiberal: z.boolean().optional(),
  udpTimeoutSeconds: z.number().int().min(0).optional(),
  udpStreamTimeoutSeconds: z.number().int().min(0).optional(),
});
export type ConntrackConfig = z.infer<typeof ConntrackConfigSchema>;

/** ipvs.tcpTimeout, tcpFinTimeout, udpTimeout (`ipvsadm --set`); 0 keeps the kernel's value. */
export const IpvsTimeoutsSchema = z.strictObject({
  tcpSeconds: z.number().int().min(0),
  tcpFinSeconds: z.number().int().min(0),
  udpSeconds: z.number().int().min(0),
});
export type IpvsTimeouts = z.infer<typeof IpvsTimeoutsSchema>;

export const ProxyConfigSchema = z.strictObject({
  /** clusterCIDR, split on commas: pod traffic comes from here (detectLocalMode ClusterCIDR). */
  clusterCIDRs: z.array(z.string()),
  /** kube-proxy's default is ClusterCIDR; with no clusterCIDR, nothing counts as local. */
  detectLocalMode: DetectLocalModeSchema,
  bridgeInterface: z.string().optional(),
  interfaceNamePrefix: z.string().optional(),
  /** CIDRs (or the word "primary") selecting node addresses for NodePorts; [] means the node's primary IPs. */
  nodePortAddresses: z.array(z.string()),
  masqueradeAll: z.boolean(),
  /** iptables.masqueradeBit, default 14. */
  masqueradeBit: z.number().int().min(0).max(31),
  /** iptables.localhostNodePorts, default true. */
  localhostNodePorts: z.boolean(),
  /** ipvs.scheduler, default rr. */
  ipvsScheduler: z.string(),
  hostnameOverride: z.string().optional(),
  /** Seconds. finite(): zod 3 takes Infinity (1e999 in a file) for a number; zod 4 did not. */
  syncPeriodSeconds: z.number().finite().positive(),
  minSyncPeriodSeconds: z.number().finite().min(0),
  /** ipvs.excludeCIDRs: IPVS virtual servers in these are never deleted (they are someone else's). */
  ipvsExcludeCIDRs: z.array(z.string()).optional(),
  /** ipvs.strictARP: arp_ignore=1 and arp_announce=2 on all interfaces, so VIPs on the dummy interface are not answered for. */
  ipvsStrictARP: z.boolean().optional(),
  /** Only when one of them is set (non-zero). */
  ipvsTimeouts: IpvsTimeoutsSchema.optional(),
  conntrack: ConntrackConfigSchema.optional(),
  /** kube-proxy's healthzBindAddress, "host:port"; the agent's /healthz listener. */
  healthzBindAddress: HostPortSchema.optional(),
  /** kube-proxy's metricsBindAddress, "host:port"; the agent's /metrics listener. */
  metricsBindAddress: HostPortSchema.optional(),
  /** kube-proxy's logging.verbosity (klog -v), when above 0: the agent's log level (agent/log-level.ts). */
  logVerbosity: z.number().int().min(1).optional(),
});
export type ProxyConfig = z.infer<typeof ProxyConfigSchema>;

// The defaults live in config-defaults.ts (no zod: the render path loads them without the schema).
export { DEFAULT_CONNTRACK, DEFAULT_PROXY_CONFIG } from './config-defaults.js';
