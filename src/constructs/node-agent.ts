// NodeAgent: what runs `svcplane agent` on every node. A DaemonSet on the host
// network with just the capabilities its backend needs, a ServiceAccount whose
// ClusterRole can read Services, EndpointSlices and Nodes and nothing else, and
// (optionally) a ConfigMap with the kube-proxy configuration. The plan is the
// ConfigMap SvcplaneApp already writes: the agent mounts it, never a copy.
//
// Prop problems are construct validations, so synth fails with every one of them,
// each naming the construct path (SvcplaneApp.check, or cdk8s's own validate).

import { createHash } from 'node:crypto';
import { ApiObject, JsonPatch } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';
import { Construct } from 'constructs';
import { dns1123LabelError } from '../model/names.js';
import { PLAN_CONFIG_MAP_KEY, SvcplaneApp } from './app.js';
import { DEFAULT_AGENT_IMAGE } from './default-image.js';
import { agentConfigFile, type KubeProxyConfig } from './node-agent-config.js';
import { SvcplaneSynthError } from './synth-error.js';

/** The rule engine the agent programs (`svcplane agent --backend`). */
export enum AgentBackend {
  NFTABLES = 'nftables',
  IPTABLES = 'iptables',
  /** IPVS virtual servers plus a few iptables rules; needs the ip_vs kernel modules. */
  IPVS = 'ipvs',
}

/** Which Services the agent takes (`svcplane agent --mode`). */
export enum AgentMode {
  /** Only Services labelled `service.kubernetes.io/service-proxy-name: svcplane`; kube-proxy keeps the rest. */
  COEXIST = 'coexist',
  /** Every Service: svcplane replaces kube-proxy (remove kube-proxy first). */
  REPLACE = 'replace',
}

export interface NodeAgentResources {
  /** @default { cpu: '100m', memory: '64Mi' } */
  readonly requests?: { readonly cpu?: string; readonly memory?: string };
  /** @default { memory: '256Mi' } (no CPU limit: throttling would delay rule syncs) */
  readonly limits?: { readonly cpu?: string; readonly memory?: string };
}

export interface NodeAgentProps {
  /**
   * The svcplane image, with `svcplane` on its PATH, e.g. 'ghcr.io/example/svcplane:0.1.0'.
   * @default `svcplane:<this package's version>` (DEFAULT_AGENT_IMAGE): the image
   * `npm run image` builds; push it to a registry the nodes pull from (and name it
   * here), or load it into each node's container runtime under that name.
   */
  readonly image?: string;
  /** @default AgentBackend.NFTABLES */
  readonly backend?: AgentBackend;
  /** @default AgentMode.COEXIST */
  readonly mode?: AgentMode;
  /**
   * Namespace of the agent's objects. Pods mount ConfigMaps of their own
   * namespace only, so it must be the plan ConfigMap's.
   * @default the plan ConfigMap's namespace (kube-system unless the app says otherwise)
   */
  readonly namespace?: string;
  /**
   * The plan ConfigMap to mount.
   * @default the SvcplaneApp's planConfigMap (the app this construct is in)
   */
  readonly planConfigMap?: k8s.KubeConfigMap;
  /**
   * A KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1) for the agent,
   * e.g. `{ clusterCIDR: '10.244.0.0/16' }`. apiVersion, kind and mode are filled
   * in. Written to the ConfigMap `svcplane-agent-config` and passed as --config.
   * @default none: kube-proxy's defaults
   */
  readonly kubeProxyConfig?: KubeProxyConfig;
  readonly resources?: NodeAgentResources;
  /** @default [{ operator: 'Exists' }]: every taint, as kube-proxy does (a node without the agent has no Services) */
  readonly tolerations?: readonly k8s.Toleration[];
  /** @default 'system-node-critical' */
  readonly priorityClassName?: string;
}

export const NODE_AGENT_NAME = 'svcplane-agent';
export const NODE_AGENT_CONFIG_MAP_NAME = 'svcplane-agent-config';
export const NODE_AGENT_CONFIG_DIR = '/etc/svcplane';
export const NODE_AGENT_CONFIG_KEY = 'kube-proxy-config.yaml';
export const NODE_AGENT_HEALTH_PORT = 10256;
export const NODE_AGENT_METRICS_PORT = 10249;
export const NODE_AGENT_LABELS: Readonly<Record<string, string>> = {
  'app.kubernetes.io/name': NODE_AGENT_NAME,
  'app.kubernetes.io/component': 'node-agent',
};

/**
 * The agent's ClusterRole rules: read Services, Nodes and EndpointSlices, the
 * only objects it watches. Nothing else, no write verbs.
 */
export const NODE_AGENT_RULES: readonly k8s.PolicyRule[] = [
  { apiGroups: [''], resources: ['services', 'nodes'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['networking.k8s.io'], resources: ['servicecidrs'], verbs: ['get', 'list', 'watch'] },
];

const XTABLES_LOCK = '/run/xtables.lock';
const LIB_MODULES = '/lib/modules';
// Kubernetes resource.Quantity syntax.
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$/;

export class NodeAgent extends Construct {
  readonly backend: AgentBackend;
  readonly mode: AgentMode;
  readonly namespace: string;
  /** The plan ConfigMap the DaemonSet mounts (the app's; not emitted by this construct). */
  readonly planConfigMap: k8s.KubeConfigMap;
  /** Escape hatches: the underlying objects (e.g. `daemonSet.addJsonPatch(...)`). */
  readonly daemonSet: k8s.KubeDaemonSet;
  readonly serviceAccount: k8s.KubeServiceAccount;
  readonly clusterRole: k8s.KubeClusterRole;
  readonly clusterRoleBinding: k8s.KubeClusterRoleBinding;
  /** The kube-proxy configuration ConfigMap, when kubeProxyConfig is given. */
  readonly configMap?: k8s.KubeConfigMap;

  private readonly problems: string[] = [];

  constructor(scope: Construct, id: string, props: NodeAgentProps) {
    super(scope, id);
    this.backend = props.backend ?? AgentBackend.NFTABLES;
    this.mode = props.mode ?? AgentMode.COEXIST;
    this.planConfigMap = props.planConfigMap ?? this.appPlanConfigMap();
    const planNamespace = this.planConfigMap.metadata.namespace ?? 'default';
    this.namespace = props.namespace ?? planNamespace;
    this.checkProps(props, planNamespace);

    const labels = { ...NODE_AGENT_LABELS };
    const namespaced = { namespace: this.namespace, labels };

    this.serviceAccount = new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name: NODE_AGENT_NAME, ...namespaced } });
    this.clusterRole = new k8s.KubeClusterRole(this, 'ClusterRole', {
      metadata: { name: NODE_AGENT_NAME, labels },
      rules: NODE_AGENT_RULES.map((r) => ({ ...r })),
    });
    this.clusterRoleBinding = new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: { name: NODE_AGENT_NAME, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NODE_AGENT_NAME },
      subjects: [{ kind: 'ServiceAccount', name: NODE_AGENT_NAME, namespace: this.namespace }],
    });
    // A chart's namespace lands on every object in it; cluster-scoped ones have none.
    for (const o of [this.clusterRole, this.clusterRoleBinding]) dropNamespace(o);

    let configHash: string | undefined;
    if (props.kubeProxyConfig !== undefined) {
      const file = agentConfigFile(props.kubeProxyConfig, this.backend);
      this.problems.push(...file.problems);
      const yaml = file.yaml ?? '';
      configHash = createHash('sha256').update(yaml).digest('hex').slice(0, 16);
      this.configMap = new k8s.KubeConfigMap(this, 'ConfigMap', {
        metadata: { name: NODE_AGENT_CONFIG_MAP_NAME, ...namespaced },
        data: { [NODE_AGENT_CONFIG_KEY]: yaml },
      });
    }

    this.daemonSet = new k8s.KubeDaemonSet(this, 'DaemonSet', {
      metadata: { name: NODE_AGENT_NAME, ...namespaced },
      spec: {
        selector: { matchLabels: labels },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(1) } },
        template: {
          metadata: {
            labels,
            // The agent reads its configuration at start: a new configuration rolls the pods.
            ...(configHash ? { annotations: { 'svcplane.io/kube-proxy-config-hash': configHash } } : {}),
          },
          spec: this.podSpec(props),
        },
      },
    });

    this.node.addValidation({ validate: () => [...this.problems] });
  }

  /** The `svcplane agent` arguments. */
  get args(): string[] {
    return [
      'agent',
      '--backend', this.backend,
      '--mode', this.mode,
      '--plan', `${NODE_AGENT_CONFIG_DIR}/${PLAN_CONFIG_MAP_KEY}`,
      ...(this.configMap ? ['--config', `${NODE_AGENT_CONFIG_DIR}/${NODE_AGENT_CONFIG_KEY}`] : []),
      // Expanded by the kubelet from the env var below.
      '--node-name', '$(NODE_NAME)',
      '--health-addr', `0.0.0.0:${NODE_AGENT_HEALTH_PORT}`,
      '--metrics-addr', `127.0.0.1:${NODE_AGENT_METRICS_PORT}`,
    ];
  }

  private podSpec(props: NodeAgentProps): k8s.PodSpec {
    const usesIptables = this.backend === AgentBackend.IPTABLES || this.backend === AgentBackend.IPVS;
    const usesIpvs = this.backend === AgentBackend.IPVS;
    const planName = this.planConfigMap.metadata.name ?? '';

    const sources: k8s.VolumeProjection[] = [
      { configMap: { name: planName, items: [{ key: PLAN_CONFIG_MAP_KEY, path: PLAN_CONFIG_MAP_KEY }] } },
    ];
    if (this.configMap) {
      sources.push({ configMap: { name: NODE_AGENT_CONFIG_MAP_NAME, items: [{ key: NODE_AGENT_CONFIG_KEY, path: NODE_AGENT_CONFIG_KEY }] } });
    }
    // One projected volume, so the plan and the configuration sit side by side in
    // /etc/svcplane and both follow ConfigMap updates (a subPath mount would not).
    const volumes: k8s.Volume[] = [{ name: 'config', projected: { sources } }];
    const mounts: k8s.VolumeMount[] = [{ name: 'config', mountPath: NODE_AGENT_CONFIG_DIR, readOnly: true }];
    if (usesIptables) {
      // The host's iptables lock, shared with kube-proxy and the CNI plugin.
      volumes.push({ name: 'xtables-lock', hostPath: { path: XTABLES_LOCK, type: 'FileOrCreate' } });
      mounts.push({ name: 'xtables-lock', mountPath: XTABLES_LOCK });
    }
    if (usesIpvs) {
      volumes.push({ name: 'lib-modules', hostPath: { path: LIB_MODULES, type: 'Directory' } });
      mounts.push({ name: 'lib-modules', mountPath: LIB_MODULES, readOnly: true });
    }

    // NET_ADMIN for the rules, NET_RAW for iptables' raw sockets; SYS_MODULE only
    // for IPVS, which modprobes ip_vs and its schedulers. No privileged mode.
    const capabilities = ['NET_ADMIN', 'NET_RAW', ...(usesIpvs ? ['SYS_MODULE'] : [])];
    const requests = { cpu: '100m', memory: '64Mi', ...props.resources?.requests };
    const limits = { memory: '256Mi', ...props.resources?.limits };
    const port = (name: string) => ({ httpGet: { path: `/${name}`, port: k8s.IntOrString.fromString('health') } });

    return {
      serviceAccountName: NODE_AGENT_NAME,
      hostNetwork: true,
      // Host networking, yet cluster DNS for the agent.
      dnsPolicy: 'ClusterFirstWithHostNet',
      priorityClassName: props.priorityClassName ?? 'system-node-critical',
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [...(props.tolerations ?? [{ operator: 'Exists' }])],
      containers: [
        {
          name: 'agent',
          image: props.image ?? DEFAULT_AGENT_IMAGE,
          command: ['svcplane'],
          args: this.args,
          env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } }],
          ports: [
            { name: 'health', containerPort: NODE_AGENT_HEALTH_PORT, protocol: 'TCP' },
            { name: 'metrics', containerPort: NODE_AGENT_METRICS_PORT, protocol: 'TCP' },
          ],
          livenessProbe: { ...port('livez'), initialDelaySeconds: 15, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
          readinessProbe: { ...port('healthz'), periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 3 },
          resources: { requests: quantities(requests), limits: quantities(limits) },
          securityContext: {
            privileged: false,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'], add: capabilities },
          },
          volumeMounts: mounts,
        },
      ],
      volumes,
    };
  }

  private checkProps(props: NodeAgentProps, planNamespace: string): void {
    const add = (m: string): void => {
      this.problems.push(m);
    };
    const image = props.image ?? DEFAULT_AGENT_IMAGE;
    if (typeof image !== 'string' || image.trim() === '') add('image: must not be empty');
    else if (/\s/.test(image)) add(`image: ${JSON.stringify(image)} must not contain whitespace`);
    const nsError = dns1123LabelError(this.namespace);
    if (nsError) add(`namespace: ${JSON.stringify(this.namespace)} ${nsError}`);
    else if (this.namespace !== planNamespace) {
      add(`namespace: is "${this.namespace}" but the plan ConfigMap is in "${planNamespace}"; a pod can mount ConfigMaps of its own namespace only`);
    }
    if (!Object.values(AgentBackend).includes(this.backend)) add(`backend: ${JSON.stringify(this.backend)} is not one of ${Object.values(AgentBackend).join(', ')}`);
    if (!Object.values(AgentMode).includes(this.mode)) add(`mode: ${JSON.stringify(this.mode)} is not one of ${Object.values(AgentMode).join(', ')}`);
    for (const kind of ['requests', 'limits'] as const) {
      for (const [res, q] of Object.entries(props.resources?.[kind] ?? {})) {
        if (q !== undefined && !QUANTITY.test(q)) add(`resources.${kind}.${res}: ${JSON.stringify(q)} is not a quantity (e.g. 100m, 64Mi)`);
      }
    }
  }

  /** The plan ConfigMap of the SvcplaneApp this construct is in. */
  private appPlanConfigMap(): k8s.KubeConfigMap {
    const root = this.node.root;
    if (root instanceof SvcplaneApp) return root.planConfigMap;
    throw new SvcplaneSynthError([
      { path: this.node.path, field: 'planConfigMap', message: 'is required outside a SvcplaneApp (the agent mounts the plan ConfigMap)' },
    ]);
  }
}

function quantities(q: Record<string, string | undefined>): Record<string, k8s.Quantity> {
  const out: Record<string, k8s.Quantity> = {};
  for (const [k, v] of Object.entries(q)) if (v !== undefined) out[k] = k8s.Quantity.fromString(v);
  return out;
}

function dropNamespace(o: ApiObject): void {
  if (o.metadata.namespace !== undefined) o.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
}
