// A networking.k8s.io ServiceCIDR (v1, or v1beta1 from older clusters) -> its CIDRs.
// The API server wants spec.cidrs as one CIDR, or a dual-stack pair, each written
// as its network address in canonical form; we hold manifests to the same rule so
// that what renders here is what the cluster would accept.

import { InputError } from '../model/errors.js';
import { canonicalCIDR, compareIPs, parseCIDR } from '../model/ip.js';
import { FieldReader, indexPath, isJsonObject } from '../model/json-fields.js';
import { dns1123SubdomainError } from '../model/names.js';

export const SERVICE_CIDR_API_VERSIONS = ['networking.k8s.io/v1', 'networking.k8s.io/v1beta1'] as const;

export function serviceCIDRRef(obj: unknown): { kind: 'ServiceCIDR'; name?: string } {
  const meta = isJsonObject(obj) && isJsonObject(obj.metadata) ? obj.metadata : {};
  return { kind: 'ServiceCIDR', ...(typeof meta.name === 'string' ? { name: meta.name } : {}) };
}

/** The CIDRs of one ServiceCIDR object, canonical, in the order written. */
export function serviceCIDRToCIDRs(obj: unknown, source?: string): string[] {
  const r = new FieldReader();
  const root = r.object(obj, '(root)');
  if (!root) {
    throw new InputError(serviceCIDRRef(obj), r.issues.length ? r.issues : [{ field: '(root)', message: 'must be a ServiceCIDR object, not null' }], source);
  }
  if (root.kind !== undefined && root.kind !== 'ServiceCIDR') r.add('kind', `must be "ServiceCIDR", not ${JSON.stringify(root.kind)}`);
  if (root.apiVersion !== undefined && !(SERVICE_CIDR_API_VERSIONS as readonly unknown[]).includes(root.apiVersion)) {
    r.add('apiVersion', `must be one of ${SERVICE_CIDR_API_VERSIONS.join(', ')}, not ${JSON.stringify(root.apiVersion)}`);
  }
  const meta = r.object(root.metadata, 'metadata') ?? {};
  const name = r.string(meta.name, 'metadata.name') ?? '';
  if (name === '') r.add('metadata.name', 'is required');
  else if (dns1123SubdomainError(name)) r.add('metadata.name', dns1123SubdomainError(name)!);
  const spec = r.object(root.spec, 'spec') ?? {};
  const cidrs = r.stringList(spec.cidrs, 'spec.cidrs') ?? [];
  if (cidrs.length === 0) r.add('spec.cidrs', 'is required: one CIDR, or one of each family');
  if (cidrs.length > 2) r.add('spec.cidrs', 'may hold at most 2 values');
  const out: string[] = [];
  cidrs.forEach((c, i) => {
    const f = indexPath('spec.cidrs', i);
    const p = parseCIDR(c);
    if (!p) return r.add(f, 'must be a valid CIDR (e.g. 10.96.0.0/12 or fd00:10:96::/112)');
    const canon = canonicalCIDR(c)!;
    if (!parseCIDR(c, true)) return r.add(f, `must be a network address with no host bits set (${canon})`);
    if (canon !== c) return r.add(f, `must be in canonical form (${canon})`);
    out.push(canon);
  });
  if (out.length === 2 && parseCIDR(out[0]!)!.family === parseCIDR(out[1]!)!.family) {
    r.add('spec.cidrs', 'may hold at most one CIDR of each family');
  }
  if (r.issues.length > 0) throw new InputError(serviceCIDRRef(obj), r.issues, source);
  return out;
}

/** Orders canonical CIDRs: IPv4 first, then by address, then by prefix length. */
export function compareCIDRs(a: string, b: string): number {
  const [ia, pa] = a.split('/');
  const [ib, pb] = b.split('/');
  return compareIPs(ia!, ib!) || Number(pa) - Number(pb);
}
