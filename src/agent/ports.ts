// Where the agent serves /healthz, /livez and /metrics by default, per --mode.
// Shared by `svcplane agent` and the NodeAgent construct so both say the same.
//
// REPLACE: svcplane is the node's proxy, so it takes kube-proxy's own ports
// (10256 healthz, 10249 metrics): load balancers' node health checks and
// monitoring set up for kube-proxy keep working.
// COEXIST: kube-proxy runs beside svcplane on the same host network and holds
// those ports, so svcplane takes 10356 / 10349: kube-proxy's plus 100, easy to
// remember, outside the 10248-10260 block the Kubernetes node and control-plane
// components use (kubelet 10248/10250/10255, controller-manager 10257, scheduler
// 10259), and clear of common node agents (Cilium 9876/9879/9962-9965, Calico
// 9091/9099, node-exporter 9100).

import type { ProxyMode } from '../model/render-input.js';

export interface AgentPorts {
  readonly health: number;
  readonly metrics: number;
}

export const KUBE_PROXY_PORTS: AgentPorts = { health: 10256, metrics: 10249 };
export const COEXIST_PORTS: AgentPorts = { health: 10356, metrics: 10349 };

export function defaultPorts(mode: ProxyMode): AgentPorts {
  return mode === 'replace' ? KUBE_PROXY_PORTS : COEXIST_PORTS;
}

/** kube-proxy's default bind addresses: health on every address (load balancers ask it), metrics on loopback. */
export function defaultAddresses(mode: ProxyMode): { health: string; metrics: string } {
  const p = defaultPorts(mode);
  return { health: `0.0.0.0:${p.health}`, metrics: `127.0.0.1:${p.metrics}` };
}
