// A KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1) -> ProxyConfig, with
// kube-proxy's defaults, plus warnings. The whole type is one strict schema
// (proxy-config-schema.ts): an unknown field is an error naming its path, a known
// field svcplane does not act on is one warning; this file checks what the values
// mean and keeps the part svcplane acts on.
//
// v1alpha1 keeps masquerade and sync settings per proxy mode. As kube-proxy's own
// conversion does, `mode` picks the section: nftables reads `nftables.*`; ipvs reads
// sync periods from `ipvs.*` and masquerading from `iptables.*`; anything else
// (iptables, the default) reads `iptables.*`. A zero duration means "unset" there
// (Go's zero value), so it gets the default too.

import { DEFAULT_CONNTRACK, DEFAULT_PROXY_CONFIG, ProxyConfigSchema, type ConntrackConfig, type ProxyConfig } from '../model/config.js';
import { InputError, type FieldIssue } from '../model/errors.js';
import { parseHostPortString } from '../model/host-port.js';
import { canonicalCIDR, parseCIDR } from '../model/ip.js';
import { describe, indexPath, isJsonObject, notSupported } from '../model/json-fields.js';
import { PROXY_CONFIG_API_VERSION, PROXY_CONFIG_KIND } from './proxy-config-kind.js';
import { ignoredFieldWarnings, parseKubeProxyConfiguration, type KubeProxyConfigurationParsed } from './proxy-config-schema.js';

export { parseGoDuration } from './proxy-config-duration.js';

export { PROXY_CONFIG_API_VERSION, PROXY_CONFIG_KIND } from './proxy-config-kind.js';
const MODES = ['iptables', 'ipvs', 'nftables'] as const;
const DETECT_LOCAL_MODES = ['ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix'] as const;
/** A Linux interface name (at most 15 bytes), in the characters both rule languages take bare. */
const INTERFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;
/** The IPVS schedulers kube-proxy's configuration validation accepts. */
const IPVS_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'sh', 'dh', 'sed', 'nq'] as const;

/** A configuration read from a file: what svcplane acts on, and one warning per field it accepts but ignores. */
export interface ReadProxyConfig {
  readonly config: ProxyConfig;
  readonly warnings: readonly string[];
}

export function proxyConfigRef(): { kind: string } {
  return { kind: PROXY_CONFIG_KIND };
}

/**
 * `backend` (the --backend being run) picks the per-mode section when given: the
 * agent and the CLI are told their mode on the command line, which wins over the
 * file's `mode` field, as kube-proxy's --proxy-mode flag wins over its config.
 */
export function proxyConfigFromObject(obj: unknown, source?: string, backend?: string): ProxyConfig {
  return readProxyConfig(obj, source, backend).config;
}

/** As proxyConfigFromObject, with the warnings. Throws an InputError naming every bad field. */
export function readProxyConfig(obj: unknown, source?: string, backend?: string): ReadProxyConfig {
  if (!isJsonObject(obj)) {
    throw new InputError(proxyConfigRef(), [{ field: '(root)', message: `must be a KubeProxyConfiguration object, not ${describe(obj)}` }], source);
  }
  const shape = parseKubeProxyConfiguration(obj);
  if (!shape.value) throw new InputError(proxyConfigRef(), shape.issues, source);
  const issues: FieldIssue[] = [];
  const config = toProxyConfig(shape.value, backend, (field, message) => issues.push({ field, message }));
  if (issues.length > 0) throw new InputError(proxyConfigRef(), issues, source);
  return { config: ProxyConfigSchema.parse(config), warnings: ignoredFieldWarnings(shape.value) };
}

type AddIssue = (field: string, message: string) => void;

function toProxyConfig(root: KubeProxyConfigurationParsed, backend: string | undefined, add: AddIssue): ProxyConfig {
  if (root.kind && root.kind !== PROXY_CONFIG_KIND) add('kind', `must be "${PROXY_CONFIG_KIND}", not ${JSON.stringify(root.kind)}`);
  if (root.apiVersion && root.apiVersion !== PROXY_CONFIG_API_VERSION) {
    add('apiVersion', `must be "${PROXY_CONFIG_API_VERSION}", not ${JSON.stringify(root.apiVersion)}`);
  }

  const modeRaw = root.mode ?? '';
  if (modeRaw !== '' && !(MODES as readonly string[]).includes(modeRaw)) add('mode', notSupported(modeRaw, MODES));
  const mode = backend && (MODES as readonly string[]).includes(backend) ? backend : modeRaw || 'iptables';
  const iptables = root.iptables ?? {};
  const ipvs = root.ipvs ?? {};
  const nftables = root.nftables ?? {};
  // Each section is type-checked whatever the mode (by the schema), so a typo never hides behind it.
  for (const [name, bit] of [['iptables', iptables.masqueradeBit], ['nftables', nftables.masqueradeBit]] as const) {
    if (bit !== undefined && bit !== null && (bit < 0 || bit > 31)) add(`${name}.masqueradeBit`, 'must be between 0 and 31, inclusive');
  }
  const masq = mode === 'nftables' ? nftables : iptables;
  const sync = mode === 'nftables' ? nftables : mode === 'ipvs' ? ipvs : iptables;

  const clusterCIDRs: string[] = [];
  for (const c of (root.clusterCIDR ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const canon = canonicalCIDR(c);
    if (!canon) add('clusterCIDR', `${JSON.stringify(c)} must be a valid CIDR (e.g. 10.244.0.0/16)`);
    else clusterCIDRs.push(canon);
  }
  if (clusterCIDRs.length > 2) add('clusterCIDR', 'may hold at most 2 CIDRs (one of each family)');
  else if (clusterCIDRs.length === 2 && parseCIDR(clusterCIDRs[0]!)!.family === parseCIDR(clusterCIDRs[1]!)!.family) {
    add('clusterCIDR', 'may hold at most one CIDR of each family');
  }

  const dlmRaw = root.detectLocalMode ?? '';
  if (dlmRaw !== '' && !(DETECT_LOCAL_MODES as readonly string[]).includes(dlmRaw)) add('detectLocalMode', notSupported(dlmRaw, DETECT_LOCAL_MODES));
  const detectLocalMode = (dlmRaw || 'ClusterCIDR') as ProxyConfig['detectLocalMode'];
  const bridgeInterface = root.detectLocal?.bridgeInterface || undefined;
  const interfaceNamePrefix = root.detectLocal?.interfaceNamePrefix || undefined;
  // The names go into rules as they are: hold them to what a Linux interface name can be.
  for (const [field, v] of [['detectLocal.bridgeInterface', bridgeInterface], ['detectLocal.interfaceNamePrefix', interfaceNamePrefix]] as const) {
    if (v !== undefined && !INTERFACE_NAME.test(v)) add(field, `${JSON.stringify(v)} must be an interface name: 1-15 of A-Z, a-z, 0-9, '.', '_', '-'`);
  }
  // iptables matches a prefix as `-i PREFIX+`, and the whole argument must fit in 15 characters.
  if (interfaceNamePrefix !== undefined && INTERFACE_NAME.test(interfaceNamePrefix) && interfaceNamePrefix.length > 14) {
    add('detectLocal.interfaceNamePrefix', `${JSON.stringify(interfaceNamePrefix)} must be at most 14 characters (iptables matches it as "${interfaceNamePrefix}+", and takes at most 15)`);
  }
  if (detectLocalMode === 'BridgeInterface' && !bridgeInterface) add('detectLocal.bridgeInterface', 'is required when detectLocalMode is BridgeInterface');
  if (detectLocalMode === 'InterfaceNamePrefix' && !interfaceNamePrefix) add('detectLocal.interfaceNamePrefix', 'is required when detectLocalMode is InterfaceNamePrefix');

  const npaRaw = root.nodePortAddresses ?? [];
  const nodePortAddresses: string[] = [];
  npaRaw.forEach((a, i) => {
    const f = indexPath('nodePortAddresses', i);
    if (a === 'primary') {
      if (npaRaw.length > 1) add(f, "'primary' may not be combined with CIDRs");
      else nodePortAddresses.push(a);
      return;
    }
    const canon = canonicalCIDR(a);
    if (!canon) add(f, "must be a valid CIDR (e.g. 192.168.0.0/16) or 'primary'");
    else nodePortAddresses.push(canon);
  });

  const schedulerRaw = ipvs.scheduler ?? '';
  // kube-proxy refuses any other scheduler; the value also lands verbatim in ipvsadm's restore input.
  if (schedulerRaw !== '' && !(IPVS_SCHEDULERS as readonly string[]).includes(schedulerRaw)) add('ipvs.scheduler', notSupported(schedulerRaw, IPVS_SCHEDULERS));
  const ipvsExcludeCIDRs = cidrList(ipvs.excludeCIDRs ?? [], 'ipvs.excludeCIDRs', add);
  const ipvsTimeouts = {
    tcpSeconds: wholeSeconds(ipvs.tcpTimeout, 'ipvs.tcpTimeout', add),
    tcpFinSeconds: wholeSeconds(ipvs.tcpFinTimeout, 'ipvs.tcpFinTimeout', add),
    udpSeconds: wholeSeconds(ipvs.udpTimeout, 'ipvs.udpTimeout', add),
  };
  const hostnameOverride = root.hostnameOverride || undefined;
  const addresses: Partial<Pick<ProxyConfig, 'healthzBindAddress' | 'metricsBindAddress'>> = {};
  for (const key of ['healthzBindAddress', 'metricsBindAddress'] as const) {
    const v = root[key];
    if (!v) continue;
    if (parseHostPortString(v) === undefined) add(key, `${JSON.stringify(v)} must be IP:port, e.g. 0.0.0.0:10256 or [::]:10256 (port 1-65535)`);
    else addresses[key] = v;
  }

  return {
    clusterCIDRs,
    detectLocalMode,
    ...(bridgeInterface ? { bridgeInterface } : {}),
    ...(interfaceNamePrefix ? { interfaceNamePrefix } : {}),
    nodePortAddresses,
    masqueradeAll: masq.masqueradeAll ?? DEFAULT_PROXY_CONFIG.masqueradeAll,
    masqueradeBit: masq.masqueradeBit ?? DEFAULT_PROXY_CONFIG.masqueradeBit,
    localhostNodePorts: iptables.localhostNodePorts ?? DEFAULT_PROXY_CONFIG.localhostNodePorts,
    ipvsScheduler: schedulerRaw || DEFAULT_PROXY_CONFIG.ipvsScheduler,
    ...(hostnameOverride ? { hostnameOverride } : {}),
    syncPeriodSeconds: sync.syncPeriod || DEFAULT_PROXY_CONFIG.syncPeriodSeconds,
    minSyncPeriodSeconds: sync.minSyncPeriod || DEFAULT_PROXY_CONFIG.minSyncPeriodSeconds,
    ...(ipvsExcludeCIDRs.length ? { ipvsExcludeCIDRs } : {}),
    ...(ipvs.strictARP ? { ipvsStrictARP: true } : {}),
    ...(ipvsTimeouts.tcpSeconds || ipvsTimeouts.tcpFinSeconds || ipvsTimeouts.udpSeconds ? { ipvsTimeouts } : {}),
    conntrack: conntrackConfig(root.conntrack ?? {}, add),
    ...addresses,
    ...(root.logging?.verbosity ? { logVerbosity: root.logging.verbosity } : {}),
  };
}

/**
 * conntrack.* with kube-proxy's v1alpha1 defaults for what is not given
 * (maxPerCore 32768, min 131072, tcpEstablishedTimeout 24h, tcpCloseWaitTimeout 1h).
 * A value given as 0 means "leave the kernel's value", and is left out.
 */
function conntrackConfig(c: NonNullable<KubeProxyConfigurationParsed['conntrack']>, add: AddIssue): ConntrackConfig {
  const out: { -readonly [K in keyof ConntrackConfig]: ConntrackConfig[K] } = {};
  for (const key of ['maxPerCore', 'min'] as const) {
    const v = c[key] ?? DEFAULT_CONNTRACK[key];
    if (v !== undefined && v < 0) add(`conntrack.${key}`, 'must be greater than or equal to 0');
    else if (v) out[key] = v;
  }
  const timeouts = [
    ['tcpEstablishedTimeout', 'tcpEstablishedTimeoutSeconds'],
    ['tcpCloseWaitTimeout', 'tcpCloseWaitTimeoutSeconds'],
    ['udpTimeout', 'udpTimeoutSeconds'],
    ['udpStreamTimeout', 'udpStreamTimeoutSeconds'],
  ] as const;
  for (const [from, to] of timeouts) {
    const given = c[from];
    const v = given === undefined || given === null ? DEFAULT_CONNTRACK[to] : wholeSeconds(given, `conntrack.${from}`, add);
    if (v) out[to] = v;
  }
  if (c.tcpBeLiberal) out.tcpBeLiberal = true;
  return out;
}

/** A duration as the whole seconds a sysctl or ipvsadm takes (kube-proxy truncates the same way). */
function wholeSeconds(secs: number | null | undefined, field: string, add: AddIssue): number {
  if (secs === undefined || secs === null) return 0;
  const whole = Math.floor(secs);
  if (whole > 2 ** 31 - 1) add(field, 'must be at most 2147483647s');
  return whole;
}

function cidrList(list: readonly string[], field: string, add: AddIssue): string[] {
  const out: string[] = [];
  list.forEach((c, i) => {
    const canon = canonicalCIDR(c);
    if (!canon) add(indexPath(field, i), `${JSON.stringify(c)} must be a valid CIDR (e.g. 10.0.0.0/8)`);
    else out.push(canon);
  });
  return out;
}

export function isProxyConfigObject(obj: unknown): boolean {
  return isJsonObject(obj) && obj.kind === PROXY_CONFIG_KIND;
}
