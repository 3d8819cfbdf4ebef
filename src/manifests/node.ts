// A core/v1 Node -> NodeContext: the name, the node IPs kube-proxy would pick, the
// pod CIDRs and the zone.
//
// kube-proxy's pick (GetNodeHostIPs): all InternalIP addresses, then all ExternalIP
// addresses, in that order; the first is the primary node IP, and the first address
// of the other family, if any, is the secondary. Hostnames and unparsable
// addresses are passed over, as kube-proxy passes over them.

import { InputError } from '../model/errors.js';
import { canonicalCIDR, parseCIDR, parseIP, formatIP } from '../model/ip.js';
import { childPath, FieldReader, indexPath, isJsonObject } from '../model/json-fields.js';
import { dns1123SubdomainError } from '../model/names.js';
import type { NodeContext } from '../model/node.js';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';

export function nodeRef(obj: unknown): { kind: 'Node'; name?: string } {
  const meta = isJsonObject(obj) && isJsonObject(obj.metadata) ? obj.metadata : {};
  return { kind: 'Node', ...(typeof meta.name === 'string' ? { name: meta.name } : {}) };
}

/** Primary node IP first, then the first address of the other family; canonical. */
export function pickNodeIPs(addresses: ReadonlyArray<{ type: string; address: string }>): string[] {
  const ordered = [
    ...addresses.filter((a) => a.type === 'InternalIP'),
    ...addresses.filter((a) => a.type === 'ExternalIP'),
  ];
  const out: string[] = [];
  const families = new Set<string>();
  for (const a of ordered) {
    const p = parseIP(a.address);
    if (!p || families.has(p.family)) continue;
    families.add(p.family);
    out.push(formatIP(p.family, p.value));
  }
  return out;
}

export function nodeToContext(obj: unknown, source?: string): NodeContext {
  const r = new FieldReader();
  const root = r.object(obj, '(root)');
  if (!root) {
    throw new InputError(nodeRef(obj), r.issues.length ? r.issues : [{ field: '(root)', message: 'must be a Node object, not null' }], source);
  }
  if (root.kind !== undefined && root.kind !== 'Node') r.add('kind', `must be "Node", not ${JSON.stringify(root.kind)}`);
  const meta = r.object(root.metadata, 'metadata') ?? {};
  const name = r.string(meta.name, 'metadata.name') ?? '';
  if (name === '') r.add('metadata.name', 'is required');
  else if (dns1123SubdomainError(name)) r.add('metadata.name', dns1123SubdomainError(name)!);
  const labels = r.stringMap(meta.labels, 'metadata.labels') ?? {};

  const spec = r.object(root.spec, 'spec') ?? {};
  const podCIDR = r.string(spec.podCIDR, 'spec.podCIDR');
  const podCIDRsGiven = r.stringList(spec.podCIDRs, 'spec.podCIDRs');
  // podCIDRs supersedes podCIDR (which the API keeps equal to podCIDRs[0]).
  const cidrField = podCIDRsGiven && podCIDRsGiven.length > 0 ? 'spec.podCIDRs' : 'spec.podCIDR';
  const rawCIDRs = podCIDRsGiven && podCIDRsGiven.length > 0 ? podCIDRsGiven : podCIDR ? [podCIDR] : [];
  const podCIDRs: string[] = [];
  rawCIDRs.forEach((c, i) => {
    const f = cidrField === 'spec.podCIDRs' ? indexPath(cidrField, i) : cidrField;
    const canon = canonicalCIDR(c);
    if (!canon) r.add(f, 'must be a valid CIDR (e.g. 10.244.1.0/24 or fd00:10:244:1::/64)');
    else podCIDRs.push(canon);
  });
  if (podCIDRs.length > 2) r.add('spec.podCIDRs', 'may hold at most 2 values');
  else if (podCIDRs.length === 2 && parseCIDR(podCIDRs[0]!)!.family === parseCIDR(podCIDRs[1]!)!.family) {
    r.add('spec.podCIDRs', 'may hold at most one CIDR of each family');
  }

  const status = r.object(root.status, 'status') ?? {};
  const addrs: Array<{ type: string; address: string }> = [];
  (r.array(status.addresses, 'status.addresses') ?? []).forEach((av, i) => {
    const path = indexPath('status.addresses', i);
    const a = r.object(av, path);
    const type = r.string(a?.type, childPath(path, 'type'));
    const address = r.string(a?.address, childPath(path, 'address'));
    if (type !== undefined && address !== undefined) addrs.push({ type, address });
  });

  if (r.issues.length > 0) throw new InputError(nodeRef(obj), r.issues, source);
  const zone = labels[ZONE_LABEL];
  return { name, addresses: pickNodeIPs(addrs), podCIDRs, ...(zone ? { zone } : {}) };
}
