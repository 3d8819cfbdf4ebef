// The load-balancer fields of a Service: source ranges (field or the older
// annotation), allocateLoadBalancerNodePorts, loadBalancerClass, and the ingress
// addresses (status, or our annotation for manifests without status). On a type
// other than LoadBalancer they do not apply: forwarding drops them with a warning.
// An address or range that does not parse is refused on both sides: a firewall
// built from half a list would let through what the user meant to block.

import { parseCIDR, parseIP } from './ip.js';
import { childPath, indexPath, keyPath, notSupported, type JsonObject } from './json-fields.js';
import { dns1123SubdomainError, qualifiedNameError } from './names.js';
import { VALID_IP_MSG } from './validate-service-ips.js';
import type { ServiceRules } from './validate-service-rules.js';

/**
 * Load-balancer ingress IPs for Services whose manifest cannot carry status:
 * comma-separated IPs, each taken as ipMode VIP. Our constructs write it.
 */
export const LOAD_BALANCER_INGRESS_ANNOTATION = 'svcplane.io/load-balancer-ingress';
/** The pre-field spelling of spec.loadBalancerSourceRanges, still validated by the API server. */
export const LOAD_BALANCER_SOURCE_RANGES_ANNOTATION = 'service.beta.kubernetes.io/load-balancer-source-ranges';
const IP_MODES = ['VIP', 'Proxy'] as const;
const VALID_CIDR_MSG = 'must be a valid CIDR (e.g. 10.9.8.0/24 or 2001:db8::/64)';
const LB_ONLY = 'may only be used when type is LoadBalancer';

export interface ServiceObjectIngress {
  readonly ip?: string;
  readonly hostname?: string;
  /** Defaulted to VIP when an ip is set. */
  readonly ipMode?: string;
}

export interface LoadBalancerFields {
  readonly loadBalancerSourceRanges: readonly string[];
  readonly loadBalancerClass?: string;
  readonly allocateLoadBalancerNodePorts?: boolean;
}

export function readLoadBalancerFields(rules: ServiceRules, spec: JsonObject, annotations: Readonly<Record<string, string>>, isLB: boolean): LoadBalancerFields {
  const r = rules.reader;
  const lbsr = r.stringList(spec.loadBalancerSourceRanges, 'spec.loadBalancerSourceRanges') ?? [];
  // The API tolerates space padding here (a leftover of the annotation days).
  let loadBalancerSourceRanges = lbsr.map((s) => s.trim());
  if (lbsr.length > 0) {
    if (!isLB && rules.notApplicable('spec.loadBalancerSourceRanges', LB_ONLY)) loadBalancerSourceRanges = [];
    loadBalancerSourceRanges.forEach((c, i) => {
      if (!parseCIDR(c)) rules.refuse(indexPath('spec.loadBalancerSourceRanges', i), VALID_CIDR_MSG);
    });
  } else if (annotations[LOAD_BALANCER_SOURCE_RANGES_ANNOTATION] !== undefined) {
    const field = keyPath('metadata.annotations', LOAD_BALANCER_SOURCE_RANGES_ANNOTATION);
    const val = annotations[LOAD_BALANCER_SOURCE_RANGES_ANNOTATION]!.trim();
    if ((isLB || !rules.notApplicable(field, LB_ONLY)) && val !== '') {
      for (const c of val.split(',').map((s) => s.trim())) {
        if (!parseCIDR(c)) rules.refuse(field, `${JSON.stringify(c)} ${VALID_CIDR_MSG}`);
      }
    }
  }
  let allocRaw = r.boolean(spec.allocateLoadBalancerNodePorts, 'spec.allocateLoadBalancerNodePorts');
  if (allocRaw !== undefined && !isLB && rules.notApplicable('spec.allocateLoadBalancerNodePorts', LB_ONLY)) allocRaw = undefined;
  const allocateLoadBalancerNodePorts = isLB ? (allocRaw ?? true) : undefined;
  let loadBalancerClass = r.string(spec.loadBalancerClass, 'spec.loadBalancerClass');
  if (loadBalancerClass !== undefined) {
    // Which controller provisions the balancer; nothing a node's rules use.
    const problem = !isLB ? LB_ONLY : qualifiedNameError(loadBalancerClass);
    if (problem && rules.notApplicable('spec.loadBalancerClass', problem)) loadBalancerClass = undefined;
  }
  return {
    loadBalancerSourceRanges,
    ...(loadBalancerClass !== undefined ? { loadBalancerClass } : {}),
    ...(allocateLoadBalancerNodePorts !== undefined ? { allocateLoadBalancerNodePorts } : {}),
  };
}

/** status.loadBalancer.ingress, then the svcplane annotation's IPs. */
export function readIngress(rules: ServiceRules, root: JsonObject, annotations: Readonly<Record<string, string>>, isLB: boolean): ServiceObjectIngress[] {
  const r = rules.reader;
  const out: ServiceObjectIngress[] = [];
  const status = r.object(root.status, 'status');
  const lb = r.object(status?.loadBalancer, 'status.loadBalancer');
  let ingress = r.array(lb?.ingress, 'status.loadBalancer.ingress') ?? [];
  if (ingress.length > 0 && !isLB && rules.notApplicable('status.loadBalancer.ingress', LB_ONLY)) ingress = [];
  ingress.forEach((iv, i) => {
    const path = indexPath('status.loadBalancer.ingress', i);
    const o = r.object(iv, path);
    if (!o) return;
    const ip = r.string(o.ip, childPath(path, 'ip'));
    let hostname = r.string(o.hostname, childPath(path, 'hostname'));
    let ipMode = r.string(o.ipMode, childPath(path, 'ipMode'));
    if (ip !== undefined && ip !== '') {
      if (!parseIP(ip)) rules.refuse(childPath(path, 'ip'), VALID_IP_MSG);
      ipMode ??= 'VIP';
    }
    if (hostname !== undefined && hostname !== '') {
      // A hostname is for DNS-based balancers; no rule of ours uses it.
      const problem = parseIP(hostname) ? 'must be a DNS name, not an IP address' : dns1123SubdomainError(hostname);
      if (problem && rules.notApplicable(childPath(path, 'hostname'), problem)) hostname = undefined;
    }
    if (ipMode !== undefined) {
      if (!ip) {
        if (rules.notApplicable(childPath(path, 'ipMode'), 'may only be set when ip is set')) ipMode = undefined;
      } else if (!(IP_MODES as readonly string[]).includes(ipMode)) {
        // VIP and Proxy forward differently; an unknown mode cannot be guessed.
        rules.refuse(childPath(path, 'ipMode'), notSupported(ipMode, IP_MODES));
      }
    }
    out.push({
      ...(ip ? { ip } : {}),
      ...(hostname ? { hostname } : {}),
      ...(ipMode !== undefined ? { ipMode } : {}),
    });
  });
  const ann = annotations[LOAD_BALANCER_INGRESS_ANNOTATION];
  if (ann !== undefined) {
    const field = keyPath('metadata.annotations', LOAD_BALANCER_INGRESS_ANNOTATION);
    if (isLB || !rules.notApplicable(field, LB_ONLY)) {
      for (const ip of ann.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
        if (!parseIP(ip)) rules.refuse(field, `${JSON.stringify(ip)} ${VALID_IP_MSG}`);
        else out.push({ ip, ipMode: 'VIP' });
      }
    }
  }
  return out;
}
