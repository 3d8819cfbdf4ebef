// The subset of KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1) that
// changes the rules, with kube-proxy's defaults.

import { z } from 'zod';

export const DetectLocalModeSchema = z.enum(['ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix']);

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
  healthzBindAddress: z.string().optional(),
  metricsBindAddress: z.string().optional(),
  /** Seconds. */
  syncPeriodSeconds: z.number().positive(),
  minSyncPeriodSeconds: z.number().min(0),
});
export type ProxyConfig = z.infer<typeof ProxyConfigSchema>;

export const DEFAULT_PROXY_CONFIG: ProxyConfig = {
  clusterCIDRs: [],
  detectLocalMode: 'ClusterCIDR',
  nodePortAddresses: [],
  masqueradeAll: false,
  masqueradeBit: 14,
  localhostNodePorts: true,
  ipvsScheduler: 'rr',
  syncPeriodSeconds: 30,
  minSyncPeriodSeconds: 1,
};
