// The KubeProxyConfiguration's apiVersion and kind, apart from proxy-config.ts: telling
// the kinds of input documents apart must not load the configuration's zod schema.

export const PROXY_CONFIG_API_VERSION = 'kubeproxy.config.k8s.io/v1alpha1';
export const PROXY_CONFIG_KIND = 'KubeProxyConfiguration';
