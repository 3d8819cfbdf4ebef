// The kube-proxy configuration a NodeAgent passes to `svcplane agent --config`:
// checked at synth with the same reader the agent uses, so a typo fails here and
// not on every node, and written as YAML into the agent's ConfigMap.

import { stringify } from 'yaml';
import { InputError } from '../model/errors.js';
import { PROXY_CONFIG_API_VERSION, PROXY_CONFIG_KIND, proxyConfigFromObject } from '../manifests/proxy-config.js';

/** The result of preparing a kube-proxy configuration: the file text, or what is wrong with it. */
export interface AgentConfigFile {
  readonly yaml?: string;
  readonly problems: readonly string[];
}

/**
 * The KubeProxyConfiguration YAML for an agent running `backend` (nftables,
 * iptables, ipvs). apiVersion and kind are filled in when missing; `mode` is set
 * to the backend when missing (it selects which per-mode section the agent
 * reads) and must equal it when given.
 */
export function agentConfigFile(config: Readonly<Record<string, unknown>>, backend: string): AgentConfigFile {
  const problems: string[] = [];
  const mode = config.mode;
  if (mode !== undefined && mode !== '' && mode !== backend) {
    problems.push(`kubeProxyConfig.mode: is ${JSON.stringify(mode)} but the agent's backend is "${backend}"; leave mode out or make them equal`);
  }
  const full = { apiVersion: PROXY_CONFIG_API_VERSION, kind: PROXY_CONFIG_KIND, ...config, mode: backend };
  try {
    proxyConfigFromObject(full);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    for (const i of e.issues) problems.push(`kubeProxyConfig.${i.field}: ${i.message}`);
  }
  if (problems.length > 0) return { problems };
  // Sorted keys: the same configuration always gives the same bytes.
  return { yaml: stringify(full, { sortMapEntries: true }), problems };
}
