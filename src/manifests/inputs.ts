// Parsed manifests -> everything render needs: the plan, the endpoint slices, the
// node and the proxy configuration. Pure: no I/O, no clock.
//
// Order of work: the objects that shape validation come first (a KubeProxyConfiguration,
// ServiceCIDRs, plans with their node port range, Nodes), then Services are checked
// against them, then EndpointSlices. With `strict` (the default) the first bad object
// throws its InputError; without it, bad objects are skipped and returned in
// `errors`, so that one bad object cannot stop the rest (the agent and apply rely
// on that).

import { DEFAULT_PROXY_CONFIG, type ProxyConfig } from '../model/config.js';
import type { EndpointSliceInfo } from '../model/endpoints.js';
import { InputError, formatRef, inputError, isInputError, type ObjectRef } from '../model/errors.js';
import { canonicalCIDR, canonicalIP } from '../model/ip.js';
import { isJsonObject } from '../model/json-fields.js';
import { UNKNOWN_NODE, type NodeContext } from '../model/node.js';
import type { ValidationPurpose } from '../model/validate-service.js';
import {
  DEFAULT_NODE_PORT_RANGE,
  PLAN_API_VERSION,
  PLAN_KIND,
  PROXY_NAME,
  compareByNamespaceName,
  loadPlan,
  serviceKey,
  type Plan,
  type PlanService,
} from '../model/plan.js';
import { endpointSliceAddressType, endpointSliceRef, readEndpointSlice } from './endpointslice.js';
import { nodeToContext } from './node.js';
import { PROXY_CONFIG_KIND, readProxyConfig } from './proxy-config.js';
import type { ManifestDocument } from './read.js';
import { ignoredFieldsWarning, serviceToPlan } from './service.js';
import { compareCIDRs, serviceCIDRToCIDRs } from './servicecidr.js';

export interface CollectOptions {
  /** --node-name: the node to render for. */
  readonly nodeName?: string;
  /** --node-ip: the node's addresses, replacing the Node object's. */
  readonly nodeIPs?: readonly string[];
  /** Default true: the first bad object throws. False: bad objects are skipped and listed in `errors`. */
  readonly strict?: boolean;
  /** The backend being rendered for: picks the KubeProxyConfiguration's per-mode section. */
  readonly backend?: string;
  /**
   * Default 'forwarding': Services are accepted as a live cluster could hold them, the
   * node port range and service CIDRs refuse nothing. 'authoring' (`plan --strict`):
   * every API-server rule with the plan's range and the ServiceCIDRs given.
   */
  readonly purpose?: ValidationPurpose;
}

export interface CollectedInputs {
  readonly plan: Plan;
  readonly endpointSlices: EndpointSliceInfo[];
  readonly node: NodeContext;
  readonly config: ProxyConfig;
  readonly warnings: string[];
  readonly errors: InputError[];
  /**
   * namespace/name of the Services whose Service or EndpointSlice was skipped as
   * malformed (strict false): apply keeps what the kernel already has for them,
   * so that bad input never takes working rules away.
   */
  readonly skippedServices: string[];
  /** How many documents were inputs svcplane reads (Service, EndpointSlice, Node, ServiceCIDR, configuration, plan). */
  readonly objectCount: number;
}

/** What collectInputs needs of a document: the object and where it came from. */
export type InputDocument = Pick<ManifestDocument, 'object' | 'source'>;

type Kind = 'Service' | 'EndpointSlice' | 'Node' | 'ServiceCIDR' | 'KubeProxyConfiguration' | 'ServicePlan';

/** Which of our kinds a document is, by API group and kind; undefined for anything else. */
function classify(o: Record<string, unknown>): Kind | undefined {
  const apiVersion = typeof o.apiVersion === 'string' ? o.apiVersion : '';
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  switch (o.kind) {
    case 'Service':
      return group === '' ? 'Service' : undefined;
    case 'Node':
      return group === '' ? 'Node' : undefined;
    case 'EndpointSlice':
      return group === 'discovery.k8s.io' ? 'EndpointSlice' : undefined;
    case 'ServiceCIDR':
      return group === 'networking.k8s.io' ? 'ServiceCIDR' : undefined;
    case PROXY_CONFIG_KIND:
      return group === 'kubeproxy.config.k8s.io' ? 'KubeProxyConfiguration' : undefined;
    case PLAN_KIND:
      return group === PLAN_API_VERSION.split('/')[0] ? 'ServicePlan' : undefined;
    default:
      return undefined;
  }
}

/** The Service a raw (possibly malformed) Service or EndpointSlice belongs to, when it can be told. */
function rawServiceKey(o: unknown, kind: 'Service' | 'EndpointSlice'): string | undefined {
  if (!isJsonObject(o) || !isJsonObject(o.metadata)) return undefined;
  const m = o.metadata;
  const ns = typeof m.namespace === 'string' && m.namespace ? m.namespace : 'default';
  if (kind === 'Service') return typeof m.name === 'string' ? `${ns}/${m.name}` : undefined;
  const labels = isJsonObject(m.labels) ? m.labels : {};
  const svc = labels['kubernetes.io/service-name'];
  return typeof svc === 'string' ? `${ns}/${svc}` : undefined;
}

function describeObject(o: Record<string, unknown>): string {
  const meta = isJsonObject(o.metadata) ? o.metadata : {};
  const ns = typeof meta.namespace === 'string' && meta.namespace ? `${meta.namespace}/` : '';
  const name = typeof meta.name === 'string' ? ` ${ns}${meta.name}` : '';
  const av = typeof o.apiVersion === 'string' ? ` (${o.apiVersion})` : '';
  return `${String(o.kind)}${av}${name}`;
}

/** Node names as kube-proxy normalises a hostname override: trimmed, lowercase. */
function normaliseNodeName(n: string): string {
  return n.trim().toLowerCase();
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function collectInputs(docs: readonly InputDocument[], opts: CollectOptions = {}): CollectedInputs {
  const strict = opts.strict ?? true;
  const purpose = opts.purpose ?? 'forwarding';
  const warnings: string[] = [];
  const errors: InputError[] = [];
  const skipped = new Set<string | undefined>();
  /** Strict: throw. Otherwise: remember and go on. */
  const bad = (e: unknown): void => {
    if (!isInputError(e)) throw e;
    if (strict) throw e;
    errors.push(e);
  };
  const attempt = <T>(f: () => T): T | undefined => {
    try {
      return f();
    } catch (e) {
      bad(e);
      return undefined;
    }
  };

  // ---- sort documents by kind
  const byKind: Record<Kind, InputDocument[]> = {
    Service: [],
    EndpointSlice: [],
    Node: [],
    ServiceCIDR: [],
    KubeProxyConfiguration: [],
    ServicePlan: [],
  };
  for (const d of docs) {
    const o = d.object;
    if (!isJsonObject(o)) {
      bad(inputError(undefined, '(root)', 'must be a Kubernetes object (a map with apiVersion and kind)', d.source));
      continue;
    }
    if (typeof o.kind !== 'string' || o.kind === '') {
      warnings.push(`${d.source}: not a Kubernetes object (no kind), skipped`);
      continue;
    }
    const k = classify(o);
    if (!k) {
      warnings.push(`${d.source}: ${describeObject(o)} is not an input svcplane reads, skipped`);
      continue;
    }
    byKind[k].push(d);
  }

  // ---- proxy configuration: at most one
  let config: ProxyConfig = DEFAULT_PROXY_CONFIG;
  let configSource: string | undefined;
  for (const d of byKind.KubeProxyConfiguration) {
    if (configSource !== undefined) {
      bad(inputError({ kind: PROXY_CONFIG_KIND }, '(root)', `only one KubeProxyConfiguration may be given; the first is ${configSource}`, d.source));
      continue;
    }
    const c = attempt(() => readProxyConfig(d.object, d.source, opts.backend));
    if (c) {
      config = c.config;
      configSource = d.source;
      for (const w of c.warnings) warnings.push(`${d.source}: ${w}`);
    }
  }

  // ---- service CIDRs and plans
  const cidrs = new Set<string>();
  for (const d of byKind.ServiceCIDR) {
    for (const c of attempt(() => serviceCIDRToCIDRs(d.object, d.source)) ?? []) cidrs.add(c);
  }
  const plans: Array<{ plan: Plan; source: string }> = [];
  for (const d of byKind.ServicePlan) {
    const p = attempt(() => loadPlan(d.object, d.source));
    if (!p) continue;
    const first = plans[0];
    if (first && !sameJson(first.plan.nodePortRange, p.nodePortRange)) {
      bad(inputError({ kind: PLAN_KIND }, 'nodePortRange', `differs from the one in ${first.source}`, d.source));
      continue;
    }
    plans.push({ plan: p, source: d.source });
    for (const c of p.serviceCIDRs) cidrs.add(canonicalCIDR(c)!);
  }
  const serviceCIDRs = [...cidrs].sort(compareCIDRs);
  const nodePortRange = plans[0]?.plan.nodePortRange ?? { ...DEFAULT_NODE_PORT_RANGE };

  // ---- services: from plans as they are, from manifests validated
  const services = new Map<string, { svc: PlanService; source: string; fromPlan: boolean }>();
  const clusterIPOwner = new Map<string, string>();
  const nodePortOwner = new Map<string, string>();
  const addService = (svc: PlanService, source: string, fromPlan: boolean): void => {
    const key = serviceKey(svc);
    const ref: ObjectRef = { kind: 'Service', namespace: svc.namespace, name: svc.name };
    const prev = services.get(key);
    if (prev) {
      // A plan and the manifests it was made from describe the same Service twice.
      if ((prev.fromPlan || fromPlan) && sameJson(prev.svc, svc)) return;
      bad(inputError(ref, 'metadata.name', `duplicate Service: also defined in ${prev.source}`, source));
      return;
    }
    // Two Services on one address or one node port would fight over the same packets.
    for (const ip of svc.clusterIPs) {
      const other = clusterIPOwner.get(ip);
      if (other) return bad(inputError(ref, 'spec.clusterIPs', `${ip} is also the cluster IP of ${other}`, source));
    }
    const nodePorts = svc.ports.filter((p) => p.nodePort !== undefined).map((p) => `${p.nodePort}/${p.protocol}`);
    if (svc.healthCheckNodePort !== undefined) nodePorts.push(`${svc.healthCheckNodePort}/TCP`);
    for (const np of nodePorts) {
      const other = nodePortOwner.get(np);
      if (other) return bad(inputError(ref, 'spec.ports', `node port ${np} is also used by ${other}`, source));
    }
    const label = `Service ${key} (${source})`;
    for (const ip of svc.clusterIPs) clusterIPOwner.set(ip, label);
    for (const np of nodePorts) nodePortOwner.set(np, label);
    services.set(key, { svc, source, fromPlan });
    if (!fromPlan) warnAboutUnallocated(svc, source, warnings);
  };
  for (const { plan, source } of plans) for (const s of plan.services) addService(s, source, true);
  for (const d of byKind.Service) {
    const errorsBefore = errors.length;
    const svc = attempt(() =>
      serviceToPlan(d.object, d.source, { purpose, nodePortRange, serviceCIDRs }, (ignored) => warnings.push(ignoredFieldsWarning(d.object, ignored, d.source))),
    );
    if (svc) addService(svc, d.source, false);
    if (errors.length > errorsBefore) skipped.add(rawServiceKey(d.object, 'Service'));
  }

  // ---- endpoint slices
  const slices = new Map<string, { info: EndpointSliceInfo; source: string }>();
  for (const d of byKind.EndpointSlice) {
    if (endpointSliceAddressType(d.object) === 'FQDN') {
      warnings.push(`${d.source}: ${formatRef(endpointSliceRef(d.object))} has addressType FQDN, which no proxy forwards to; skipped`);
      continue;
    }
    const r = attempt(() => readEndpointSlice(d.object, d.source));
    if (!r) {
      skipped.add(rawServiceKey(d.object, 'EndpointSlice'));
      continue;
    }
    const key = `${r.info.namespace}/${r.info.name}`;
    const prev = slices.get(key);
    if (prev) {
      bad(inputError(endpointSliceRef(d.object), 'metadata.name', `duplicate EndpointSlice: also defined in ${prev.source}`, d.source));
      skipped.add(rawServiceKey(d.object, 'EndpointSlice'));
      continue;
    }
    slices.set(key, { info: r.info, source: d.source });
    for (const w of r.warnings) warnings.push(`${d.source}: ${formatRef(endpointSliceRef(d.object))}: ${w}`);
  }
  const endpointSlices = [...slices.values()].map((s) => s.info).sort(compareByNamespaceName);

  // ---- node
  const nodes: Array<{ node: NodeContext; source: string }> = [];
  for (const d of byKind.Node) {
    const n = attempt(() => nodeToContext(d.object, d.source));
    if (!n) continue;
    const prev = nodes.find((x) => x.node.name === n.name);
    if (prev) {
      bad(inputError({ kind: 'Node', name: n.name }, 'metadata.name', `duplicate Node: also defined in ${prev.source}`, d.source));
      continue;
    }
    nodes.push({ node: n, source: d.source });
  }
  const node = pickNode(nodes, opts, config, warnings, bad);

  const plan: Plan = {
    apiVersion: PLAN_API_VERSION,
    kind: PLAN_KIND,
    serviceCIDRs,
    nodePortRange,
    services: [...services.values()].map((s) => s.svc).sort(compareByNamespaceName),
  };
  warnAboutOrphanSlices(endpointSlices, services, skipped, warnings);
  const skippedServices = [...skipped].filter((k): k is string => k !== undefined).sort();
  const objectCount = Object.values(byKind).reduce((n, l) => n + l.length, 0);
  return { plan, endpointSlices, node, config, warnings, errors, skippedServices, objectCount };
}

/**
 * --node-name, else the config's hostnameOverride, else the only Node given.
 * --node-ip replaces (or supplies) the node's addresses.
 */
function pickNode(
  nodes: ReadonlyArray<{ node: NodeContext; source: string }>,
  opts: CollectOptions,
  config: ProxyConfig,
  warnings: string[],
  bad: (e: unknown) => void,
): NodeContext {
  const wanted = opts.nodeName ?? config.hostnameOverride;
  let node: NodeContext = UNKNOWN_NODE;
  if (wanted !== undefined && wanted.trim() !== '') {
    const name = normaliseNodeName(wanted);
    const found = nodes.find((n) => n.node.name === name);
    if (found) node = found.node;
    else {
      if (nodes.length > 0) warnings.push(`no Node named ${JSON.stringify(name)} among the inputs (${nodes.map((n) => n.node.name).join(', ')}); rendering without its addresses and pod CIDRs`);
      node = { ...UNKNOWN_NODE, name };
    }
  } else if (nodes.length === 1) {
    node = nodes[0]!.node;
  } else if (nodes.length > 1) {
    bad(inputError(undefined, '--node-name', `several Nodes given (${nodes.map((n) => n.node.name).join(', ')}): choose one with --node-name`));
  }
  if (opts.nodeIPs && opts.nodeIPs.length > 0) {
    const addresses: string[] = [];
    for (const ip of opts.nodeIPs) {
      const c = canonicalIP(ip);
      if (!c) bad(inputError(undefined, '--node-ip', `${JSON.stringify(ip)} is not an IP address`));
      else if (!addresses.includes(c)) addresses.push(c);
    }
    node = { ...node, addresses };
  }
  return node;
}

/**
 * A manifest that leaves an address or node port to the API server's allocator
 * renders without it; say so, for Services a proxy could own.
 */
function warnAboutUnallocated(svc: PlanService, source: string, warnings: string[]): void {
  if (svc.proxyName !== undefined && svc.proxyName !== PROXY_NAME) return;
  if (svc.headless || svc.type === 'ExternalName') return;
  const who = `${source}: Service ${serviceKey(svc)}`;
  if (svc.clusterIPs.length === 0) {
    warnings.push(`${who} has no clusterIP; the API server would allocate one, so no rules match its cluster IP`);
  }
  const wantsNodePorts = svc.type === 'NodePort' || (svc.type === 'LoadBalancer' && svc.allocateLoadBalancerNodePorts !== false);
  if (wantsNodePorts) {
    const missing = svc.ports.filter((p) => p.nodePort === undefined).map((p) => `${p.port}/${p.protocol}`);
    if (missing.length > 0) warnings.push(`${who}: port ${missing.join(', ')} has no nodePort; the API server would allocate one, so no node port rule is rendered`);
  }
}

/**
 * An EndpointSlice whose Service is not among the inputs gives no rules: a mistyped
 * label or a Service left out of -f. Say so, naming both.
 */
function warnAboutOrphanSlices(
  slices: readonly EndpointSliceInfo[],
  services: ReadonlyMap<string, unknown>,
  skipped: ReadonlySet<string | undefined>,
  warnings: string[],
): void {
  for (const s of slices) {
    const key = `${s.namespace}/${s.serviceName}`;
    if (services.has(key) || skipped.has(key)) continue;
    warnings.push(`EndpointSlice ${s.namespace}/${s.name}: its Service ${key} (label kubernetes.io/service-name) is not among the inputs; no rules use it`);
  }
}
