// kube-proxy's defaults for the part of its configuration svcplane acts on, apart
// from config.ts's schema: an input without a KubeProxyConfiguration (most
// `svcplane render -f` calls) needs these and not zod. config.ts re-exports them.

import type { ConntrackConfig, ProxyConfig } from './config.js';

/** kube-proxy's v1alpha1 defaults for conntrack.* (udp timeouts: 0, leave as is). */
export const DEFAULT_CONNTRACK: ConntrackConfig = {
  maxPerCore: 32768,
  min: 131072,
  tcpEstablishedTimeoutSeconds: 86400,
  tcpCloseWaitTimeoutSeconds: 3600,
};

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
  conntrack: { ...DEFAULT_CONNTRACK },
};
