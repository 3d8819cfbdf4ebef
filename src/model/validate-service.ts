// A core/v1 Service object checked the way the Kubernetes API server (v1.33) checks
// it on create: first the API's defaults are applied (type ClusterIP, protocol TCP,
// targetPort = port, ...), then every rule of ValidateService that matters to a
// proxy, plus the few rules the IP and port allocators add (node port range,
// service CIDRs, ipFamilyPolicy versus the number of families). Field paths are
// the manifest's (`spec.ports[1].nodePort`), so a user finds the line to fix.
//
// Each rule is one of three kinds (validate-service-rules.ts), and `purpose` says
// which side is reading: `authoring` (constructs, `plan --strict`) refuses on every
// rule; `forwarding` (render, apply, check, trace, the agent) refuses only what
// cannot be forwarded safely and returns fields that do not apply as `ignored`.
// The sections live in validate-service-{meta,ports,ips,lb,policies}.ts.
//
// `readService` returns the defaulted Service together with the issues; the plan
// builder (src/manifests/service.ts) uses it so that reading and checking cannot
// disagree. `validateService` is the issues alone.

import type { FieldIssue } from './errors.js';
import { FieldReader, indexPath, notSupported } from './json-fields.js';
import { dns1123SubdomainError } from './names.js';
import { DEFAULT_NODE_PORT_RANGE } from './plan-constants.js';
import { checkClusterIPs, checkExternalIPs } from './validate-service-ips.js';
import { readIngress, readLoadBalancerFields, type ServiceObjectIngress } from './validate-service-lb.js';
import { checkLabels, readServiceMetadata } from './validate-service-meta.js';
import { readSessionAffinity, readTrafficPolicies } from './validate-service-policies.js';
import { readServicePorts, type ServiceObjectPort } from './validate-service-ports.js';
import { ServiceRules, type ValidationPurpose } from './validate-service-rules.js';

export { specialIPError, specialIPv4Error, IP_FAMILY_POLICIES } from './validate-service-ips.js';
export { LOAD_BALANCER_INGRESS_ANNOTATION, LOAD_BALANCER_SOURCE_RANGES_ANNOTATION, type ServiceObjectIngress } from './validate-service-lb.js';
export { TOPOLOGY_AWARE_HINTS_ANNOTATION, TOPOLOGY_MODE_ANNOTATION } from './validate-service-meta.js';
export { TRAFFIC_DISTRIBUTIONS } from './validate-service-policies.js';
export { PROTOCOLS, type ServiceObjectPort } from './validate-service-ports.js';
export type { ValidationPurpose } from './validate-service-rules.js';

export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;

export interface ServiceValidationOptions {
  /** Default 'authoring': every API-server rule. 'forwarding': what a node must refuse. */
  readonly purpose?: ValidationPurpose;
  /** The API server's --service-node-port-range; default 30000-32767 (authoring only). */
  readonly nodePortRange?: { readonly min: number; readonly max: number };
  /** When given (non-empty), every clusterIP must lie inside one of these (authoring only). */
  readonly serviceCIDRs?: readonly string[];
}

/** A Service after the API's defaults, values as written (not yet canonical). */
export interface ServiceObject {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly type: string;
  readonly clusterIP: string;
  /** [clusterIP] when only clusterIP was written (the API's create-time sync). */
  readonly clusterIPs: readonly string[];
  readonly headless: boolean;
  readonly ipFamilies: readonly string[];
  /** As written, or inferred: RequireDualStack when two families or IPs are given, else SingleStack. */
  readonly ipFamilyPolicy: string;
  readonly ports: readonly ServiceObjectPort[];
  /** undefined when the Service has no selector (or an empty one). */
  readonly selector: Readonly<Record<string, string>> | undefined;
  readonly externalIPs: readonly string[];
  readonly externalName?: string;
  readonly sessionAffinity: string;
  readonly affinityTimeoutSeconds: number;
  readonly externalTrafficPolicy: string;
  readonly internalTrafficPolicy: string;
  readonly healthCheckNodePort?: number;
  readonly loadBalancerSourceRanges: readonly string[];
  readonly loadBalancerClass?: string;
  readonly allocateLoadBalancerNodePorts?: boolean;
  readonly publishNotReadyAddresses: boolean;
  readonly trafficDistribution?: string;
  /** The topology-mode annotation, else the topology-aware-hints one. */
  readonly topologyMode?: string;
  /** status.loadBalancer.ingress, then the svcplane annotation's IPs. */
  readonly loadBalancerIngress: readonly ServiceObjectIngress[];
}

export interface ReadServiceResult {
  /** Undefined only when the object is not an object at all. */
  readonly service: ServiceObject | undefined;
  /** Refusals: with any, the Service must not be used. */
  readonly issues: FieldIssue[];
  /** Forwarding only: fields that do not apply, dropped from `service`; one warning each. */
  readonly ignored: FieldIssue[];
}

export function validateService(obj: unknown, opts: ServiceValidationOptions = {}): FieldIssue[] {
  return readService(obj, opts).issues;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function readService(obj: unknown, opts: ServiceValidationOptions = {}): ReadServiceResult {
  const r = new FieldReader();
  const rules = new ServiceRules(r, opts.purpose ?? 'authoring');
  const root = r.object(obj, '(root)');
  if (!root) {
    if (obj === undefined || obj === null) r.add('(root)', 'must be a Service object, not null');
    return { service: undefined, issues: r.issues, ignored: rules.ignored };
  }
  const range = opts.nodePortRange ?? DEFAULT_NODE_PORT_RANGE;

  if (root.kind !== undefined && root.kind !== 'Service') rules.refuse('kind', `must be "Service", not ${JSON.stringify(root.kind)}`);
  if (root.apiVersion !== undefined && root.apiVersion !== 'v1') rules.refuse('apiVersion', `must be "v1", not ${JSON.stringify(root.apiVersion)}`);

  // ---- metadata
  const meta = readServiceMetadata(rules, root);

  // ---- spec: read with defaults
  const spec = r.object(root.spec, 'spec') ?? {};
  const type = r.string(spec.type, 'spec.type') || 'ClusterIP';
  if (!(SERVICE_TYPES as readonly string[]).includes(type)) rules.refuse('spec.type', notSupported(type, SERVICE_TYPES));
  const isLB = type === 'LoadBalancer';
  const isExternalName = type === 'ExternalName';

  let clusterIP = r.string(spec.clusterIP, 'spec.clusterIP') ?? '';
  let clusterIPsGiven = r.stringList(spec.clusterIPs, 'spec.clusterIPs') ?? [];
  let ipFamilies = r.stringList(spec.ipFamilies, 'spec.ipFamilies') ?? [];
  let policyRaw = r.string(spec.ipFamilyPolicy, 'spec.ipFamilyPolicy');

  // ---- ExternalName: a DNS alias, never forwarded; address fields do not apply to it
  let externalName: string | undefined;
  if (isExternalName) {
    if (clusterIP !== '' || clusterIPsGiven.length > 0) {
      if (rules.notApplicable(clusterIP !== '' ? 'spec.clusterIP' : 'spec.clusterIPs', 'may not be set for ExternalName services')) {
        clusterIP = '';
        clusterIPsGiven = [];
      }
    }
    if (ipFamilies.length > 0 && rules.notApplicable('spec.ipFamilies', 'may not be set for ExternalName services')) ipFamilies = [];
    if (policyRaw !== undefined && rules.notApplicable('spec.ipFamilyPolicy', 'may not be set for ExternalName services')) policyRaw = undefined;
    const en = r.string(spec.externalName, 'spec.externalName') ?? '';
    // A trailing dot marks the name fully qualified; the rest must be a DNS subdomain.
    const cname = en.endsWith('.') ? en.slice(0, -1) : en;
    if (cname === '') rules.refuse('spec.externalName', 'is required for ExternalName services');
    else rules.refuse('spec.externalName', dns1123SubdomainError(cname));
    externalName = en;
  }

  // On create the API copies a lone clusterIP into clusterIPs (and never the other way).
  const clusterIPs = clusterIP !== '' && clusterIPsGiven.length === 0 ? [clusterIP] : clusterIPsGiven;
  const ipField = (i: number): string => (clusterIPsGiven.length > 0 ? indexPath('spec.clusterIPs', i) : 'spec.clusterIP');
  const headless = clusterIPs.length === 1 && clusterIPs[0] === 'None';
  const externalIPs = r.stringList(spec.externalIPs, 'spec.externalIPs') ?? [];
  const externallyAccessible = type === 'NodePort' || isLB || (type === 'ClusterIP' && externalIPs.length > 0);

  // ---- ports
  const ports = readServicePorts(rules, { root, spec, type, headless, range });
  // A headless Service has no virtual IP to expose on a node port: nothing to forward to.
  if (headless && (type === 'LoadBalancer' || type === 'NodePort')) {
    rules.refuse(ipField(0), `may not be 'None' for ${type} services (a headless Service has no virtual IP to expose)`);
  }

  // ---- selector
  const selectorMap = r.stringMap(spec.selector, 'spec.selector');
  if (selectorMap) checkLabels(rules, selectorMap, 'spec.selector');
  const selector = selectorMap && Object.keys(selectorMap).length > 0 ? selectorMap : undefined;

  // ---- session affinity
  const affinity = readSessionAffinity(rules, spec);

  // ---- cluster IPs, families, policy
  let ipFamilyPolicy = policyRaw ?? '';
  if (!isExternalName) {
    checkClusterIPs(rules, { clusterIP, clusterIPs, clusterIPsGiven, ipFamilies, policyRaw, headless, ipField, serviceCIDRs: opts.serviceCIDRs ?? [] });
    if (!ipFamilyPolicy) ipFamilyPolicy = clusterIPs.length === 2 || ipFamilies.length === 2 ? 'RequireDualStack' : 'SingleStack';
  } else if (!ipFamilyPolicy) {
    ipFamilyPolicy = 'SingleStack';
  }

  // ---- external IPs
  checkExternalIPs(rules, externalIPs);

  // ---- load balancer fields
  const lb = readLoadBalancerFields(rules, spec, meta.annotations, isLB);

  // ---- traffic policies
  const policies = readTrafficPolicies(rules, { spec, isLB, externallyAccessible, range, ports });
  const publishNotReadyAddresses = r.boolean(spec.publishNotReadyAddresses, 'spec.publishNotReadyAddresses') ?? false;

  // ---- load-balancer ingress: status, and our annotation for manifests without status
  const loadBalancerIngress = readIngress(rules, root, meta.annotations, isLB);

  // Named properties, not spreads of the section results: an object built from several
  // spreads is copied key by key at run time (V8's slow path), and this ran ~20 µs per
  // Service, most of reading a 10k-Service List. Optional fields stay absent when unset.
  const service: Mutable<ServiceObject> = {
    namespace: meta.namespace,
    name: meta.name,
    labels: meta.labels,
    annotations: meta.annotations,
    type,
    clusterIP,
    clusterIPs,
    headless,
    ipFamilies,
    ipFamilyPolicy,
    ports,
    selector,
    externalIPs,
    sessionAffinity: affinity.sessionAffinity,
    affinityTimeoutSeconds: affinity.affinityTimeoutSeconds,
    externalTrafficPolicy: policies.externalTrafficPolicy,
    internalTrafficPolicy: policies.internalTrafficPolicy,
    loadBalancerSourceRanges: lb.loadBalancerSourceRanges,
    publishNotReadyAddresses,
    loadBalancerIngress,
  };
  if (meta.topologyMode !== undefined) service.topologyMode = meta.topologyMode;
  if (externalName !== undefined) service.externalName = externalName;
  if (policies.healthCheckNodePort !== undefined) service.healthCheckNodePort = policies.healthCheckNodePort;
  if (policies.trafficDistribution !== undefined) service.trafficDistribution = policies.trafficDistribution;
  if (lb.loadBalancerClass !== undefined) service.loadBalancerClass = lb.loadBalancerClass;
  if (lb.allocateLoadBalancerNodePorts !== undefined) service.allocateLoadBalancerNodePorts = lb.allocateLoadBalancerNodePorts;
  return { service, issues: r.issues, ignored: rules.ignored };
}
