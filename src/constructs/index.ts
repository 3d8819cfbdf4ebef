// Public API of the authoring half: the Service constructs, their enums and
// props, the App that writes the plan and the rules beside the manifests, and
// the NodeAgent that runs `svcplane agent` on every node.

export * from './enums.js';
export type { ServicePortOptions, NodePortServicePortOptions } from './ports.js';
export type { StaticEndpoint } from './static-endpoints.js';
export type { ServiceSelector, PodSelectorLike } from './selector.js';
export { ServiceBase, type ServiceBaseProps, type EndpointServiceProps, type VirtualIPServiceProps } from './service-base.js';
export { ClusterIPService, type ClusterIPServiceProps } from './cluster-ip-service.js';
export { HeadlessService, type HeadlessServiceProps } from './headless-service.js';
export { NodePortService, type NodePortServiceProps } from './node-port-service.js';
export { LoadBalancerService, type LoadBalancerServiceProps } from './load-balancer-service.js';
export { ExternalNameService, type ExternalNameServiceProps } from './external-name-service.js';
export {
  SvcplaneApp,
  type SvcplaneAppProps,
  DEFAULT_PLAN_NAMESPACE,
  DEFAULT_PLAN_CONFIG_MAP_NAME,
  PLAN_CONFIG_MAP_KEY,
} from './app.js';
export {
  NodeAgent,
  type NodeAgentProps,
  type NodeAgentResources,
  AgentBackend,
  AgentMode,
  TrafficMetrics,
  NODE_AGENT_NAME,
  NODE_AGENT_CONFIG_MAP_NAME,
  NODE_AGENT_RULES,
  NODE_AGENT_HEALTH_PORT,
  NODE_AGENT_METRICS_PORT,
  NODE_AGENT_DEFAULT_RESOURCES,
} from './node-agent.js';
export { agentMemoryMiB, agentPeakMiB, agentResources, DEFAULT_AGENT_SCALE, type AgentScale } from './agent-memory.js';
export { DEFAULT_AGENT_IMAGE } from './default-image.js';
export { DEFAULT_SERVICE_CIDRS, type AllocationConfig } from './allocation-config.js';
export type { PortRange } from './allocation.js';
export { SvcplaneSynthError } from './synth-error.js';
export { RULES_DIR, PLAN_FILE } from './rules-writer.js';
