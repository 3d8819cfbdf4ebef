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
import { AGENT_ENV, AGENT_NODE_OPTIONS } from '../agent/node-options.js';
import { COEXIST_PORTS, defaultAddresses } from '../agent/ports.js';
import { parseHostPortString } from '../model/host-port.js';
import { dns1123LabelError } from '../model/names.js';
import { PLAN_CONFIG_MAP_KEY, SvcplaneApp } from './app.js';
import { DEFAULT_AGENT_IMAGE } from './default-image.js';
import { agentResources, DEFAULT_AGENT_SCALE, type AgentScale } from './agent-memory.js';
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

/**
 * What the agent's /metrics exports of its rules' traffic counters (`svcplane agent
 * --traffic-metrics`). Every node counts its own traffic to every Service, so a cluster's
 * series are nodes x Service ports x 3 (x endpoints, bounded per node); kube-proxy
 * exports none of these.
 */
export enum TrafficMetrics {
  /** Per Service port, and per endpoint for the first 2,000 (Service port, endpoint) pairs of the node. */
  ENDPOINTS = 'endpoints',
  /** Per Service port only. */
  SERVICES = 'services',
  /** None: a scrape reads no counter from the kernel (large clusters, or no Prometheus). */
  OFF = 'off',
}

/**
 * Requests and limits of the agent container. The defaults come from the agent's
 * `scale` and `backend` (agent-memory.ts: the measured peak, and 25 % more as the limit).
 */
export interface NodeAgentResources {
  /** @default cpu 100m, memory the expected peak at the agent's scale (agentPeakMiB) */
  readonly requests?: { readonly cpu?: string; readonly memory?: string };
  /** @default memory agentMemoryMiB at the agent's scale; no CPU limit (throttling would delay rule syncs) */
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
  /**
   * The cluster size the agent is sized for: its default memory request and limit
   * (`resources` overrides them). Size for growth: an agent over its limit is killed and
   * the node's rules stop following changes until it restarts.
   * @default DEFAULT_AGENT_SCALE: 2,000 Services of 10 endpoints
   */
  readonly scale?: AgentScale;
  /** @default AgentMode.COEXIST */
  readonly mode?: AgentMode;
  /**
   * What /metrics exports of the rules' traffic counters (svcplane_service_*, svcplane_endpoint_*).
   * @default TrafficMetrics.ENDPOINTS
   */
  readonly trafficMetrics?: TrafficMetrics;
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
  /**
   * Where the agent serves /healthz and /livez (`--health-addr`), HOST:PORT.
   * @default kubeProxyConfig.healthzBindAddress if given, else '0.0.0.0:10356' in
   *   COEXIST mode (kube-proxy holds 10256 on the same host network) and kube-proxy's
   *   '0.0.0.0:10256' in REPLACE mode (load balancers' health checks keep working)
   */
  readonly healthAddress?: string;
  /**
   * Where the agent serves /metrics (`--metrics-addr`), HOST:PORT.
   * @default kubeProxyConfig.metricsBindAddress if given, else '127.0.0.1:10349' in
   *   COEXIST mode (kube-proxy holds 10249) and kube-proxy's '127.0.0.1:10249' in REPLACE mode
   */
  readonly metricsAddress?: string;
  /**
   * The API server's own address, HOST:PORT (e.g. '10.0.0.10:6443', the control-plane
   * load balancer, '[fd00::10]:6443'), never the `kubernetes` Service's ClusterIP.
   * Set on the container as KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT (explicit
   * env wins over the kubelet's Service variables), which the agent's in-cluster
   * config reads. Required in REPLACE mode: there the agent itself programs the
   * `kubernetes` Service, so on a node whose tables are empty (a reboot) it could not
   * reach the API server through it, and would never start. In COEXIST mode
   * kube-proxy programs that Service, so the default is fine.
   * @default in-cluster (the `kubernetes` Service); required with AgentMode.REPLACE
   */
  readonly apiServerEndpoint?: string;
  /** @default [{ operator: 'Exists' }]: every taint, as kube-proxy does (a node without the agent has no Services) */
  readonly tolerations?: readonly k8s.Toleration[];
  /** @default 'system-node-critical' */
  readonly priorityClassName?: string;
}

export const NODE_AGENT_NAME = 'svcplane-agent';
export const NODE_AGENT_CONFIG_MAP_NAME = 'svcplane-agent-config';
export const NODE_AGENT_CONFIG_DIR = '/etc/svcplane';
export const NODE_AGENT_CONFIG_KEY = 'kube-proxy-config.yaml';
/** The default ports in COEXIST mode (REPLACE mode takes kube-proxy's 10256 / 10249); see src/agent/ports.ts. */
export const NODE_AGENT_HEALTH_PORT = COEXIST_PORTS.health;
export const NODE_AGENT_METRICS_PORT = COEXIST_PORTS.metrics;

/**
 * The default resources of an nftables agent at DEFAULT_AGENT_SCALE (2,000 Services of
 * 10 endpoints): request the expected peak, limit 25 % above it (agent-memory.ts). A
 * NodeAgent computes its own from its `backend` and `scale`; this constant is the
 * nftables case, kept for code that reads it.
 */
export const NODE_AGENT_DEFAULT_RESOURCES = agentResources(DEFAULT_AGENT_SCALE, AgentBackend.NFTABLES);

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
  readonly trafficMetrics: TrafficMetrics;
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
  private readonly addresses: { readonly health: string; readonly metrics: string };

  constructor(scope: Construct, id: string, props: NodeAgentProps) {
    super(scope, id);
    this.backend = props.backend ?? AgentBackend.NFTABLES;
    this.mode = props.mode ?? AgentMode.COEXIST;
    this.trafficMetrics = props.trafficMetrics ?? TrafficMetrics.ENDPOINTS;
    this.planConfigMap = props.planConfigMap ?? this.appPlanConfigMap();
    // The props, else the KubeProxyConfiguration's bind addresses, else the mode's ports (src/agent/ports.ts).
    const defaults = defaultAddresses(this.mode === AgentMode.REPLACE ? 'replace' : 'coexist');
    this.addresses = {
      health: props.healthAddress ?? (props.kubeProxyConfig?.healthzBindAddress || defaults.health),
      metrics: props.metricsAddress ?? (props.kubeProxyConfig?.metricsBindAddress || defaults.metrics),
    };
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

  /** Where the agent serves /healthz and /livez, and /metrics. */
  get healthAddress(): string {
    return this.addresses.health;
  }
  get metricsAddress(): string {
    return this.addresses.metrics;
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
      '--health-addr', this.addresses.health,
      '--metrics-addr', this.addresses.metrics,
      // The default is left out: manifests of earlier versions stay the same.
      ...(this.trafficMetrics === TrafficMetrics.ENDPOINTS ? [] : ['--traffic-metrics', this.trafficMetrics]),
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

    const capabilities = [
      // Every backend: nft, iptables-nft, ipvsadm, ipset and conntrack talk netlink
      // to change the kernel's tables, which needs CAP_NET_ADMIN.
      'NET_ADMIN',
      // iptables and IPVS mode (which uses iptables too): iptables-legacy, which the
      // agent uses when the node does, reads and replaces tables with get/setsockopt
      // on a raw IP socket, and opening one needs CAP_NET_RAW. nftables never does.
      ...(usesIptables ? ['NET_RAW'] : []),
      // IPVS only: the agent modprobes ip_vs and its scheduler modules (from the
      // host's /lib/modules, mounted read-only), which needs CAP_SYS_MODULE.
      ...(usesIpvs ? ['SYS_MODULE'] : []),
    ];
    const sized = agentResources(props.scale ?? DEFAULT_AGENT_SCALE, this.backend, this.trafficMetrics);
    const requests = { ...sized.requests, ...props.resources?.requests };
    const limits = { ...sized.limits, ...props.resources?.limits };
    const env: k8s.EnvVar[] = [
      { name: 'NODE_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } },
      // The agent's V8 options (src/agent/node-options.ts), here too so that a custom image gets them.
      { name: 'NODE_OPTIONS', value: AGENT_NODE_OPTIONS },
      ...Object.entries(AGENT_ENV).map(([name, value]) => ({ name, value })),
    ];
    const api = props.apiServerEndpoint !== undefined ? splitHostPort(props.apiServerEndpoint) : undefined;
    if (api) env.push({ name: 'KUBERNETES_SERVICE_HOST', value: api.host }, { name: 'KUBERNETES_SERVICE_PORT', value: String(api.port) });
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
          env,
          ports: [
            { name: 'health', containerPort: splitHostPort(this.addresses.health)?.port ?? 0, protocol: 'TCP' },
            { name: 'metrics', containerPort: splitHostPort(this.addresses.metrics)?.port ?? 0, protocol: 'TCP' },
          ],
          // /livez fails only when a sync waited more than 2 x syncPeriod (60 s by
          // default): a wedged agent is restarted. It stays 200 while the agent waits
          // for an unreachable API server (nothing to sync, rules kept), so no crash loop.
          livenessProbe: { ...port('livez'), initialDelaySeconds: 15, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
          // /healthz adds node eligibility, unset sysctls and lost API watches: the
          // pod shows NotReady (and a rollout waits) without being restarted.
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
    for (const [prop, value] of [['healthAddress', this.addresses.health], ['metricsAddress', this.addresses.metrics]] as const) {
      // As kube-proxy validates its bind addresses: an IP (IPv6 bracketed) and a port 1-65535.
      if (!parseHostPortString(value)) add(`${prop}: ${JSON.stringify(value)} is not IP:PORT with a port in 1-65535 (e.g. 0.0.0.0:10356)`);
    }
    if (props.apiServerEndpoint !== undefined) {
      const hp = splitHostPort(props.apiServerEndpoint);
      if (!hp || hp.port === 0 || hp.host === '' || hp.host === '0.0.0.0' || hp.host === '::') {
        add(`apiServerEndpoint: ${JSON.stringify(props.apiServerEndpoint)} is not the API server's HOST:PORT (e.g. 10.0.0.10:6443)`);
      }
    } else if (this.mode === AgentMode.REPLACE) {
      add(
        'apiServerEndpoint: is required in REPLACE mode: the agent programs the `kubernetes` Service itself, so on a node with empty tables it cannot reach the API server through it; give the API server\'s own HOST:PORT',
      );
    }
    for (const [field, n] of [['services', props.scale?.services], ['endpoints', props.scale?.endpoints]] as const) {
      if (n !== undefined && !(Number.isSafeInteger(n) && n >= 0)) add(`scale.${field}: ${JSON.stringify(n)} is not a whole number of 0 or more`);
    }
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

/** "10.0.0.10:6443", "[fd00::10]:6443", "api.example.com:443" -> host (no brackets) and port; undefined if not HOST:PORT. */
function splitHostPort(s: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:\s]*)):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[3]);
  return port <= 65535 ? { host: m[1] ?? m[2] ?? '', port } : undefined;
}
