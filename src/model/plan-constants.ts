// The plan's constants and key helpers, without zod: everything the render path
// (`svcplane render -f`, `plan -f` of manifests) needs of plan.ts at run time. Loading
// zod costs ~50 ms of start-up, and only a plan.json input (loadPlan) or a
// KubeProxyConfiguration needs its schemas. plan.ts re-exports all of this.

export const PLAN_API_VERSION = 'svcplane.io/v1alpha1';
export const PLAN_KIND = 'ServicePlan';
/** The value of `service.kubernetes.io/service-proxy-name` that marks our Services. */
export const PROXY_NAME = 'svcplane';
export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';
export const DEFAULT_NODE_PORT_RANGE = { min: 30000, max: 32767 } as const;
/** kube-proxy's default ClientIP affinity timeout (3 hours) and the API's maximum (1 day). */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;
export const MAX_AFFINITY_TIMEOUT_SECONDS = 86400;

export function serviceKey(s: { namespace: string; name: string }): string {
  return `${s.namespace}/${s.name}`;
}

/**
 * Whether a namespace and name are one of `keys` (namespace/name), told without a key string
 * made per object tested: a filter over 44k Services or slices that made serviceKey(s) for
 * each left ~2.8 MB of young garbage a sync (the agent's batches, the iptables partial sync).
 */
export function isOneOf(keys: Iterable<string>): (namespace: string, name: string) => boolean {
  const byNamespace = new Map<string, Set<string>>();
  for (const key of keys) {
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    let names = byNamespace.get(ns);
    if (!names) byNamespace.set(ns, (names = new Set()));
    names.add(key.slice(slash + 1));
  }
  return (namespace, name) => byNamespace.get(namespace)?.has(name) === true;
}

export function compareByNamespaceName(
  a: { namespace: string; name: string },
  b: { namespace: string; name: string },
): number {
  return a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
