// The first step of collectInputs: which documents are inputs svcplane reads, by API
// group and kind; everything else is skipped with a warning naming it.

import { inputError } from '../model/errors.js';
import { isJsonObject } from '../model/json-fields.js';
import { PLAN_API_VERSION, PLAN_KIND } from '../model/plan-constants.js';
import type { InputProblems } from './input-problems.js';
import { PROXY_CONFIG_KIND } from './proxy-config-kind.js';
import type { ManifestDocument } from './read.js';

/** What collectInputs needs of a document: the object (or what was read of it already) and where it came from. */
export type InputDocument = Pick<ManifestDocument, 'object' | 'source' | 'read'>;

export type InputKind = 'Service' | 'EndpointSlice' | 'Node' | 'ServiceCIDR' | 'KubeProxyConfiguration' | 'ServicePlan';

/** Which of our kinds a document is, by API group and kind; undefined for anything else. */
function classify(o: Record<string, unknown>): InputKind | undefined {
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

/** Which of our kinds `o` is, as sortByKind sorts it; undefined when it is none (or not an object). */
export function inputKindOf(o: unknown): InputKind | undefined {
  if (!isJsonObject(o) || typeof o.kind !== 'string' || o.kind === '') return undefined;
  return classify(o);
}

function describeObject(o: Record<string, unknown>): string {
  const meta = isJsonObject(o.metadata) ? o.metadata : {};
  const ns = typeof meta.namespace === 'string' && meta.namespace ? `${meta.namespace}/` : '';
  const name = typeof meta.name === 'string' ? ` ${ns}${meta.name}` : '';
  const av = typeof o.apiVersion === 'string' ? ` (${o.apiVersion})` : '';
  return `${String(o.kind)}${av}${name}`;
}

/** The documents of each kind, in input order; a non-object is bad, an unknown kind a warning. */
export function sortByKind(docs: readonly InputDocument[], problems: InputProblems): Record<InputKind, InputDocument[]> {
  const byKind: Record<InputKind, InputDocument[]> = {
    Service: [],
    EndpointSlice: [],
    Node: [],
    ServiceCIDR: [],
    KubeProxyConfiguration: [],
    ServicePlan: [],
  };
  for (const d of docs) {
    // Validated as it was read: only Services and EndpointSlices are (input-reads.ts).
    if (d.read) {
      byKind[d.read.kind].push(d);
      continue;
    }
    const o = d.object;
    if (!isJsonObject(o)) {
      problems.bad(inputError(undefined, '(root)', 'must be a Kubernetes object (a map with apiVersion and kind)', d.source));
      continue;
    }
    if (typeof o.kind !== 'string' || o.kind === '') {
      problems.warnings.push(`${d.source}: not a Kubernetes object (no kind), skipped`);
      continue;
    }
    const k = classify(o);
    if (!k) {
      problems.warnings.push(`${d.source}: ${describeObject(o)} is not an input svcplane reads, skipped`);
      continue;
    }
    byKind[k].push(d);
  }
  return byKind;
}
