// A Service's selector: plain labels, or a cdk8s-plus workload or pod selector
// (Deployment, StatefulSet, Pod, Pods.select(...)), reduced to the labels a
// Service can hold. Services match labels only, so expressions are an error.

/** Anything that selects pods the way cdk8s-plus does. */
export interface PodSelectorLike {
  /** cdk8s-plus workloads (Deployment, StatefulSet, DaemonSet, Job) expose their selector's labels. */
  readonly matchLabels?: Readonly<Record<string, string>>;
  toPodSelectorConfig(): {
    readonly labelSelector: { _toKube(): { matchLabels?: Record<string, string>; matchExpressions?: readonly unknown[] } };
    readonly namespaces?: { readonly names?: readonly string[] };
  };
}

/** Labels, or a workload whose pods the Service should send to. */
export type ServiceSelector = Readonly<Record<string, string>> | PodSelectorLike;

export function isPodSelectorLike(s: ServiceSelector): s is PodSelectorLike {
  return typeof (s as { toPodSelectorConfig?: unknown }).toPodSelectorConfig === 'function';
}

export interface ResolvedSelector {
  readonly labels: Record<string, string>;
  /** Why the selector cannot be a Service's, when it cannot. */
  readonly problem?: string;
}

/** The labels to put in spec.selector; read at synth, so workload selectors added later count. */
export function resolveSelector(selector: ServiceSelector, serviceNamespace: string | undefined): ResolvedSelector {
  if (!isPodSelectorLike(selector)) return { labels: { ...selector } };
  const config = selector.toPodSelectorConfig();
  const kube = config.labelSelector._toKube();
  if (kube.matchExpressions && kube.matchExpressions.length > 0) {
    return { labels: {}, problem: 'selects pods with label expressions; a Service selector can only match labels' };
  }
  const names = config.namespaces?.names;
  const ns = serviceNamespace ?? 'default';
  if (names && names.length > 0 && !names.includes(ns)) {
    return { labels: {}, problem: `selects pods in namespace ${names.join(', ')} but the Service is in ${ns}: a Service only reaches pods in its own namespace` };
  }
  // A workload's matchLabels is its full selector (cdk8s-plus also adds matchers with select()).
  const labels = selector.matchLabels ? { ...selector.matchLabels } : { ...(kube.matchLabels ?? {}) };
  if (Object.keys(labels).length === 0) return { labels, problem: 'selects no labels: it would match every pod in the namespace' };
  return { labels };
}
