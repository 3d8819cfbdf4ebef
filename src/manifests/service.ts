// A core/v1 Service object -> the plan's PlanService: validated as the API server
// would (src/model/validate-service.ts), defaults applied, addresses and CIDRs in
// canonical form, lists sorted, so that two spellings of one Service give one plan.

import { formatIssues, formatRef, InputError, type FieldIssue } from '../model/errors.js';
import { canonicalCIDR, canonicalIP, compareIPs, ipFamilyOf } from '../model/ip.js';
import type { PlanService, Protocol, ServicePort } from '../model/plan.js';
import { SERVICE_PROXY_NAME_LABEL } from '../model/plan-constants.js';
import {
  LOAD_BALANCER_INGRESS_ANNOTATION,
  readService,
  type ServiceObject,
  type ServiceValidationOptions,
} from '../model/validate-service.js';
import { isJsonObject } from '../model/json-fields.js';
import { compareCIDRs } from './servicecidr.js';

export { LOAD_BALANCER_INGRESS_ANNOTATION };

/** The ref an error about this object names; as much as can be read from it. */
export function serviceRef(obj: unknown): { kind: 'Service'; namespace?: string; name?: string } {
  const meta = isJsonObject(obj) && isJsonObject(obj.metadata) ? obj.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : undefined;
  const ns = typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : 'default';
  return { kind: 'Service', namespace: ns, ...(name !== undefined ? { name } : {}) };
}

/**
 * Validates a Service object (for `opts.purpose`, authoring by default) and turns it
 * into the plan's shape. Throws an InputError naming the Service and every refused
 * field; fields forwarding ignores go to `onIgnored` (once per call, when any).
 */
export function serviceToPlan(
  obj: unknown,
  source?: string,
  opts: ServiceValidationOptions = {},
  onIgnored?: (issues: readonly FieldIssue[]) => void,
): PlanService {
  const { service, issues, ignored } = readService(obj, opts);
  if (!service || issues.length > 0) throw new InputError(serviceRef(obj), issues, source);
  if (ignored.length > 0) onIgnored?.(ignored);
  return toPlanService(service);
}

/** One warning line for the fields forwarding ignored on a Service. */
export function ignoredFieldsWarning(obj: unknown, issues: readonly FieldIssue[], source?: string): string {
  return `${source ? `${source}: ` : ''}${formatRef(serviceRef(obj))}: ignored (does not apply): ${formatIssues(issues)}`;
}

function comparePorts(a: ServicePort, b: ServicePort): number {
  if (a.port !== b.port) return a.port - b.port;
  return a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0;
}

/** The values canonical, once each, sorted by `compare`; an empty list makes no Set (most Services have none). */
function sortedUnique(values: readonly string[], canon: (s: string) => string | undefined, compare: (a: string, b: string) => number): string[] {
  if (values.length === 0) return [];
  const out = [...new Set(values.map((v) => canon(v)!))];
  return out.sort(compare);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A validated Service (no issues) -> PlanService. */
export function toPlanService(s: ServiceObject): PlanService {
  const isExternalName = s.type === 'ExternalName';
  const clusterIPs = s.headless || isExternalName ? [] : s.clusterIPs.map((ip) => canonicalIP(ip)!);
  // Families follow the addresses when they are known; before allocation, what was asked for.
  const ipFamilies = isExternalName
    ? []
    : clusterIPs.length > 0
      ? clusterIPs.map((ip) => ipFamilyOf(ip)!)
      : ([...s.ipFamilies] as Array<'IPv4' | 'IPv6'>); // a copy: the reader may hand back the input's own list

  const ports: ServicePort[] = s.ports
    .map((p) => {
      // Assigned, not spread (see the plan below); optional keys stay absent when unset.
      const out: Mutable<ServicePort> = { name: p.name, protocol: p.protocol as Protocol, port: p.port, targetPort: p.targetPort };
      if (p.nodePort !== undefined) out.nodePort = p.nodePort;
      if (p.appProtocol !== undefined) out.appProtocol = p.appProtocol;
      return out;
    })
    .sort(comparePorts);

  const selector = s.selector
    ? Object.fromEntries(Object.keys(s.selector).sort().map((k) => [k, s.selector![k]!]))
    : null;

  const loadBalancerIngress = s.loadBalancerIngress.length > 0 ? ingressOf(s.loadBalancerIngress) : [];

  const proxyName = s.labels[SERVICE_PROXY_NAME_LABEL];
  const headless = s.headless;
  const ipFamilyPolicy = s.ipFamilyPolicy as PlanService['ipFamilyPolicy'];
  const externalIPs = sortedUnique(s.externalIPs, canonicalIP, compareIPs);
  const loadBalancerSourceRanges = sortedUnique(s.loadBalancerSourceRanges, canonicalCIDR, compareCIDRs);
  const sessionAffinity: PlanService['sessionAffinity'] = s.sessionAffinity === 'ClientIP' ? { type: 'ClientIP', timeoutSeconds: s.affinityTimeoutSeconds } : { type: 'None' };
  const externalTrafficPolicy = s.externalTrafficPolicy as PlanService['externalTrafficPolicy'];
  const internalTrafficPolicy = s.internalTrafficPolicy as PlanService['internalTrafficPolicy'];
  const publishNotReadyAddresses = s.publishNotReadyAddresses;
  const { namespace, name } = s;
  const type = s.type as PlanService['type'];
  // The key order is the plan's serialized order. Nearly every Service has no optional key
  // but proxyName: it is one literal, every field in the object itself. A key assigned after
  // a literal goes to a separate property array, regrown as keys are added (~20 here, one
  // Service at a time: ~170 B more per Service kept, and the copies of each regrowth).
  if (!hasRareKeys(s)) {
    return proxyName !== undefined
      ? { namespace, name, type, proxyName, headless, clusterIPs, ipFamilies, ipFamilyPolicy, ports, selector, externalIPs, loadBalancerIngress, loadBalancerSourceRanges, sessionAffinity, externalTrafficPolicy, internalTrafficPolicy, publishNotReadyAddresses }
      : { namespace, name, type, headless, clusterIPs, ipFamilies, ipFamilyPolicy, ports, selector, externalIPs, loadBalancerIngress, loadBalancerSourceRanges, sessionAffinity, externalTrafficPolicy, internalTrafficPolicy, publishNotReadyAddresses };
  }
  // Otherwise a literal and assignments, the optional keys where they stand in that order
  // (not one literal with conditional spreads: V8 copies each spread at run time).
  const plan: Mutable<PlanService> = { namespace, name, type } as Mutable<PlanService>;
  if (proxyName !== undefined) plan.proxyName = proxyName;
  plan.headless = headless;
  plan.clusterIPs = clusterIPs;
  plan.ipFamilies = ipFamilies;
  plan.ipFamilyPolicy = ipFamilyPolicy;
  plan.ports = ports;
  plan.selector = selector;
  plan.externalIPs = externalIPs;
  plan.loadBalancerIngress = loadBalancerIngress;
  plan.loadBalancerSourceRanges = loadBalancerSourceRanges;
  if (s.loadBalancerClass !== undefined) plan.loadBalancerClass = s.loadBalancerClass;
  plan.sessionAffinity = sessionAffinity;
  plan.externalTrafficPolicy = externalTrafficPolicy;
  plan.internalTrafficPolicy = internalTrafficPolicy;
  if (s.healthCheckNodePort !== undefined) plan.healthCheckNodePort = s.healthCheckNodePort;
  if (s.allocateLoadBalancerNodePorts !== undefined) plan.allocateLoadBalancerNodePorts = s.allocateLoadBalancerNodePorts;
  plan.publishNotReadyAddresses = publishNotReadyAddresses;
  if (s.trafficDistribution !== undefined) plan.trafficDistribution = s.trafficDistribution;
  if (s.topologyMode !== undefined) plan.topologyMode = s.topologyMode;
  if (s.externalName !== undefined) plan.externalName = s.externalName;
  return plan;
}

/** One entry per address, sorted; status comes first, so its ipMode wins over the annotation's VIP. */
function ingressOf(list: ServiceObject['loadBalancerIngress']): PlanService['loadBalancerIngress'] {
  const ingress = new Map<string, { ip: string; ipMode: 'VIP' | 'Proxy' }>();
  for (const i of list) {
    if (!i.ip) continue;
    const ip = canonicalIP(i.ip)!;
    if (!ingress.has(ip)) ingress.set(ip, { ip, ipMode: (i.ipMode ?? 'VIP') as 'VIP' | 'Proxy' });
  }
  return [...ingress.values()].sort((a, b) => compareIPs(a.ip, b.ip));
}

/** Whether the Service sets an optional PlanService key other than proxyName. */
function hasRareKeys(s: ServiceObject): boolean {
  return (
    s.loadBalancerClass !== undefined ||
    s.healthCheckNodePort !== undefined ||
    s.allocateLoadBalancerNodePorts !== undefined ||
    s.trafficDistribution !== undefined ||
    s.topologyMode !== undefined ||
    s.externalName !== undefined
  );
}
