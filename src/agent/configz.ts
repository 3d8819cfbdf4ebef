// /configz: the effective KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1),
// as kube-proxy answers it on its metrics port: {"kubeproxy.config.k8s.io": {...}}.
// Built from the ProxyConfig the agent runs with (defaults filled in), durations as
// Go writes them ("30s", "24h0m0s"), so a diff against kube-proxy's answer is readable.

import type { ProxyConfig } from '../model/config.js';
import { PROXY_CONFIG_API_VERSION, PROXY_CONFIG_KIND } from '../manifests/proxy-config.js';
import { formatHostPort, type HostPort } from './http.js';

/** Go's time.Duration.String() for whole milliseconds: "500ms", "1s", "1m30s", "24h0m0s". */
export function goDuration(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  if (h) return `${h}h${m}m${s}s`;
  if (m) return `${m}m${s}s`;
  return `${s}s`;
}

export interface ConfigzContext {
  readonly mode: string;
  readonly config: ProxyConfig;
  readonly hostnameOverride?: string;
  readonly healthzBindAddress?: HostPort;
  readonly metricsBindAddress?: HostPort;
}

export function configzBody(c: ConfigzContext): Record<string, unknown> {
  const cfg = c.config;
  const periods = { syncPeriod: goDuration(cfg.syncPeriodSeconds), minSyncPeriod: goDuration(cfg.minSyncPeriodSeconds) };
  const ct = cfg.conntrack;
  const t = cfg.ipvsTimeouts;
  const v1alpha1 = {
    apiVersion: PROXY_CONFIG_API_VERSION,
    kind: PROXY_CONFIG_KIND,
    mode: c.mode,
    hostnameOverride: c.hostnameOverride ?? cfg.hostnameOverride ?? '',
    healthzBindAddress: c.healthzBindAddress ? formatHostPort(c.healthzBindAddress) : (cfg.healthzBindAddress ?? ''),
    metricsBindAddress: c.metricsBindAddress ? formatHostPort(c.metricsBindAddress) : (cfg.metricsBindAddress ?? ''),
    clusterCIDR: cfg.clusterCIDRs.join(','),
    detectLocalMode: cfg.detectLocalMode,
    detectLocal: { bridgeInterface: cfg.bridgeInterface ?? '', interfaceNamePrefix: cfg.interfaceNamePrefix ?? '' },
    nodePortAddresses: cfg.nodePortAddresses,
    iptables: { masqueradeAll: cfg.masqueradeAll, masqueradeBit: cfg.masqueradeBit, localhostNodePorts: cfg.localhostNodePorts, ...periods },
    ipvs: {
      scheduler: cfg.ipvsScheduler,
      excludeCIDRs: cfg.ipvsExcludeCIDRs ?? [],
      strictARP: cfg.ipvsStrictARP ?? false,
      tcpTimeout: goDuration(t?.tcpSeconds ?? 0),
      tcpFinTimeout: goDuration(t?.tcpFinSeconds ?? 0),
      udpTimeout: goDuration(t?.udpSeconds ?? 0),
      ...periods,
    },
    nftables: { masqueradeAll: cfg.masqueradeAll, masqueradeBit: cfg.masqueradeBit, ...periods },
    conntrack: {
      maxPerCore: ct?.maxPerCore ?? 0,
      min: ct?.min ?? 0,
      tcpEstablishedTimeout: goDuration(ct?.tcpEstablishedTimeoutSeconds ?? 0),
      tcpCloseWaitTimeout: goDuration(ct?.tcpCloseWaitTimeoutSeconds ?? 0),
      tcpBeLiberal: ct?.tcpBeLiberal ?? false,
      udpTimeout: goDuration(ct?.udpTimeoutSeconds ?? 0),
      udpStreamTimeout: goDuration(ct?.udpStreamTimeoutSeconds ?? 0),
    },
  };
  return { 'kubeproxy.config.k8s.io': v1alpha1 };
}
