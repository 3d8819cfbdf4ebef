// Values two Services of one app cannot share: a namespace/name, a ClusterIP, a
// NodePort. The API server would refuse the second Service at apply time; we
// refuse at synth and name both constructs. Pure.
//
// NodePorts: the API server's NodePort allocator is one pool for all protocols
// (healthCheckNodePorts included), so across Services a number is taken whatever
// its protocol. Inside one Service, ports with the same port number may share a
// NodePort across protocols; validateService checks that case.

import { canonicalIP } from '../model/ip.js';
import { isJsonObject, type JsonObject } from '../model/json-fields.js';

export interface ServiceEntry {
  /** The construct path that errors name. */
  readonly path: string;
  /** The Service manifest as synthesised. */
  readonly manifest: JsonObject;
  /** Manifest fields whose values svcplane allocated (e.g. `spec.ports[0].nodePort`). */
  readonly allocatedFields: ReadonlySet<string>;
}

/** One problem of one construct's Service. */
export interface SynthIssue {
  readonly path: string;
  /** The Kubernetes object, e.g. `Service shop/web`, when the problem is about one. */
  readonly object?: string;
  readonly field: string;
  readonly message: string;
}

interface Claim {
  readonly entry: ServiceEntry & { readonly key: string };
  readonly field: string;
}

function fieldsOf(m: JsonObject): { key: string; clusterIPs: [string, string][]; nodePorts: [string, number][] } {
  const meta = isJsonObject(m.metadata) ? m.metadata : {};
  const spec = isJsonObject(m.spec) ? m.spec : {};
  const ns = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
  const key = `${ns}/${typeof meta.name === 'string' ? meta.name : ''}`;

  const clusterIPs: [string, string][] = [];
  if (spec.type !== 'ExternalName') {
    const list = Array.isArray(spec.clusterIPs) && spec.clusterIPs.length > 0 ? spec.clusterIPs : [spec.clusterIP];
    // The primary address is spec.clusterIP when that is written (clusterIPs[0] must equal it).
    const field = (i: number): string => (i === 0 && typeof spec.clusterIP === 'string' && spec.clusterIP !== '' ? 'spec.clusterIP' : `spec.clusterIPs[${i}]`);
    list.forEach((ip, i) => {
      const c = typeof ip === 'string' ? canonicalIP(ip) : undefined;
      if (c !== undefined) clusterIPs.push([field(i), c]);
    });
  }

  const nodePorts: [string, number][] = [];
  const seen = new Set<number>();
  (Array.isArray(spec.ports) ? spec.ports : []).forEach((p, i) => {
    const n = isJsonObject(p) ? p.nodePort : undefined;
    // One Service may use one number on several ports (TCP and UDP 53): one claim.
    if (typeof n === 'number' && n !== 0 && !seen.has(n)) {
      seen.add(n);
      nodePorts.push([`spec.ports[${i}].nodePort`, n]);
    }
  });
  if (typeof spec.healthCheckNodePort === 'number' && spec.healthCheckNodePort !== 0 && !seen.has(spec.healthCheckNodePort)) {
    nodePorts.push(['spec.healthCheckNodePort', spec.healthCheckNodePort]);
  }
  return { key, clusterIPs, nodePorts };
}

function collision(what: string, value: string, mine: Claim, first: Claim, hint: string): SynthIssue {
  const picked = mine.entry.allocatedFields.has(mine.field) || first.entry.allocatedFields.has(first.field);
  return {
    path: mine.entry.path,
    object: `Service ${mine.entry.key}`,
    field: mine.field,
    message:
      `${what} ${value} is also used by ${first.entry.path} (Service ${first.entry.key} ${first.field})` +
      (picked ? `; svcplane picked it from a hash of the Service's namespace/name: set ${hint} explicitly on one of them` : ''),
  };
}

/** Every collision, reported on the later construct (by path) and naming the earlier one. */
export function collisionIssues(entries: readonly ServiceEntry[]): SynthIssue[] {
  const issues: SynthIssue[] = [];
  const names = new Map<string, Claim>();
  const ips = new Map<string, Claim>();
  const ports = new Map<number, Claim>();
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const e of sorted) {
    const f = fieldsOf(e.manifest);
    const entry = { ...e, key: f.key };
    const nameClaim = names.get(f.key);
    if (nameClaim) {
      issues.push({ path: entry.path, object: `Service ${f.key}`, field: 'metadata.name', message: `is also defined by ${nameClaim.entry.path}` });
      continue;
    }
    names.set(f.key, { entry, field: 'metadata.name' });
    for (const [field, ip] of f.clusterIPs) {
      const first = ips.get(ip);
      if (first) issues.push(collision('ClusterIP', ip, { entry, field }, first, 'clusterIP'));
      else ips.set(ip, { entry, field });
    }
    for (const [field, port] of f.nodePorts) {
      const first = ports.get(port);
      const hint = field === 'spec.healthCheckNodePort' || first?.field === 'spec.healthCheckNodePort' ? 'nodePort or healthCheckNodePort' : 'nodePort';
      if (first) issues.push(collision('NodePort', String(port), { entry, field }, first, hint));
      else ports.set(port, { entry, field });
    }
  }
  return issues;
}
