// NodeAgent: the DaemonSet, the RBAC and the kube-proxy ConfigMap it emits, checked
// against the Kubernetes schema and for what the agent needs and no more.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { App, Chart } from 'cdk8s';
import { parse } from 'yaml';
import {
  AgentBackend,
  AgentMode,
  TrafficMetrics,
  NODE_AGENT_DEFAULT_RESOURCES,
  NODE_AGENT_RULES,
  agentMemoryMiB,
  agentPeakMiB,
  NodeAgent,
  type NodeAgentProps,
  SvcplaneApp,
  SvcplaneSynthError,
} from '../../src/constructs/index.js';
import { AGENT_ENV, AGENT_NODE_OPTIONS } from '../../src/agent/node-options.js';
import { TRAFFIC_METRICS_LEVELS } from '../../src/agent/traffic-metrics.js';
import { buildExampleApp } from '../../src/example-app.js';
import { proxyConfigFromObject } from '../../src/manifests/proxy-config.js';
import { appAndChart, errorOf, manifests, type Manifest } from './helpers.js';
import { assertValidManifest } from './k8s-schema.js';

const IMAGE = 'ghcr.io/example/svcplane:0.1.0';

/** The agent's manifests, in an app with the given props, in a chart of namespace `ns`. */
function agentManifests(props: Partial<NodeAgentProps> = {}, appProps = {}, ns?: string): { ms: Manifest[]; agent: NodeAgent; app: SvcplaneApp } {
  const app = new SvcplaneApp({ outdir: '/nonexistent-svcplane-test', ...appProps });
  const chart = new Chart(app, 'agent-chart', ns ? { namespace: ns } : {});
  const agent = new NodeAgent(chart, 'agent', { image: IMAGE, ...props });
  return { ms: manifests(app, chart), agent, app };
}

function only(ms: readonly Manifest[], kind: string): Manifest {
  const found = ms.filter((m) => m.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0]!;
}

function container(ms: readonly Manifest[]): any {
  return only(ms, 'DaemonSet').spec!.template.spec.containers[0];
}

test('the example app: the agent objects pass the schema, and the only plan ConfigMap is the app’s', () => {
  const app = buildExampleApp({ outdir: '/nonexistent-svcplane-test' });
  app.check();
  const agentChart = app.charts.find((c) => c.node.id === 'svcplane-agent')!;
  const ms = agentChart.toJson() as Manifest[];
  assert.deepEqual(ms.map((m) => m.kind).sort(), ['ClusterRole', 'ClusterRoleBinding', 'DaemonSet', 'ServiceAccount']);
  for (const m of ms) assertValidManifest(m);
  const all = app.charts.flatMap((c) => c.toJson() as Manifest[]);
  assert.deepEqual(all.filter((m) => m.kind === 'ConfigMap').map((m) => `${m.metadata.namespace}/${m.metadata.name}`), ['kube-system/svcplane-plan']);
  const c = container(ms);
  assert.equal(c.image, 'registry.example.com/svcplane:0.1.0');
  assert.deepEqual(c.args.slice(0, 3), ['agent', '--backend', 'nftables']);
});

test('every backend, with a kube-proxy config, passes the schema (a misspelt field would not)', () => {
  for (const backend of Object.values(AgentBackend)) {
    const { ms } = agentManifests({ backend, mode: AgentMode.REPLACE, apiServerEndpoint: '10.0.0.10:6443', kubeProxyConfig: { clusterCIDR: '10.244.0.0/16' } }, {}, 'ignored');
    assert.equal(ms.length, 5);
    for (const m of ms) assertValidManifest(m);
  }
  const { ms } = agentManifests();
  const ds = structuredClone(only(ms, 'DaemonSet')) as any;
  ds.spec.template.spec.containers[0].securityContext.capabilities.adds = ['NET_ADMIN'];
  assert.throws(() => assertValidManifest(ds), /containers\[0\]\.securityContext\.capabilities\.adds: not a field/);
});

test('the ClusterRole is exactly get/list/watch on services, nodes, endpointslices and servicecidrs', () => {
  const { ms } = agentManifests({}, {}, 'apps');
  const role = only(ms, 'ClusterRole');
  assert.deepEqual(role.rules, [
    { apiGroups: [''], resources: ['services', 'nodes'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['networking.k8s.io'], resources: ['servicecidrs'], verbs: ['get', 'list', 'watch'] },
  ]);
  assert.deepEqual(role.rules, NODE_AGENT_RULES);
  // Cluster-scoped objects carry no namespace, even in a chart that has one.
  assert.equal(role.metadata.namespace, undefined);
  const binding = only(ms, 'ClusterRoleBinding');
  assert.equal(binding.metadata.namespace, undefined);
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
  const sa = only(ms, 'ServiceAccount');
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: 'kube-system' }]);
  const pod = only(ms, 'DaemonSet').spec!.template.spec;
  assert.equal(pod.serviceAccountName, sa.metadata.name);
  assert.equal(sa.metadata.namespace, 'kube-system');
});

test('the DaemonSet mounts the plan ConfigMap SvcplaneApp emits, in its namespace', () => {
  for (const appProps of [{}, { planNamespace: 'svcplane-system', planConfigMapName: 'routes' }]) {
    const { ms, app } = agentManifests({}, appProps);
    const plan = app.planChart.toJson().find((m: Manifest) => m.kind === 'ConfigMap') as Manifest;
    const ds = only(ms, 'DaemonSet');
    assert.equal(ds.metadata.namespace, plan.metadata.namespace);
    const pod = ds.spec!.template.spec;
    const config = pod.volumes.find((v: any) => v.name === 'config');
    assert.deepEqual(config.projected.sources, [{ configMap: { name: plan.metadata.name, items: [{ key: 'plan.json', path: 'plan.json' }] } }]);
    assert.deepEqual(pod.containers[0].volumeMounts[0], { name: 'config', mountPath: '/etc/svcplane', readOnly: true });
    assert.ok(pod.containers[0].args.join(' ').includes('--plan /etc/svcplane/plan.json'));
    assert.equal(ms.filter((m) => m.kind === 'ConfigMap').length, 0, 'no second plan ConfigMap');
  }
});

test('capabilities and host mounts per backend: only what each backend uses, never privileged', () => {
  const want = {
    [AgentBackend.NFTABLES]: { caps: ['NET_ADMIN'], hostPaths: [] },
    [AgentBackend.IPTABLES]: { caps: ['NET_ADMIN', 'NET_RAW'], hostPaths: ['/run/xtables.lock'] },
    [AgentBackend.IPVS]: { caps: ['NET_ADMIN', 'NET_RAW', 'SYS_MODULE'], hostPaths: ['/run/xtables.lock', '/lib/modules'] },
  };
  for (const [backend, w] of Object.entries(want)) {
    const { ms } = agentManifests({ backend: backend as AgentBackend });
    const c = container(ms);
    assert.deepEqual(c.securityContext, { privileged: false, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: w.caps } }, backend);
    const pod = only(ms, 'DaemonSet').spec!.template.spec;
    const hostPaths = pod.volumes.filter((v: any) => v.hostPath).map((v: any) => v.hostPath.path);
    assert.deepEqual(hostPaths, w.hostPaths, backend);
    for (const v of pod.volumes.filter((x: any) => x.hostPath)) {
      const mount = c.volumeMounts.find((m: any) => m.name === v.name);
      assert.equal(mount.mountPath, v.hostPath.path);
      assert.equal(mount.readOnly, v.hostPath.path === '/lib/modules' ? true : undefined);
    }
    if (backend !== AgentBackend.NFTABLES) {
      assert.equal(pod.volumes.find((v: any) => v.name === 'xtables-lock').hostPath.type, 'FileOrCreate');
    }
  }
});

test('args follow the props; the node name comes from the downward API', () => {
  const { ms } = agentManifests();
  const c = container(ms);
  assert.deepEqual(c.command, ['svcplane']);
  assert.deepEqual(c.args, [
    'agent',
    '--backend', 'nftables',
    '--mode', 'coexist',
    '--plan', '/etc/svcplane/plan.json',
    '--node-name', '$(NODE_NAME)',
    '--health-addr', '0.0.0.0:10356',
    '--metrics-addr', '127.0.0.1:10349',
  ]);
  assert.deepEqual(c.env, [
    { name: 'NODE_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } },
    { name: 'NODE_OPTIONS', value: AGENT_NODE_OPTIONS },
    ...Object.entries(AGENT_ENV).map(([name, value]) => ({ name, value })),
  ]);
  const ipvs = container(agentManifests({ backend: AgentBackend.IPVS, mode: AgentMode.REPLACE, apiServerEndpoint: '10.0.0.10:6443' }).ms);
  assert.deepEqual(ipvs.args.slice(0, 5), ['agent', '--backend', 'ipvs', '--mode', 'replace']);
  assert.ok(!ipvs.args.includes('--config'));
});

test('trafficMetrics: the default writes no flag (the manifests stay as they were); the others pass --traffic-metrics', () => {
  assert.ok(!container(agentManifests({}).ms).args.includes('--traffic-metrics'));
  assert.ok(!container(agentManifests({ trafficMetrics: TrafficMetrics.ENDPOINTS }).ms).args.includes('--traffic-metrics'));
  for (const level of [TrafficMetrics.SERVICES, TrafficMetrics.OFF]) {
    const args = container(agentManifests({ trafficMetrics: level }).ms).args;
    assert.deepEqual(args.slice(-2), ['--traffic-metrics', level]);
  }
  assert.deepEqual(Object.values(TrafficMetrics).sort(), [...TRAFFIC_METRICS_LEVELS].sort(), 'every level is one the agent takes');
});

test('the pod: host network, cluster DNS, node-critical, every taint tolerated, probes on the health port', () => {
  const { ms } = agentManifests();
  const ds = only(ms, 'DaemonSet');
  assert.deepEqual(ds.metadata.labels, { 'app.kubernetes.io/name': 'svcplane-agent', 'app.kubernetes.io/component': 'node-agent' });
  assert.deepEqual(ds.spec!.selector.matchLabels, ds.spec!.template.metadata.labels);
  assert.deepEqual(ds.spec!.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } });
  const pod = ds.spec!.template.spec;
  assert.equal(pod.hostNetwork, true);
  assert.equal(pod.dnsPolicy, 'ClusterFirstWithHostNet');
  assert.equal(pod.priorityClassName, 'system-node-critical');
  assert.deepEqual(pod.tolerations, [{ operator: 'Exists' }]);
  const c = pod.containers[0];
  assert.deepEqual(c.ports, [
    { name: 'health', containerPort: 10356, protocol: 'TCP' },
    { name: 'metrics', containerPort: 10349, protocol: 'TCP' },
  ]);
  assert.deepEqual(c.livenessProbe.httpGet, { path: '/livez', port: 'health' });
  assert.deepEqual(c.readinessProbe.httpGet, { path: '/healthz', port: 'health' });
  assert.deepEqual(c.resources, { requests: { ...NODE_AGENT_DEFAULT_RESOURCES.requests }, limits: { ...NODE_AGENT_DEFAULT_RESOURCES.limits } });

  const custom = agentManifests({
    resources: { requests: { cpu: '250m' }, limits: { cpu: '1', memory: '512Mi' } },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'net', effect: 'NoSchedule' }],
    priorityClassName: 'infra',
  }).ms;
  const p2 = only(custom, 'DaemonSet').spec!.template.spec;
  assert.deepEqual(p2.containers[0].resources, { requests: { cpu: '250m', memory: NODE_AGENT_DEFAULT_RESOURCES.requests.memory }, limits: { cpu: '1', memory: '512Mi' } });
  assert.deepEqual(p2.tolerations, [{ key: 'dedicated', operator: 'Equal', value: 'net', effect: 'NoSchedule' }]);
  assert.equal(p2.priorityClassName, 'infra');
});

test('kubeProxyConfig: its own ConfigMap beside the plan, read back by the agent’s parser, a new one rolls the pods', () => {
  const { ms, agent } = agentManifests({ backend: AgentBackend.IPTABLES, kubeProxyConfig: { clusterCIDR: '10.244.0.0/16', iptables: { masqueradeBit: 15 } } });
  const cm = ms.find((m) => m.kind === 'ConfigMap')!;
  assert.equal(cm.metadata.name, 'svcplane-agent-config');
  assert.equal(cm.metadata.namespace, 'kube-system');
  assert.equal(agent.configMap?.name, 'svcplane-agent-config');
  const doc = parse(cm.data['kube-proxy-config.yaml']);
  assert.equal(doc.apiVersion, 'kubeproxy.config.k8s.io/v1alpha1');
  assert.equal(doc.kind, 'KubeProxyConfiguration');
  assert.equal(doc.mode, 'iptables');
  const parsed = proxyConfigFromObject(doc);
  assert.deepEqual(parsed.clusterCIDRs, ['10.244.0.0/16']);
  assert.equal(parsed.masqueradeBit, 15);

  const ds = only(ms, 'DaemonSet');
  const pod = ds.spec!.template.spec;
  assert.deepEqual(pod.volumes[0].projected.sources[1], {
    configMap: { name: 'svcplane-agent-config', items: [{ key: 'kube-proxy-config.yaml', path: 'kube-proxy-config.yaml' }] },
  });
  const args: string[] = pod.containers[0].args;
  assert.equal(args[args.indexOf('--config') + 1], '/etc/svcplane/kube-proxy-config.yaml');

  const hash = (config: Record<string, unknown>): string =>
    only(agentManifests({ kubeProxyConfig: config }).ms, 'DaemonSet').spec!.template.metadata.annotations['svcplane.io/kube-proxy-config-hash'];
  assert.equal(hash({ clusterCIDR: '10.244.0.0/16' }), hash({ clusterCIDR: '10.244.0.0/16' }));
  assert.notEqual(hash({ clusterCIDR: '10.244.0.0/16' }), hash({ clusterCIDR: '10.245.0.0/16' }));
  assert.equal(only(agentManifests().ms, 'DaemonSet').spec!.template.metadata.annotations, undefined);
});

test('bad props fail synth, every problem at once, each naming the construct path', () => {
  const { app, chart } = appAndChart();
  new NodeAgent(chart, 'agent', {
    image: ' ',
    namespace: 'Kube_System',
    resources: { requests: { memory: '64 MB' } },
    kubeProxyConfig: { mode: 'ipvs', clusterCIDR: 'not-a-cidr' },
  });
  let err: unknown;
  try {
    app.check();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof SvcplaneSynthError);
  assert.equal(err.exitCode, 2);
  const lines = err.message.split('\n').slice(1).map((l) => l.trim());
  assert.equal(lines.length, 5, err.message);
  assert.ok(lines.every((l) => l.startsWith('[chart/agent] ')), err.message);
  assert.match(err.message, /image: must not be empty/);
  assert.match(err.message, /namespace: "Kube_System"/);
  assert.match(err.message, /resources\.requests\.memory: "64 MB" is not a quantity/);
  assert.match(err.message, /kubeProxyConfig\.mode: is "ipvs" but the agent's backend is "nftables"/);
  assert.match(err.message, /kubeProxyConfig\.clusterCIDR: "not-a-cidr" must be a valid CIDR/);
});

test('the agent must live beside the plan: another namespace is an error, as is no plan ConfigMap at all', () => {
  const { app, chart } = appAndChart();
  new NodeAgent(chart, 'agent', { image: IMAGE, namespace: 'svcplane' });
  assert.match(errorOf(() => app.check()), /\[chart\/agent\] namespace: is "svcplane" but the plan ConfigMap is in "kube-system"/);

  const plain = new App({ outdir: '/nonexistent-svcplane-test' });
  const c = new Chart(plain, 'c');
  assert.match(errorOf(() => new NodeAgent(c, 'agent', { image: IMAGE })), /\[c\/agent\] planConfigMap: is required outside a SvcplaneApp/);
  // With the plan ConfigMap given, a plain cdk8s App works too.
  const withPlan = new SvcplaneApp({ outdir: '/nonexistent-svcplane-test' });
  const agent = new NodeAgent(c, 'agent2', { image: IMAGE, planConfigMap: withPlan.planConfigMap });
  assert.equal(agent.namespace, 'kube-system');
  assert.deepEqual(agent.node.validate(), []);
});

test('ports: COEXIST defaults stay off kube-proxy\'s 10256/10249, REPLACE takes them; kubeProxyConfig bind addresses apply; props win', () => {
  const ports = (c: any) => [c.args[c.args.indexOf('--health-addr') + 1], c.args[c.args.indexOf('--metrics-addr') + 1], ...c.ports.map((p: any) => p.containerPort)];
  assert.deepEqual(ports(container(agentManifests().ms)), ['0.0.0.0:10356', '127.0.0.1:10349', 10356, 10349]);
  const replace = { mode: AgentMode.REPLACE, apiServerEndpoint: '10.0.0.10:6443' };
  assert.deepEqual(ports(container(agentManifests(replace).ms)), ['0.0.0.0:10256', '127.0.0.1:10249', 10256, 10249]);
  const kpc = { kubeProxyConfig: { healthzBindAddress: '0.0.0.0:12256', metricsBindAddress: '127.0.0.1:12249' } };
  assert.deepEqual(ports(container(agentManifests(kpc).ms)), ['0.0.0.0:12256', '127.0.0.1:12249', 12256, 12249]);
  const both = { ...kpc, healthAddress: '0.0.0.0:13256', metricsAddress: '0.0.0.0:13249' };
  assert.deepEqual(ports(container(agentManifests(both).ms)), ['0.0.0.0:13256', '0.0.0.0:13249', 13256, 13249]);
});

test('apiServerEndpoint: KUBERNETES_SERVICE_HOST/PORT on the container (IPv6 without brackets); required in REPLACE mode', () => {
  const env = (props: Partial<NodeAgentProps>) => container(agentManifests(props).ms).env.filter((e: any) => e.name.startsWith('KUBERNETES_'));
  assert.deepEqual(env({ apiServerEndpoint: '10.0.0.10:6443' }), [
    { name: 'KUBERNETES_SERVICE_HOST', value: '10.0.0.10' },
    { name: 'KUBERNETES_SERVICE_PORT', value: '6443' },
  ]);
  assert.deepEqual(env({ mode: AgentMode.REPLACE, apiServerEndpoint: '[fd00::10]:443' }).map((e: any) => e.value), ['fd00::10', '443']);
  assert.deepEqual(env({}), [], 'coexist: the kubernetes Service, programmed by kube-proxy');
  const missing = errorOf(() => agentManifests({ mode: AgentMode.REPLACE }).app.check());
  assert.match(missing, /apiServerEndpoint: is required in REPLACE mode/);
  const bad = errorOf(() => agentManifests({ apiServerEndpoint: '10.0.0.10', healthAddress: 'localhost', metricsAddress: '0.0.0.0:70000' }).app.check());
  assert.match(bad, /apiServerEndpoint: "10.0.0.10" is not the API server's HOST:PORT/);
  assert.match(bad, /healthAddress: "localhost" is not IP:PORT/);
  assert.match(bad, /metricsAddress: "0.0.0.0:70000" is not IP:PORT/);
});

test('memory: scraped (the default), the expected peak covers the peaks measured with three scrapes of /metrics (src/agent/README.md "Session 21", e3c441c)', () => {
  // [backend, Services, endpoints, VmHWM in MiB through the first sync, a resync, 1000 changes and three scrapes: the larger of offline and API mode]
  const measured: Array<[AgentBackend, number, number, number]> = [
    [AgentBackend.NFTABLES, 10_000, 100_000, 127],
    [AgentBackend.NFTABLES, 44_000, 44_000, 195],
    [AgentBackend.IPTABLES, 10_000, 100_000, 140],
    [AgentBackend.IPTABLES, 44_000, 44_000, 238],
  ];
  for (const [backend, services, endpoints, peak] of measured) {
    for (const level of [TrafficMetrics.ENDPOINTS, TrafficMetrics.SERVICES]) {
      const expected = agentPeakMiB({ services, endpoints }, backend, level);
      assert.ok(expected >= peak * 1.04, `${backend} ${services} x ${endpoints / services} (${level}): request ${expected} MiB not 4 % over the measured ${peak} MiB`);
      assert.ok(agentMemoryMiB(services, { endpoints, backend, trafficMetrics: level }) >= 1.25 * peak, `${backend} ${services}: limit without headroom`);
    }
  }
  // What a NodeAgent asks for follows its level: less without scrapes, never less than the unscraped peaks (next test).
  const mib = (q: string) => Number(/^(\d+)Mi$/.exec(q)![1]);
  const at44k = (trafficMetrics: TrafficMetrics) => container(agentManifests({ scale: { services: 44_000, endpoints: 44_000 }, trafficMetrics }).ms).resources;
  assert.equal(mib(at44k(TrafficMetrics.ENDPOINTS).requests.memory), agentPeakMiB({ services: 44_000, endpoints: 44_000 }, 'nftables'));
  assert.ok(mib(at44k(TrafficMetrics.OFF).limits.memory) < mib(at44k(TrafficMetrics.ENDPOINTS).limits.memory));
});

test('memory: the expected peak (the request) covers every peak the bench measured (BENCHMARKS.md at 18f1432)', () => {
  // [backend, Services, endpoints, measured VmHWM in MiB: the larger of offline and API mode,
  // of the first sync, the resync and 1000 changes (bench/results.json's KiB / 1024, rounded up)]
  const measured: Array<[AgentBackend, number, number, number]> = [
    [AgentBackend.NFTABLES, 2, 20, 60],
    [AgentBackend.NFTABLES, 1000, 10_000, 87],
    [AgentBackend.NFTABLES, 10_000, 100_000, 118],
    [AgentBackend.NFTABLES, 44_000, 44_000, 136],
    [AgentBackend.IPTABLES, 2, 20, 61],
    [AgentBackend.IPTABLES, 1000, 10_000, 85],
    [AgentBackend.IPTABLES, 10_000, 100_000, 142],
    [AgentBackend.IPTABLES, 44_000, 44_000, 178],
  ];
  // Without scrapes (trafficMetrics off), and so with them too.
  for (const [backend, services, endpoints, peak] of measured) {
    for (const level of ['off', 'endpoints'] as const) {
      const expected = agentPeakMiB({ services, endpoints }, backend, level);
      assert.ok(expected >= peak, `${backend} ${services} x ${endpoints / services} (${level}): request ${expected} MiB under the measured ${peak} MiB`);
      assert.ok(agentMemoryMiB(services, { endpoints, backend, trafficMetrics: level }) >= 1.25 * peak - 1, `${backend} ${services}: limit without headroom`);
    }
  }
});

test('memory: requests and limits follow the backend and the scale; the limit is 25 % over the expected peak', () => {
  const mib = (q: string) => Number(/^(\d+)Mi$/.exec(q)![1]);
  const resources = (props: Partial<NodeAgentProps>) => container(agentManifests(props).ms).resources;
  // The default: 2,000 Services of 10 endpoints, nftables.
  const d = resources({});
  assert.deepEqual(d, { requests: { ...NODE_AGENT_DEFAULT_RESOURCES.requests }, limits: { ...NODE_AGENT_DEFAULT_RESOURCES.limits } });
  assert.equal(mib(d.requests.memory), agentPeakMiB({ services: 2000 }));
  assert.equal(mib(d.limits.memory), agentMemoryMiB(2000));
  assert.ok(mib(d.limits.memory) >= 1.25 * mib(d.requests.memory));
  // iptables keeps more per Service than nftables (every chain's rules as text); IPVS is sized like it.
  const ipt = resources({ backend: AgentBackend.IPTABLES, scale: { services: 10_000 } });
  const nft = resources({ scale: { services: 10_000 } });
  assert.equal(mib(ipt.limits.memory), agentMemoryMiB(10_000, { backend: AgentBackend.IPTABLES }));
  assert.ok(mib(ipt.limits.memory) > mib(nft.limits.memory));
  assert.ok(mib(nft.limits.memory) > mib(d.limits.memory));
  // Endpoints count apart from Services: 44k Services of one endpoint each.
  assert.ok(agentMemoryMiB(44_000, { endpoints: 44_000 }) < agentMemoryMiB(44_000));
  // resources wins over the sizing.
  assert.deepEqual(resources({ scale: { services: 10_000 }, resources: { limits: { memory: '1Gi' } } }).limits, { memory: '1Gi' });
  const bad = errorOf(() => agentManifests({ scale: { services: -1, endpoints: 1.5 } }).app.check());
  assert.match(bad, /scale\.services: -1 is not a whole number of 0 or more/);
  assert.match(bad, /scale\.endpoints: 1\.5 is not a whole number of 0 or more/);
});
