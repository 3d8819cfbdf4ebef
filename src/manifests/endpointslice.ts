// A discovery.k8s.io/v1 EndpointSlice -> EndpointSliceInfo, the part a proxy reads.
// The object is checked with the API server's EndpointSlice rules; then it is read
// the way kube-proxy (v1.33) reads it: only an endpoint's first address counts,
// absent conditions mean ready and serving and not terminating, and a port without
// a name or a number is ignored (kube-proxy cannot match it to a Service port).
//
// FQDN slices are valid objects but carry nothing a proxy can use; the caller
// checks `addressType` first (see `endpointSliceAddressType`) and skips them.

import type { EndpointPort, Endpoint, EndpointSliceInfo } from '../model/endpoints.js';
import { InputError, type FieldIssue } from '../model/errors.js';
import { canonicalIP, parseIP, parseV4Number } from '../model/ip.js';
import { childPath, FieldReader, indexPath, isJsonObject, keyPath, notSupported } from '../model/json-fields.js';
import { dns1123LabelError, dns1123SubdomainError, labelValueError, qualifiedNameError } from '../model/names.js';
import type { Protocol } from '../model/plan.js';
import { specialIPError, specialIPv4Error } from '../model/validate-service.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const ADDRESS_TYPES = ['IPv4', 'IPv6', 'FQDN'] as const;
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
// The API server's limits on one slice.
const MAX_ENDPOINTS = 1000;
const MAX_PORTS = 100;
const MAX_ADDRESSES = 100;
const MAX_HINT_ZONES = 8;

export interface EndpointSliceReadResult {
  readonly info: EndpointSliceInfo;
  /** Things kube-proxy silently ignores; worth telling whoever wrote the manifest. */
  readonly warnings: string[];
}

export function endpointSliceRef(obj: unknown): { kind: 'EndpointSlice'; namespace?: string; name?: string } {
  const meta = isJsonObject(obj) && isJsonObject(obj.metadata) ? obj.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : undefined;
  const ns = typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : 'default';
  // Two literals, not a conditional spread (V8's slow copy): this runs twice per slice read.
  return name !== undefined ? { kind: 'EndpointSlice', namespace: ns, name } : { kind: 'EndpointSlice', namespace: ns };
}

/** The slice's addressType as written, for callers that skip FQDN slices before converting. */
export function endpointSliceAddressType(obj: unknown): unknown {
  return isJsonObject(obj) ? obj.addressType : undefined;
}

export function endpointSliceToInfo(obj: unknown, source?: string): EndpointSliceInfo {
  return readEndpointSlice(obj, source).info;
}

/** Same as endpointSliceToInfo, with warnings about ports kube-proxy would ignore. */
export function readEndpointSlice(obj: unknown, source?: string): EndpointSliceReadResult {
  const r = new FieldReader();
  const ref = endpointSliceRef(obj);
  const fail = (issues: readonly FieldIssue[]): never => {
    throw new InputError(ref, issues, source);
  };
  const root = r.object(obj, '(root)');
  if (!root) fail(r.issues.length ? r.issues : [{ field: '(root)', message: 'must be an EndpointSlice object, not null' }]);
  const o = root!;
  if (o.kind !== undefined && o.kind !== 'EndpointSlice') r.add('kind', `must be "EndpointSlice", not ${JSON.stringify(o.kind)}`);
  if (o.apiVersion !== undefined && o.apiVersion !== 'discovery.k8s.io/v1') {
    r.add('apiVersion', `must be "discovery.k8s.io/v1", not ${JSON.stringify(o.apiVersion)}`);
  }

  const meta = r.object(o.metadata, 'metadata') ?? {};
  const name = r.string(meta.name, 'metadata.name') ?? '';
  if (name === '') r.add('metadata.name', 'is required');
  else addIf(r, 'metadata.name', dns1123SubdomainError(name));
  const nsRaw = r.string(meta.namespace, 'metadata.namespace');
  if (nsRaw) addIf(r, 'metadata.namespace', dns1123LabelError(nsRaw));
  const namespace = nsRaw || 'default';
  const labels = r.stringMap(meta.labels, 'metadata.labels') ?? {};
  const serviceName = labels[SERVICE_NAME_LABEL];
  const snField = keyPath('metadata.labels', SERVICE_NAME_LABEL);
  if (serviceName === undefined || serviceName === '') {
    r.add(snField, 'is required: it names the Service this slice belongs to');
  } else {
    addIf(r, snField, labelValueError(serviceName));
  }

  const addressType = r.string(o.addressType, 'addressType') ?? '';
  if (addressType === '') r.add('addressType', 'is required');
  else if (!(ADDRESS_TYPES as readonly string[]).includes(addressType)) r.add('addressType', notSupported(addressType, ADDRESS_TYPES));
  const ipType = addressType === 'IPv4' || addressType === 'IPv6' ? addressType : undefined;

  const endpointsRaw = r.array(o.endpoints, 'endpoints') ?? [];
  if (endpointsRaw.length > MAX_ENDPOINTS) r.add('endpoints', `must have at most ${MAX_ENDPOINTS} items`);
  const endpoints: Endpoint[] = [];
  // Each endpoint is read with one reused sub-reader and constant relative field names;
  // their paths are built only when an endpoint has an issue (FieldReader.takeUnder).
  const er = new FieldReader();
  endpointsRaw.forEach((ev, i) => {
    const e = readEndpoint(er, ev, addressType, ipType);
    if (er.issues.length > 0) r.takeUnder(indexPath('endpoints', i), er);
    if (e) endpoints.push(e);
  });

  const portsRaw = r.array(o.ports, 'ports') ?? [];
  if (portsRaw.length > MAX_PORTS) r.add('ports', `must have at most ${MAX_PORTS} items`);
  const ports: EndpointPort[] = [];
  const warnings: string[] = [];
  const names = new Set<string>();
  const pr = new FieldReader();
  portsRaw.forEach((pv, i) => {
    const p = readPort(pr, pv, names);
    if (pr.issues.length > 0) r.takeUnder(indexPath('ports', i), pr);
    if (p === 'ignored') {
      warnings.push(`${indexPath('ports', i)}: ignored, as kube-proxy does: a port needs a name (use "" for an unnamed Service port) and a number`);
    } else if (p) ports.push(p);
  });

  if (r.issues.length > 0) fail(r.issues);
  const info: EndpointSliceInfo = {
    namespace,
    name,
    serviceName: serviceName!,
    // FQDN slices are rejected by the caller before this point; keep the type honest.
    addressType: ipType ?? 'IPv4',
    ports: [...ports].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.port - b.port)),
    endpoints,
  };
  return { info, warnings };
}

/**
 * One endpoint as kube-proxy reads it, issues in `r` under fields relative to the
 * endpoint; undefined when it carries no usable address (or the slice is FQDN).
 */
function readEndpoint(r: FieldReader, ev: unknown, addressType: string, ipType: 'IPv4' | 'IPv6' | undefined): Endpoint | undefined {
  const e = r.object(ev, '');
  if (!e) return undefined;
  const addresses = r.stringList(e.addresses, 'addresses') ?? [];
  if (addresses.length === 0) r.add('addresses', 'must hold at least one address');
  if (addresses.length > MAX_ADDRESSES) r.add('addresses', `must hold at most ${MAX_ADDRESSES} addresses`);
  // A loop, not forEach: its closure was one more allocation per endpoint.
  for (let j = 0; j < addresses.length; j++) {
    const a = addresses[j]!;
    let problem: string | undefined;
    if (ipType === 'IPv4' && !a.includes(':')) {
      // The common case without a BigInt: what parseIP and specialIPError would say of it.
      const v = parseV4Number(a);
      problem = v === undefined ? 'must be a valid IPv4 address' : specialIPv4Error(v);
    } else if (ipType) {
      const p = parseIP(a);
      problem = !p || p.family !== ipType ? `must be a valid ${ipType} address` : specialIPError(p);
    } else if (addressType === 'FQDN') {
      problem = dns1123SubdomainError(a);
    }
    if (problem) r.add(indexPath('addresses', j), problem);
  }
  const cond = r.object(e.conditions, 'conditions') ?? {};
  const ready = r.boolean(cond.ready, 'conditions.ready');
  const serving = r.boolean(cond.serving, 'conditions.serving');
  const terminating = r.boolean(cond.terminating, 'conditions.terminating');
  const nodeName = r.string(e.nodeName, 'nodeName');
  if (nodeName) addIf(r, 'nodeName', dns1123SubdomainError(nodeName));
  const hostname = r.string(e.hostname, 'hostname');
  if (hostname) addIf(r, 'hostname', dns1123LabelError(hostname));
  const zone = r.string(e.zone, 'zone');
  const hints = r.object(e.hints, 'hints');
  const hintZones = hintNames(r, hints?.forZones, 'hints.forZones', MAX_HINT_ZONES);
  const hintNodes = hintNames(r, hints?.forNodes, 'hints.forNodes', MAX_HINT_ZONES);
  if (!ipType || addresses.length === 0) return undefined;
  const first = canonicalIP(addresses[0]!);
  if (first === undefined) return undefined;
  // kube-proxy's reading of absent conditions: ready and serving, not terminating.
  // Optional fields are assigned only when set (no spread of temporary objects). nodeName,
  // set on nearly every endpoint, is in the literal: a key added after one goes to a
  // separate property array (40 B more per endpoint, 4 MB at 10^5 endpoints, all of it
  // copied by every young-generation GC it lives through). The key order is the same.
  const out: { -readonly [K in keyof Endpoint]: Endpoint[K] } = nodeName
    ? { address: first, ready: ready ?? true, serving: serving ?? true, terminating: terminating ?? false, nodeName }
    : { address: first, ready: ready ?? true, serving: serving ?? true, terminating: terminating ?? false };
  if (zone) out.zone = zone;
  if (hintZones) out.hintZones = hintZones;
  if (hintNodes) out.hintNodes = hintNodes;
  return out;
}

/** One port (issues in `r` relative to it); 'ignored' when kube-proxy would pass it over. */
function readPort(r: FieldReader, pv: unknown, names: Set<string>): EndpointPort | 'ignored' | undefined {
  const p = r.object(pv, '');
  if (!p) return undefined;
  const pname = r.string(p.name, 'name');
  if (pname) addIf(r, 'name', dns1123LabelError(pname));
  if (pname !== undefined) {
    if (names.has(pname)) r.add('name', `duplicate port name ${JSON.stringify(pname)}`);
    names.add(pname);
  }
  const protocol = r.string(p.protocol, 'protocol') || 'TCP';
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) r.add('protocol', notSupported(protocol, PROTOCOLS));
  const port = r.integer(p.port, 'port');
  if (port !== undefined && (port < 1 || port > 65535)) r.add('port', 'must be between 1 and 65535, inclusive');
  const appProtocol = r.string(p.appProtocol, 'appProtocol');
  if (appProtocol !== undefined) addIf(r, 'appProtocol', qualifiedNameError(appProtocol));
  if (pname === undefined || port === undefined) return 'ignored';
  return { name: pname, port, protocol: protocol as Protocol };
}

function addIf(r: FieldReader, field: string, message: string | undefined): void {
  if (message) r.add(field, message);
}

function hintNames(r: FieldReader, v: unknown, field: string, max: number): string[] | undefined {
  const list = r.array(v, field);
  if (!list) return undefined;
  if (list.length > max) r.add(field, `must have at most ${max} items`);
  const out: string[] = [];
  list.forEach((h, i) => {
    const o = r.object(h, indexPath(field, i));
    const n = r.string(o?.name, childPath(indexPath(field, i), 'name'));
    if (!n) r.add(childPath(indexPath(field, i), 'name'), 'is required');
    else out.push(n);
  });
  return out;
}
