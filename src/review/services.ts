// The semantic half of `svcplane diff`: two plans and their endpoints -> per Service,
// what changes, in words. One line per change, in a fixed order (the plan schema's
// field order, then endpoints). Pure.

import type { EndpointSliceInfo } from '../model/endpoints.js';
import { PlanServiceSchema, serviceKey, type Plan, type PlanService, type ServicePort } from '../model/plan.js';

/** What a side of the diff says about Services: the plan and the endpoints. */
export interface ServiceSide {
  readonly plan: Plan;
  readonly endpointSlices: readonly EndpointSliceInfo[];
}

export type ServiceStatus = 'added' | 'removed' | 'changed';

export interface ServiceChanges {
  readonly service: string;
  readonly status: ServiceStatus;
  /** One line per change (for added/removed: what the Service is). */
  readonly changes: string[];
  /** Short names of what changed, for a summary table: `ports`, `endpoints`, ... */
  readonly topics: string[];
}

const list = (xs: readonly string[]) => (xs.length ? xs.join(', ') : 'none');
const show = (v: unknown) => (v === undefined ? 'none' : typeof v === 'string' ? v : JSON.stringify(v));

/** How a port is told apart across the two sides: its name, or number and protocol when unnamed. */
function portId(p: ServicePort): string {
  return p.name !== '' ? p.name : `${p.port}/${p.protocol}`;
}

export function portText(p: ServicePort): string {
  return `${p.name ? `${p.name} ` : ''}${p.port}/${p.protocol} -> ${p.targetPort}${p.nodePort !== undefined ? ` (nodePort ${p.nodePort})` : ''}`;
}

function affinityText(a: PlanService['sessionAffinity']): string {
  return a.type === 'ClientIP' ? `ClientIP (${a.timeoutSeconds} s)` : 'None';
}

function selectorText(s: PlanService['selector']): string {
  return s === null ? 'none (endpoints managed elsewhere)' : list(Object.entries(s).map(([k, v]) => `${k}=${v}`));
}

/** Items added and removed between two lists, as `WHAT X added` / `WHAT X removed`. */
function listChanges(what: string, a: readonly string[], b: readonly string[]): string[] {
  const before = new Set(a);
  const after = new Set(b);
  return [...b.filter((x) => !before.has(x)).map((x) => `${what} ${x} added`), ...a.filter((x) => !after.has(x)).map((x) => `${what} ${x} removed`)];
}

function portChanges(a: readonly ServicePort[], b: readonly ServicePort[]): string[] {
  const out: string[] = [];
  const before = new Map(a.map((p) => [portId(p), p]));
  const after = new Map(b.map((p) => [portId(p), p]));
  for (const p of b) {
    const o = before.get(portId(p));
    if (!o) {
      out.push(`port ${portText(p)} added`);
      continue;
    }
    for (const f of ['port', 'protocol', 'targetPort', 'nodePort', 'appProtocol'] as const) {
      if (o[f] !== p[f]) out.push(`port ${portId(p)}: ${f} ${show(o[f])} -> ${show(p[f])}`);
    }
  }
  for (const p of a) if (!after.has(portId(p))) out.push(`port ${portText(p)} removed`);
  return out;
}

/** Words for the fields that need more than `field A -> B`; the rest use that. */
const FIELD_WORDS: Partial<Record<keyof PlanService, (a: PlanService, b: PlanService) => string[]>> = {
  clusterIPs: (a, b) => [`cluster IPs ${list(a.clusterIPs)} -> ${list(b.clusterIPs)}`],
  ipFamilies: (a, b) => [`IP families ${list(a.ipFamilies)} -> ${list(b.ipFamilies)}`],
  ports: (a, b) => portChanges(a.ports, b.ports),
  selector: (a, b) => [`selector ${selectorText(a.selector)} -> ${selectorText(b.selector)}`],
  externalIPs: (a, b) => listChanges('external IP', a.externalIPs, b.externalIPs),
  loadBalancerIngress: (a, b) =>
    listChanges('load balancer IP', a.loadBalancerIngress.map((i) => `${i.ip} (ipMode ${i.ipMode})`), b.loadBalancerIngress.map((i) => `${i.ip} (ipMode ${i.ipMode})`)),
  loadBalancerSourceRanges: (a, b) => listChanges('source range', a.loadBalancerSourceRanges, b.loadBalancerSourceRanges),
  sessionAffinity: (a, b) => [`session affinity ${affinityText(a.sessionAffinity)} -> ${affinityText(b.sessionAffinity)}`],
};

const FIELD_NAMES: Partial<Record<keyof PlanService, string>> = {
  type: 'type',
  proxyName: 'proxy (service-proxy-name)',
  headless: 'headless',
  ipFamilyPolicy: 'IP family policy',
  loadBalancerClass: 'load balancer class',
  externalTrafficPolicy: 'external traffic policy',
  internalTrafficPolicy: 'internal traffic policy',
  healthCheckNodePort: 'health check node port',
  allocateLoadBalancerNodePorts: 'allocate load balancer node ports',
  publishNotReadyAddresses: 'publish not-ready addresses',
  trafficDistribution: 'traffic distribution',
  topologyMode: 'topology mode',
  externalName: 'external name',
};

/** Every forwarding field, in the schema's order (so a field added to the plan is compared too). */
const FIELDS = Object.keys(PlanServiceSchema.shape).filter((f) => f !== 'namespace' && f !== 'name') as (keyof PlanService)[];

function fieldChanges(a: PlanService, b: PlanService): { lines: string[]; topics: string[] } {
  const lines: string[] = [];
  const topics: string[] = [];
  for (const f of FIELDS) {
    if (JSON.stringify(a[f]) === JSON.stringify(b[f])) continue;
    const words = FIELD_WORDS[f];
    const out = words ? words(a, b) : [`${FIELD_NAMES[f] ?? f} ${show(a[f])} -> ${show(b[f])}`];
    if (out.length === 0) continue;
    lines.push(...out);
    topics.push(f);
  }
  return { lines, topics };
}

// ---- endpoints

interface EndpointView {
  readonly state: string;
  readonly node: string;
  readonly ports: string;
}

/** A Service's endpoints by address: conditions, node, ports (from every slice naming it). */
function endpointsOf(side: ServiceSide, svc: string): Map<string, EndpointView> {
  const out = new Map<string, { state: string; node: string; ports: Set<string> }>();
  for (const s of side.endpointSlices) {
    if (`${s.namespace}/${s.serviceName}` !== svc) continue;
    const ports = s.ports.map((p) => `${p.name ? `${p.name}=` : ''}${p.port}/${p.protocol}`);
    for (const e of s.endpoints) {
      const state = [e.ready ? 'ready' : 'not ready', ...(e.serving && !e.ready ? ['serving'] : []), ...(e.terminating ? ['terminating'] : [])].join(', ');
      const v = out.get(e.address) ?? { state, node: e.nodeName ?? '', ports: new Set<string>() };
      for (const p of ports) v.ports.add(p);
      out.set(e.address, v);
    }
  }
  return new Map([...out].map(([a, v]) => [a, { state: v.state, node: v.node, ports: [...v.ports].sort().join(' ') }]));
}

function endpointText(address: string, v: EndpointView): string {
  return `${address} (${v.state}${v.node ? `, node ${v.node}` : ''}${v.ports ? `, ports ${v.ports}` : ''})`;
}

function compareAddresses(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function endpointChanges(a: Map<string, EndpointView>, b: Map<string, EndpointView>): string[] {
  const out: string[] = [];
  for (const addr of [...new Set([...a.keys(), ...b.keys()])].sort(compareAddresses)) {
    const o = a.get(addr);
    const n = b.get(addr);
    if (!o) out.push(`endpoint ${endpointText(addr, n!)} added`);
    else if (!n) out.push(`endpoint ${endpointText(addr, o)} removed`);
    else {
      if (o.state !== n.state) out.push(`endpoint ${addr}: ${o.state} -> ${n.state}`);
      if (o.node !== n.node) out.push(`endpoint ${addr}: node ${o.node || 'none'} -> ${n.node || 'none'}`);
      if (o.ports !== n.ports) out.push(`endpoint ${addr}: ports ${o.ports || 'none'} -> ${n.ports || 'none'}`);
    }
  }
  return out;
}

/** What a Service is, in one line, for an added or removed one. */
export function describeService(s: PlanService, endpoints: number): string {
  const addresses = s.headless ? 'headless' : s.type === 'ExternalName' ? `external name ${s.externalName ?? ''}` : `cluster IPs ${list(s.clusterIPs)}`;
  return `${s.type}, ${addresses}, ports ${list(s.ports.map(portText))}, ${endpoints} endpoint(s)`;
}

/** Per Service (sorted by namespace/name), what changes from `a` to `b`; unchanged Services are left out. */
export function diffServices(a: ServiceSide, b: ServiceSide): ServiceChanges[] {
  const before = new Map(a.plan.services.map((s) => [serviceKey(s), s]));
  const after = new Map(b.plan.services.map((s) => [serviceKey(s), s]));
  const keys = new Set([...before.keys(), ...after.keys()]);
  for (const s of [...a.endpointSlices, ...b.endpointSlices]) keys.add(`${s.namespace}/${s.serviceName}`);
  const out: ServiceChanges[] = [];
  for (const key of [...keys].sort()) {
    const o = before.get(key);
    const n = after.get(key);
    const epA = endpointsOf(a, key);
    const epB = endpointsOf(b, key);
    if (!o && !n) {
      // Endpoints of a Service neither plan holds: no rules come from them, but say so.
      const eps = endpointChanges(epA, epB);
      if (eps.length) out.push({ service: key, status: 'changed', changes: eps.map((l) => `${l} (no such Service)`), topics: ['endpoints'] });
      continue;
    }
    if (!o) {
      out.push({ service: key, status: 'added', changes: [`added: ${describeService(n!, epB.size)}`], topics: [] });
      continue;
    }
    if (!n) {
      out.push({ service: key, status: 'removed', changes: [`removed: ${describeService(o, epA.size)}`], topics: [] });
      continue;
    }
    const fields = fieldChanges(o, n);
    const eps = endpointChanges(epA, epB);
    const changes = [...fields.lines, ...eps];
    if (changes.length) out.push({ service: key, status: 'changed', changes, topics: [...fields.topics, ...(eps.length ? ['endpoints'] : [])] });
  }
  return out;
}
