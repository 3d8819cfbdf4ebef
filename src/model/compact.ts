// The model's records as a long-lived holder keeps them (the agent holds every Service and
// EndpointSlice of the cluster for its whole life): the same shapes, with what repeats
// stored once. Empty arrays are one shared frozen array, the values that recur across
// records (address families, port lists, session affinity, node names, zones,
// namespaces) one shared copy each, other arrays of their exact length. A parser makes a fresh array or object per record
// (at 44k Services x 1 endpoint: ~600 bytes a Service, 3 of its 8 arrays empty, ~415
// bytes a one-endpoint slice); what is shared is frozen, so a write to it throws instead
// of changing every record at once.

import type { Endpoint, EndpointPort, EndpointSliceInfo } from './endpoints.js';
import type { PlanService, ServicePort } from './plan.js';

/** The one empty array of every compacted record (frozen: typed mutable only to fit the model's types). */
const EMPTY = Object.freeze([]) as never[];

/**
 * Shared copies by content. Bounded: values that do not repeat (a port list with its own
 * node port) would only add an entry each; past the bound a value is kept as it is.
 */
class Interner<T> {
  private readonly byKey = new Map<string, T>();
  constructor(private readonly max: number) {}
  get(key: string, value: T): T {
    const known = this.byKey.get(key);
    if (known !== undefined) return known;
    if (this.byKey.size < this.max) this.byKey.set(key, Object.freeze(value));
    return value;
  }
}

const INTERNED = 4096;
const strings = new Interner<string>(INTERNED);
const stringLists = new Interner<string[]>(INTERNED);
const servicePorts = new Interner<ServicePort[]>(INTERNED);
const endpointPorts = new Interner<EndpointPort[]>(INTERNED);
const affinities = new Interner<PlanService['sessionAffinity']>(64);

/** One copy of a string that recurs (a namespace, a node name, a family): the parser made one per record. */
function str<T extends string>(s: T): T {
  return strings.get(s, s) as T;
}

/**
 * An array of its exact length: a parser that pushes leaves room for 17 elements after the
 * first push (~150 bytes for a Service's one cluster IP or a slice's one endpoint).
 */
function exact<T>(xs: T[]): T[] {
  return xs.length ? xs.slice() : EMPTY;
}

function list<T extends string>(xs: T[]): T[] {
  if (xs.length === 0) return EMPTY;
  return stringLists.get(xs.join('\n'), xs.map((x) => str(x))) as T[];
}

/**
 * A copy of a parser's Service with every property in the object itself. The parsers build
 * a Service a property at a time (zod's output, the API's toPlanService), and V8 keeps all
 * but its first few properties in a separate property array (a header and spare slots);
 * JSON.parse sizes each object it makes for its properties. At 44k Services x 1, as the
 * agent reads its plan: 393 -> 337 bytes a Service (src/agent/README.md "Session 16").
 * The same keys in the same order with the same values: a Service holds JSON values only
 * (the plan's digest is taken from it).
 */
function inObject<T extends PlanService | Endpoint>(s: T): T {
  return JSON.parse(JSON.stringify(s)) as T;
}

/**
 * Compacts a Service the caller just parsed and returns the compact copy (inObject), its
 * repeated values shared. Use the result: the parsed object is left as it was.
 */
export function compactService(parsed: PlanService): PlanService {
  const s = inObject(parsed);
  s.namespace = str(s.namespace);
  s.type = str(s.type);
  if (s.selector) shareName(s.selector, s.name);
  if (s.proxyName !== undefined) s.proxyName = str(s.proxyName);
  s.clusterIPs = exact(s.clusterIPs);
  s.ipFamilies = list(s.ipFamilies);
  s.ipFamilyPolicy = str(s.ipFamilyPolicy);
  s.ports = s.ports.length ? servicePorts.get(JSON.stringify(s.ports), s.ports.map(compactServicePort)) : EMPTY;
  s.externalIPs = exact(s.externalIPs);
  s.loadBalancerIngress = exact(s.loadBalancerIngress);
  s.loadBalancerSourceRanges = exact(s.loadBalancerSourceRanges);
  if (s.loadBalancerClass !== undefined) s.loadBalancerClass = str(s.loadBalancerClass);
  s.sessionAffinity = affinities.get(JSON.stringify(s.sessionAffinity), s.sessionAffinity);
  s.externalTrafficPolicy = str(s.externalTrafficPolicy);
  s.internalTrafficPolicy = str(s.internalTrafficPolicy);
  if (s.trafficDistribution !== undefined) s.trafficDistribution = str(s.trafficDistribution);
  if (s.topologyMode !== undefined) s.topologyMode = str(s.topologyMode);
  return s;
}

/**
 * A selector value equal to the Service's name (`app: <name>`, the usual selector) as the
 * name's string. JSON.parse shares short strings (V8 internalizes values of up to ~10
 * characters) but copies longer ones: 44k Services named `service-name-00001` held 1.8 MB
 * of such copies. Not interned: unique values would fill the interner's bound before the
 * node names came.
 */
function shareName(selector: Record<string, string>, name: string): void {
  for (const k of Object.keys(selector)) if (selector[k] === name) selector[k] = name;
}

function compactServicePort(p: ServicePort): ServicePort {
  p.name = str(p.name);
  p.protocol = str(p.protocol);
  if (p.appProtocol !== undefined) p.appProtocol = str(p.appProtocol);
  return Object.freeze(p) as ServicePort;
}

/** Compacts a slice the caller just parsed, in place (as compactService), and returns it. */
export function compactSlice(s: EndpointSliceInfo): EndpointSliceInfo {
  s.namespace = str(s.namespace);
  s.addressType = str(s.addressType);
  s.ports = s.ports.length ? endpointPorts.get(JSON.stringify(s.ports), s.ports.map(compactEndpointPort)) : EMPTY;
  s.endpoints = s.endpoints.length ? s.endpoints.map(compactEndpoint) : EMPTY;
  return s;
}

function compactEndpointPort(p: EndpointPort): EndpointPort {
  p.name = str(p.name);
  p.protocol = str(p.protocol);
  return Object.freeze(p) as EndpointPort;
}

/**
 * A copy of an endpoint (inObject: the slice parser's literal has four properties, a
 * node name or a zone went to a property array), its repeated values shared.
 */
function compactEndpoint(parsed: Endpoint): Endpoint {
  const e = inObject(parsed);
  if (e.nodeName !== undefined) e.nodeName = str(e.nodeName);
  if (e.zone !== undefined) e.zone = str(e.zone);
  if (e.hintZones !== undefined) e.hintZones = list(e.hintZones);
  if (e.hintNodes !== undefined) e.hintNodes = list(e.hintNodes);
  return e;
}
