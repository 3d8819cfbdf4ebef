// The kube-proxy configuration a NodeAgent passes to `svcplane agent --config`:
// checked at synth with the same reader the agent uses, so a typo fails here and
// not on every node, and written as YAML into the agent's ConfigMap.

import { stringify } from 'yaml';
import { InputError } from '../model/errors.js';
import type { KubeProxyConfigurationInput } from '../manifests/proxy-config-schema.js';
import { PROXY_CONFIG_API_VERSION, PROXY_CONFIG_KIND, readProxyConfig } from '../manifests/proxy-config.js';

/** A Go duration string: "30s", "1m30s", "24h", "500ms". */
export type GoDuration = string;

/** kubeproxy.config.k8s.io/v1alpha1 KubeProxyIPTablesConfiguration. */
export interface KubeProxyIPTablesConfig {
  /** fwmark bit for SNAT, 0-31. @default 14 */
  readonly masqueradeBit?: number;
  /** SNAT all traffic to ClusterIPs. @default false */
  readonly masqueradeAll?: boolean;
  /** NodePorts on 127.0.0.1 (iptables mode, IPv4). @default true */
  readonly localhostNodePorts?: boolean;
  /** Accepted (newer kube-proxy), not acted on: warned. */
  readonly snatNodeInternalIP?: boolean;
  /** Full resync interval. @default 30s */
  readonly syncPeriod?: GoDuration;
  /** Minimum time between syncs. @default 1s */
  readonly minSyncPeriod?: GoDuration;
}

/** kubeproxy.config.k8s.io/v1alpha1 KubeProxyIPVSConfiguration. */
export interface KubeProxyIPVSConfig {
  readonly syncPeriod?: GoDuration;
  readonly minSyncPeriod?: GoDuration;
  /** rr, wrr, lc, wlc, lblc, lblcr, sh, dh, sed, nq. @default rr */
  readonly scheduler?: string;
  /** IPVS virtual servers in these CIDRs are never deleted by the agent. */
  readonly excludeCIDRs?: readonly string[];
  /** Sets arp_ignore=1 and arp_announce=2 on all interfaces. @default false */
  readonly strictARP?: boolean;
  /** IPVS idle TCP timeout (`ipvsadm --set`); 0 keeps the kernel's. */
  readonly tcpTimeout?: GoDuration;
  /** IPVS TCP timeout after FIN; 0 keeps the kernel's. */
  readonly tcpFinTimeout?: GoDuration;
  /** IPVS UDP timeout; 0 keeps the kernel's. */
  readonly udpTimeout?: GoDuration;
}

/** kubeproxy.config.k8s.io/v1alpha1 KubeProxyNFTablesConfiguration. */
export interface KubeProxyNFTablesConfig {
  readonly masqueradeBit?: number;
  readonly masqueradeAll?: boolean;
  readonly syncPeriod?: GoDuration;
  readonly minSyncPeriod?: GoDuration;
}

/** kubeproxy.config.k8s.io/v1alpha1 KubeProxyWinkernelConfiguration: accepted, not acted on (warned). */
export interface KubeProxyWinkernelConfig {
  readonly networkName?: string;
  readonly sourceVip?: string;
  readonly enableDSR?: boolean;
  readonly rootHnsEndpointName?: string;
  readonly forwardHealthCheckVip?: boolean;
}

/** kubeproxy.config.k8s.io/v1alpha1 DetectLocalConfiguration. */
export interface KubeProxyDetectLocalConfig {
  /** With detectLocalMode BridgeInterface. */
  readonly bridgeInterface?: string;
  /** With detectLocalMode InterfaceNamePrefix (at most 14 characters). */
  readonly interfaceNamePrefix?: string;
}

/** kubeproxy.config.k8s.io/v1alpha1 KubeProxyConntrackConfiguration: the agent sets these sysctls at start. */
export interface KubeProxyConntrackConfig {
  /** nf_conntrack_max = max(maxPerCore x CPUs, min), only raised; 0 leaves it. @default 32768 */
  readonly maxPerCore?: number;
  /** @default 131072 */
  readonly min?: number;
  /** nf_conntrack_tcp_timeout_established. @default 24h */
  readonly tcpEstablishedTimeout?: GoDuration;
  /** nf_conntrack_tcp_timeout_close_wait. @default 1h */
  readonly tcpCloseWaitTimeout?: GoDuration;
  /** nf_conntrack_tcp_be_liberal = 1. @default false */
  readonly tcpBeLiberal?: boolean;
  /** nf_conntrack_udp_timeout; 0 leaves it. */
  readonly udpTimeout?: GoDuration;
  /** nf_conntrack_udp_timeout_stream; 0 leaves it. */
  readonly udpStreamTimeout?: GoDuration;
}

/** component-base ClientConnectionConfiguration: accepted, not acted on (warned). */
export interface KubeProxyClientConnectionConfig {
  readonly kubeconfig?: string;
  readonly acceptContentTypes?: string;
  readonly contentType?: string;
  readonly qps?: number;
  readonly burst?: number;
}

/** component-base logs OutputRoutingOptions. */
export interface KubeProxyLoggingOutputConfig {
  readonly splitStream?: boolean;
  readonly infoBufferSize?: string | number;
}

/** component-base LoggingConfiguration: accepted, not acted on (warned). */
export interface KubeProxyLoggingConfig {
  readonly format?: string;
  readonly flushFrequency?: string | number;
  readonly verbosity?: number;
  readonly vmodule?: ReadonlyArray<{ readonly filePattern?: string; readonly verbosity?: number }>;
  readonly options?: { readonly text?: KubeProxyLoggingOutputConfig; readonly json?: KubeProxyLoggingOutputConfig };
}

/**
 * A KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1, kube-proxy v1.35), as
 * written in YAML. Every field is optional. See the README for what the agent acts
 * on; the others are accepted and warned about.
 */
export interface KubeProxyConfig {
  /** Filled in. */
  readonly apiVersion?: string;
  /** Filled in. */
  readonly kind?: string;
  readonly featureGates?: Readonly<Record<string, boolean>>;
  readonly clientConnection?: KubeProxyClientConnectionConfig;
  readonly logging?: KubeProxyLoggingConfig;
  /** This node's name, when it is not the hostname. */
  readonly hostnameOverride?: string;
  readonly bindAddress?: string;
  /** IP:port for /healthz and /livez. @default 0.0.0.0:10256 */
  readonly healthzBindAddress?: string;
  /** IP:port for /metrics. @default 127.0.0.1:10249 */
  readonly metricsBindAddress?: string;
  readonly bindAddressHardFail?: boolean;
  readonly enableProfiling?: boolean;
  readonly showHiddenMetricsForVersion?: string;
  /** Set to the agent's backend; when given it must equal it. */
  readonly mode?: string;
  readonly iptables?: KubeProxyIPTablesConfig;
  readonly ipvs?: KubeProxyIPVSConfig;
  readonly nftables?: KubeProxyNFTablesConfig;
  readonly winkernel?: KubeProxyWinkernelConfig;
  /** ClusterCIDR (default), NodeCIDR, BridgeInterface or InterfaceNamePrefix. */
  readonly detectLocalMode?: string;
  readonly detectLocal?: KubeProxyDetectLocalConfig;
  /** Pod CIDRs, comma-separated (one per family). */
  readonly clusterCIDR?: string;
  /** CIDRs of node addresses NodePorts answer on, or ['primary']. */
  readonly nodePortAddresses?: readonly string[];
  readonly oomScoreAdj?: number;
  readonly conntrack?: KubeProxyConntrackConfig;
  readonly configSyncPeriod?: GoDuration;
  readonly portRange?: string;
  readonly windowsRunAsService?: boolean;
}

// The interface is written out for its documentation; these lines keep it equal to the
// schema the agent reads: a field in one and not the other fails tsc.
type Defined<T> = Exclude<T, null | undefined>;
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
type Section<K extends keyof KubeProxyConfig & keyof KubeProxyConfigurationInput> = SameKeys<Defined<KubeProxyConfig[K]>, Defined<KubeProxyConfigurationInput[K]>>;
const interfaceMatchesSchema: [
  SameKeys<KubeProxyConfig, KubeProxyConfigurationInput>,
  Section<'iptables'>, Section<'ipvs'>, Section<'nftables'>, Section<'winkernel'>, Section<'detectLocal'>,
  Section<'conntrack'>, Section<'clientConnection'>, Section<'logging'>,
] = [true, true, true, true, true, true, true, true, true];
void interfaceMatchesSchema;

/** The result of preparing a kube-proxy configuration: the file text, or what is wrong with it. */
export interface AgentConfigFile {
  readonly yaml?: string;
  readonly problems: readonly string[];
  /** Fields given that the agent accepts but does not act on. */
  readonly warnings: readonly string[];
}

/**
 * The KubeProxyConfiguration YAML for an agent running `backend` (nftables,
 * iptables, ipvs). apiVersion and kind are filled in when missing; `mode` is set
 * to the backend when missing (it selects which per-mode section the agent
 * reads) and must equal it when given.
 */
export function agentConfigFile(config: KubeProxyConfig, backend: string): AgentConfigFile {
  const problems: string[] = [];
  let warnings: readonly string[] = [];
  const mode = config.mode;
  if (mode !== undefined && mode !== '' && mode !== backend) {
    problems.push(`kubeProxyConfig.mode: is ${JSON.stringify(mode)} but the agent's backend is "${backend}"; leave mode out or make them equal`);
  }
  const full = { apiVersion: PROXY_CONFIG_API_VERSION, kind: PROXY_CONFIG_KIND, ...config, mode: backend };
  try {
    warnings = readProxyConfig(full).warnings;
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    for (const i of e.issues) problems.push(`kubeProxyConfig.${i.field}: ${i.message}`);
  }
  if (problems.length > 0) return { problems, warnings };
  // Sorted keys: the same configuration always gives the same bytes.
  return { yaml: stringify(full, { sortMapEntries: true }), problems, warnings };
}
