// Parsed manifests -> everything render needs: the plan, the endpoint slices, the
// node and the proxy configuration. Pure: no I/O, no clock.
//
// Order of work: the objects that shape validation come first (a KubeProxyConfiguration,
// ServiceCIDRs, plans with their node port range, Nodes), then Services are checked
// against them, then EndpointSlices. With `strict` (the default) the first bad object
// throws its InputError; without it, bad objects are skipped and returned in
// `errors`, so that one bad object cannot stop the rest (the agent and apply rely
// on that). The steps live beside this file: input-kinds.ts (which documents are
// inputs), input-services.ts, input-node.ts, and input-problems.ts (strict or not).
//
// The two kinds read through a zod schema (a plan.json and a KubeProxyConfiguration)
// come in as `readers` (input-readers.ts): zod costs ~50 ms of start-up that
// `svcplane render -f` of plain manifests never needs, so load.ts imports them only
// when such a document is among the inputs. inputs.ts is collectInputs with them loaded.

import { DEFAULT_PROXY_CONFIG } from '../model/config-defaults.js';
import type { ProxyConfig } from '../model/config.js';
import type { EndpointSliceInfo } from '../model/endpoints.js';
import { formatRef, inputError, type InputError } from '../model/errors.js';
import { canonicalCIDR } from '../model/ip.js';
import type { NodeContext } from '../model/node.js';
import type { ValidationPurpose } from '../model/validate-service.js';
import type { Plan } from '../model/plan.js';
import { DEFAULT_NODE_PORT_RANGE, PLAN_API_VERSION, PLAN_KIND, compareByNamespaceName } from '../model/plan-constants.js';
import { sortByKind, type InputDocument, type InputKind } from './input-kinds.js';
import { collectNode } from './input-node.js';
import { InputProblems } from './input-problems.js';
import { readSliceDocument, take } from './input-reads.js';
import { collectServices, sameJson } from './input-services.js';
import type { InputReaders } from './input-readers.js';
import { PROXY_CONFIG_KIND } from './proxy-config-kind.js';
import { compareCIDRs, serviceCIDRToCIDRs } from './servicecidr.js';

export type { InputDocument } from './input-kinds.js';

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

export function collectInputsWith(readers: InputReaders, docs: readonly InputDocument[], opts: CollectOptions = {}): CollectedInputs {
  const problems = new InputProblems(opts.strict ?? true);
  const byKind = sortByKind(docs, problems);
  const { config } = collectConfig(readers, byKind.KubeProxyConfiguration, opts.backend, problems);
  const { serviceCIDRs, nodePortRange, plans } = collectCIDRsAndPlans(readers, byKind, problems);
  const services = collectServices(plans, byKind.Service, { purpose: opts.purpose ?? 'forwarding', nodePortRange, serviceCIDRs }, problems);
  const endpointSlices = collectSlices(byKind.EndpointSlice, problems);
  const node = collectNode(byKind.Node, opts, config, problems);

  const plan: Plan = {
    apiVersion: PLAN_API_VERSION,
    kind: PLAN_KIND,
    serviceCIDRs,
    nodePortRange,
    services: [...services.values()].map((s) => s.svc).sort(compareByNamespaceName),
  };
  warnAboutOrphanSlices(endpointSlices, services, problems.skipped, problems.warnings);
  const skippedServices = [...problems.skipped].filter((k): k is string => k !== undefined).sort();
  const objectCount = Object.values(byKind).reduce((n, l) => n + l.length, 0);
  return { plan, endpointSlices, node, config, warnings: problems.warnings, errors: problems.errors, skippedServices, objectCount };
}

/** The proxy configuration: at most one KubeProxyConfiguration, else the defaults. */
function collectConfig(readers: InputReaders, configDocs: readonly InputDocument[], backend: string | undefined, problems: InputProblems): { config: ProxyConfig } {
  let config: ProxyConfig = DEFAULT_PROXY_CONFIG;
  let configSource: string | undefined;
  for (const d of configDocs) {
    if (configSource !== undefined) {
      problems.bad(inputError({ kind: PROXY_CONFIG_KIND }, '(root)', `only one KubeProxyConfiguration may be given; the first is ${configSource}`, d.source));
      continue;
    }
    const c = problems.attempt(() => readers.readProxyConfig(d.object, d.source, backend));
    if (c) {
      config = c.config;
      configSource = d.source;
      for (const w of c.warnings) problems.warnings.push(`${d.source}: ${w}`);
    }
  }
  return { config };
}

/** The service CIDRs (of ServiceCIDRs and plans) and the plans, whose node port ranges must agree. */
function collectCIDRsAndPlans(readers: InputReaders, byKind: Readonly<Record<InputKind, readonly InputDocument[]>>, problems: InputProblems) {
  const cidrs = new Set<string>();
  for (const d of byKind.ServiceCIDR) {
    for (const c of problems.attempt(() => serviceCIDRToCIDRs(d.object, d.source)) ?? []) cidrs.add(c);
  }
  const plans: Array<{ plan: Plan; source: string }> = [];
  for (const d of byKind.ServicePlan) {
    const p = problems.attempt(() => readers.loadPlan(d.object, d.source));
    if (!p) continue;
    const first = plans[0];
    if (first && !sameJson(first.plan.nodePortRange, p.nodePortRange)) {
      problems.bad(inputError({ kind: PLAN_KIND }, 'nodePortRange', `differs from the one in ${first.source}`, d.source));
      continue;
    }
    plans.push({ plan: p, source: d.source });
    for (const c of p.serviceCIDRs) cidrs.add(canonicalCIDR(c)!);
  }
  const serviceCIDRs = [...cidrs].sort(compareCIDRs);
  const nodePortRange = plans[0]?.plan.nodePortRange ?? { ...DEFAULT_NODE_PORT_RANGE };
  return { serviceCIDRs, nodePortRange, plans };
}

/** The EndpointSlices, sorted by namespace/name; FQDN slices are skipped with a warning, duplicates refused. */
function collectSlices(sliceDocs: readonly InputDocument[], problems: InputProblems): EndpointSliceInfo[] {
  const slices = new Map<string, { info: EndpointSliceInfo; source: string }>();
  for (const d of sliceDocs) {
    const read = d.read?.kind === 'EndpointSlice' ? d.read : readSliceDocument(d.object, d.source);
    if (read.fqdnWarning !== undefined || !read.result) {
      problems.warnings.push(read.fqdnWarning!);
      continue;
    }
    const result = read.result;
    const r = problems.attempt(() => take(result));
    if (!r) {
      problems.skipped.add(read.serviceKey);
      continue;
    }
    const key = `${r.info.namespace}/${r.info.name}`;
    const prev = slices.get(key);
    if (prev) {
      problems.bad(inputError(read.ref, 'metadata.name', `duplicate EndpointSlice: also defined in ${prev.source}`, d.source));
      problems.skipped.add(read.serviceKey);
      continue;
    }
    slices.set(key, { info: r.info, source: d.source });
    for (const w of r.warnings) problems.warnings.push(`${d.source}: ${formatRef(read.ref)}: ${w}`);
  }
  return [...slices.values()].map((s) => s.info).sort(compareByNamespaceName);
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
