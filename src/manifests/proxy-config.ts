// A KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1) -> ProxyConfig, the
// subset that changes the rules, with kube-proxy's defaults. Fields we do not use
// are ignored (a real kube-proxy config file has many); fields we use must have the
// right type, and an error names the one that does not.
//
// v1alpha1 keeps masquerade and sync settings per proxy mode. As kube-proxy's own
// conversion does, `mode` picks the section: nftables reads `nftables.*`; ipvs reads
// sync periods from `ipvs.*` and masquerading from `iptables.*`; anything else
// (iptables, the default) reads `iptables.*`. A zero duration means "unset" there
// (Go's zero value), so it gets the default too.

import { DEFAULT_PROXY_CONFIG, ProxyConfigSchema, type ProxyConfig } from '../model/config.js';
import { InputError } from '../model/errors.js';
import { canonicalCIDR, parseCIDR } from '../model/ip.js';
import { FieldReader, indexPath, isJsonObject, notSupported, type JsonObject } from '../model/json-fields.js';

export const PROXY_CONFIG_API_VERSION = 'kubeproxy.config.k8s.io/v1alpha1';
export const PROXY_CONFIG_KIND = 'KubeProxyConfiguration';
const MODES = ['iptables', 'ipvs', 'nftables'] as const;
const DETECT_LOCAL_MODES = ['ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix'] as const;
/** A Linux interface name (at most 15 bytes), in the characters both rule languages take bare. */
const INTERFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;
/** The IPVS schedulers kube-proxy's configuration validation accepts. */
const IPVS_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'sh', 'dh', 'sed', 'nq'] as const;

const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, 'µs': 1e-6, 'μs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/**
 * Parses a Go duration ("30s", "1m30s", "1.5h", "500ms", "0") into seconds;
 * undefined when it is not one.
 */
export function parseGoDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const m = /^([-+]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(s);
  if (!m) return undefined;
  let total = 0;
  for (const part of m[2]!.matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(part[1]) * UNIT_SECONDS[part[2]!]!;
  }
  // Round away float noise from fractional units (0.1s + 0.2s).
  total = Math.round(total * 1e9) / 1e9;
  return m[1] === '-' ? -total : total;
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
  const r = new FieldReader();
  const root = r.object(obj, '(root)');
  if (!root) {
    throw new InputError(proxyConfigRef(), r.issues.length ? r.issues : [{ field: '(root)', message: 'must be a KubeProxyConfiguration object, not null' }], source);
  }
  if (root.kind !== undefined && root.kind !== PROXY_CONFIG_KIND) r.add('kind', `must be "${PROXY_CONFIG_KIND}", not ${JSON.stringify(root.kind)}`);
  if (root.apiVersion !== undefined && root.apiVersion !== PROXY_CONFIG_API_VERSION) {
    r.add('apiVersion', `must be "${PROXY_CONFIG_API_VERSION}", not ${JSON.stringify(root.apiVersion)}`);
  }

  const modeRaw = r.string(root.mode, 'mode') ?? '';
  if (modeRaw !== '' && !(MODES as readonly string[]).includes(modeRaw)) r.add('mode', notSupported(modeRaw, MODES));
  const mode = backend && (MODES as readonly string[]).includes(backend) ? backend : modeRaw || 'iptables';
  const iptables = r.object(root.iptables, 'iptables') ?? {};
  const ipvs = r.object(root.ipvs, 'ipvs') ?? {};
  const nftables = r.object(root.nftables, 'nftables') ?? {};
  // Each section is type-checked whatever the mode, so a typo never hides behind it.
  const read = {
    iptables: readSection(r, iptables, 'iptables'),
    ipvs: readSection(r, ipvs, 'ipvs'),
    nftables: readSection(r, nftables, 'nftables'),
  };
  const masq = mode === 'nftables' ? read.nftables : read.iptables;
  const sync = mode === 'nftables' ? read.nftables : mode === 'ipvs' ? read.ipvs : read.iptables;

  const clusterCIDRRaw = r.string(root.clusterCIDR, 'clusterCIDR') ?? '';
  const clusterCIDRs: string[] = [];
  for (const c of clusterCIDRRaw.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const canon = canonicalCIDR(c);
    if (!canon) r.add('clusterCIDR', `${JSON.stringify(c)} must be a valid CIDR (e.g. 10.244.0.0/16)`);
    else clusterCIDRs.push(canon);
  }
  if (clusterCIDRs.length > 2) r.add('clusterCIDR', 'may hold at most 2 CIDRs (one of each family)');
  else if (clusterCIDRs.length === 2 && parseCIDR(clusterCIDRs[0]!)!.family === parseCIDR(clusterCIDRs[1]!)!.family) {
    r.add('clusterCIDR', 'may hold at most one CIDR of each family');
  }

  const dlmRaw = r.string(root.detectLocalMode, 'detectLocalMode') ?? '';
  if (dlmRaw !== '' && !(DETECT_LOCAL_MODES as readonly string[]).includes(dlmRaw)) r.add('detectLocalMode', notSupported(dlmRaw, DETECT_LOCAL_MODES));
  const detectLocalMode = (dlmRaw || 'ClusterCIDR') as ProxyConfig['detectLocalMode'];
  const detectLocal = r.object(root.detectLocal, 'detectLocal') ?? {};
  const bridgeInterface = r.string(detectLocal.bridgeInterface, 'detectLocal.bridgeInterface') || undefined;
  const interfaceNamePrefix = r.string(detectLocal.interfaceNamePrefix, 'detectLocal.interfaceNamePrefix') || undefined;
  // The names go into rules as they are: hold them to what a Linux interface name can be.
  for (const [field, v] of [['detectLocal.bridgeInterface', bridgeInterface], ['detectLocal.interfaceNamePrefix', interfaceNamePrefix]] as const) {
    if (v !== undefined && !INTERFACE_NAME.test(v)) r.add(field, `${JSON.stringify(v)} must be an interface name: 1-15 of A-Z, a-z, 0-9, '.', '_', '-'`);
  }
  // iptables matches a prefix as `-i PREFIX+`, and the whole argument must fit in 15 characters.
  if (interfaceNamePrefix !== undefined && INTERFACE_NAME.test(interfaceNamePrefix) && interfaceNamePrefix.length > 14) {
    r.add('detectLocal.interfaceNamePrefix', `${JSON.stringify(interfaceNamePrefix)} must be at most 14 characters (iptables matches it as "${interfaceNamePrefix}+", and takes at most 15)`);
  }
  if (detectLocalMode === 'BridgeInterface' && !bridgeInterface) {
    r.add('detectLocal.bridgeInterface', 'is required when detectLocalMode is BridgeInterface');
  }
  if (detectLocalMode === 'InterfaceNamePrefix' && !interfaceNamePrefix) {
    r.add('detectLocal.interfaceNamePrefix', 'is required when detectLocalMode is InterfaceNamePrefix');
  }

  const npaRaw = r.stringList(root.nodePortAddresses, 'nodePortAddresses') ?? [];
  const nodePortAddresses: string[] = [];
  npaRaw.forEach((a, i) => {
    const f = indexPath('nodePortAddresses', i);
    if (a === 'primary') {
      if (npaRaw.length > 1) r.add(f, "'primary' may not be combined with CIDRs");
      else nodePortAddresses.push(a);
      return;
    }
    const canon = canonicalCIDR(a);
    if (!canon) r.add(f, "must be a valid CIDR (e.g. 192.168.0.0/16) or 'primary'");
    else nodePortAddresses.push(canon);
  });

  const schedulerRaw = r.string(ipvs.scheduler, 'ipvs.scheduler') ?? '';
  // kube-proxy refuses any other scheduler; the value also lands verbatim in ipvsadm's restore input.
  if (schedulerRaw !== '' && !(IPVS_SCHEDULERS as readonly string[]).includes(schedulerRaw)) r.add('ipvs.scheduler', notSupported(schedulerRaw, IPVS_SCHEDULERS));
  const scheduler = schedulerRaw || DEFAULT_PROXY_CONFIG.ipvsScheduler;
  const hostnameOverride = r.string(root.hostnameOverride, 'hostnameOverride') || undefined;
  const healthzBindAddress = r.string(root.healthzBindAddress, 'healthzBindAddress') || undefined;
  const metricsBindAddress = r.string(root.metricsBindAddress, 'metricsBindAddress') || undefined;
  const localhostNodePorts = r.boolean(iptables.localhostNodePorts, 'iptables.localhostNodePorts') ?? DEFAULT_PROXY_CONFIG.localhostNodePorts;

  const syncPeriodSeconds = sync.syncPeriod || DEFAULT_PROXY_CONFIG.syncPeriodSeconds;
  const minSyncPeriodSeconds = sync.minSyncPeriod || DEFAULT_PROXY_CONFIG.minSyncPeriodSeconds;

  if (r.issues.length > 0) throw new InputError(proxyConfigRef(), r.issues, source);
  const config: ProxyConfig = {
    clusterCIDRs,
    detectLocalMode,
    ...(bridgeInterface ? { bridgeInterface } : {}),
    ...(interfaceNamePrefix ? { interfaceNamePrefix } : {}),
    nodePortAddresses,
    masqueradeAll: masq.masqueradeAll ?? DEFAULT_PROXY_CONFIG.masqueradeAll,
    masqueradeBit: masq.masqueradeBit ?? DEFAULT_PROXY_CONFIG.masqueradeBit,
    localhostNodePorts,
    ipvsScheduler: scheduler,
    ...(hostnameOverride ? { hostnameOverride } : {}),
    ...(healthzBindAddress ? { healthzBindAddress } : {}),
    ...(metricsBindAddress ? { metricsBindAddress } : {}),
    syncPeriodSeconds,
    minSyncPeriodSeconds,
  };
  return ProxyConfigSchema.parse(config);
}

interface SectionValues {
  masqueradeAll?: boolean;
  masqueradeBit?: number;
  syncPeriod?: number;
  minSyncPeriod?: number;
}

function readSection(r: FieldReader, o: JsonObject, name: string): SectionValues {
  const out: SectionValues = {};
  if (name !== 'ipvs') {
    const all = r.boolean(o.masqueradeAll, `${name}.masqueradeAll`);
    if (all !== undefined) out.masqueradeAll = all;
    const bit = r.integer(o.masqueradeBit, `${name}.masqueradeBit`);
    if (bit !== undefined) {
      if (bit < 0 || bit > 31) r.add(`${name}.masqueradeBit`, 'must be between 0 and 31, inclusive');
      else out.masqueradeBit = bit;
    }
  }
  for (const key of ['syncPeriod', 'minSyncPeriod'] as const) {
    const field = `${name}.${key}`;
    const s = r.string(o[key], field);
    if (s === undefined) continue;
    const secs = parseGoDuration(s);
    if (secs === undefined) r.add(field, `must be a duration such as "30s", "1m" or "1h30m", not ${JSON.stringify(s)}`);
    else if (secs < 0) r.add(field, 'must not be negative');
    else out[key] = secs;
  }
  return out;
}

export function isProxyConfigObject(obj: unknown): boolean {
  return isJsonObject(obj) && obj.kind === PROXY_CONFIG_KIND;
}
