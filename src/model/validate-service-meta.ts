// The metadata section of a Service: name, namespace, labels, annotations, and the
// topology annotations kube-proxy reads. Names and label syntax hold under every
// cluster configuration and reach rule comments and logs: refused on both sides.

import { keyPath, type JsonObject } from './json-fields.js';
import { dns1035LabelError, dns1123LabelError, labelValueError, qualifiedNameError } from './names.js';
import type { ServiceRules } from './validate-service-rules.js';

/** Topology Aware Routing, and the older annotation it replaced (kube-proxy reads either). */
export const TOPOLOGY_MODE_ANNOTATION = 'service.kubernetes.io/topology-mode';
export const TOPOLOGY_AWARE_HINTS_ANNOTATION = 'service.kubernetes.io/topology-aware-hints';

export interface ServiceMetadata {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly topologyMode?: string;
}

export function readServiceMetadata(rules: ServiceRules, root: JsonObject): ServiceMetadata {
  const r = rules.reader;
  const meta = r.object(root.metadata, 'metadata') ?? {};
  const name = r.string(meta.name, 'metadata.name') ?? '';
  if (meta.name === undefined || meta.name === null || name === '') rules.refuse('metadata.name', 'is required');
  else rules.refuse('metadata.name', dns1035LabelError(name));
  const nsRaw = r.string(meta.namespace, 'metadata.namespace');
  const namespace = nsRaw || 'default';
  if (nsRaw) rules.refuse('metadata.namespace', dns1123LabelError(nsRaw));
  const labels = r.stringMap(meta.labels, 'metadata.labels') ?? {};
  checkLabels(rules, labels, 'metadata.labels');
  const annotations = r.stringMap(meta.annotations, 'metadata.annotations') ?? {};
  for (const k of Object.keys(annotations)) rules.refuse(keyPath('metadata.annotations', k), qualifiedNameError(k));
  const modeAnn = annotations[TOPOLOGY_MODE_ANNOTATION];
  const hintsAnn = annotations[TOPOLOGY_AWARE_HINTS_ANNOTATION];
  let hints: string | undefined = hintsAnn;
  if (modeAnn !== undefined && hintsAnn !== undefined && modeAnn !== hintsAnn) {
    // kube-proxy reads the newer annotation first; the older one is only a fallback.
    if (rules.notApplicable(keyPath('metadata.annotations', TOPOLOGY_MODE_ANNOTATION), `must match annotations[${TOPOLOGY_AWARE_HINTS_ANNOTATION}] when both are set`)) hints = undefined;
  }
  const topologyMode = modeAnn ?? hints;
  return { namespace, name, labels, annotations, ...(topologyMode !== undefined ? { topologyMode } : {}) };
}

/** Label keys and values (metadata.labels, spec.selector). */
export function checkLabels(rules: ServiceRules, labels: Readonly<Record<string, string>>, field: string): void {
  for (const [k, v] of Object.entries(labels)) {
    const ke = qualifiedNameError(k);
    if (ke) rules.refuse(keyPath(field, k), `key ${ke}`);
    const ve = labelValueError(v);
    if (ve) rules.refuse(keyPath(field, k), `value ${JSON.stringify(v)} ${ve}`);
  }
}
