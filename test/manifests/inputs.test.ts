import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_PROXY_CONFIG } from '../../src/model/config.js';
import { isInputError } from '../../src/model/errors.js';
import { loadPlan, PlanSchema } from '../../src/model/plan.js';
import { collectInputs, type InputDocument } from '../../src/manifests/inputs.js';
import { loadInputs } from '../../src/manifests/load.js';

const FIX = join(import.meta.dirname, 'fixtures');
const rel = (s: string) => s.replace(`${FIX}/`, '');

type Obj = Record<string, unknown>;
let n = 0;
const doc = (object: unknown, source = `t#${++n}`): InputDocument => ({ object, source });
const svc = (name: string, spec: Obj = {}, ns = 'default'): Obj => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: ns },
  spec: { clusterIP: '10.96.0.5', ports: [{ port: 80 }], ...spec },
});

test('a cluster folder: plan, slices, node and config from every kind of input', async () => {
  const r = await loadInputs([join(FIX, 'cluster')]);
  assert.deepEqual(r.errors, []);
  assert.ok(PlanSchema.safeParse(r.plan).success);
  assert.deepEqual(r.plan.services.map((s) => `${s.namespace}/${s.name}`), ['shop/api', 'shop/web']);
  assert.deepEqual(r.plan.serviceCIDRs, ['10.96.0.0/16', 'fd00:10:96::/112']);
  assert.deepEqual(r.plan.nodePortRange, { min: 30000, max: 32767 });
  const api = r.plan.services[0]!;
  assert.deepEqual(api.clusterIPs, ['10.96.0.20', 'fd00:10:96::20']);
  assert.equal(api.ports[0]!.nodePort, 30080);
  assert.deepEqual(r.endpointSlices.map((s) => s.name), ['web-abc12']);
  assert.deepEqual(
    r.endpointSlices[0]!.endpoints.map((e) => [e.address, e.ready, e.serving, e.terminating]),
    [
      ['10.244.1.5', true, true, false],
      ['10.244.2.7', false, true, true],
    ],
  );
  assert.deepEqual(r.node, { name: 'node-a', addresses: ['192.168.1.10', 'fd00:192:168:1::10'], podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'], zone: 'zone-1' });
  assert.equal(r.config.masqueradeAll, true);
  assert.deepEqual(r.config.clusterCIDRs, ['10.244.0.0/16', 'fd00:10:244::/56']);
  assert.equal(r.config.syncPeriodSeconds, 60);
  assert.deepEqual(
    r.warnings.map(rel),
    [
      'cluster/more/cluster.json#1.items[2]: Deployment (apps/v1) shop/web is not an input svcplane reads, skipped',
      'cluster/endpointslices.yaml#1.items[1]: EndpointSlice shop/web-fqdn has addressType FQDN, which no proxy forwards to; skipped',
    ],
  );
});

test('the same inputs in any order give the same plan', async () => {
  const a = await loadInputs([join(FIX, 'cluster')]);
  const b = await loadInputs([join(FIX, 'cluster/services.yaml'), join(FIX, 'cluster/node.yaml'), join(FIX, 'cluster/more'), join(FIX, 'cluster/endpointslices.yaml')]);
  assert.deepEqual(b.plan, a.plan);
  assert.deepEqual(b.node, a.node);
});

test('a plan.json is accepted; a Service in both the plan and a manifest, identical, counts once', async () => {
  const r = await loadInputs([join(FIX, 'plan.json'), join(FIX, 'cluster/services.yaml'), join(FIX, 'cluster/more')]);
  assert.deepEqual(r.plan.services.map((s) => `${s.namespace}/${s.name}`), ['kube-system/dns', 'shop/api', 'shop/web']);
  assert.deepEqual(r.plan.serviceCIDRs, ['10.96.0.0/16', 'fd00:10:96::/112']);
  // Without the IPv6 ServiceCIDR, the dual-stack Service's IPv6 address has nowhere to come from.
  // (authoring: plan --strict); forwarding takes the address the cluster allocated.
  await assert.rejects(
    loadInputs([join(FIX, 'plan.json'), join(FIX, 'cluster/services.yaml')], { purpose: 'authoring' }),
    /spec\.clusterIPs\[1\]: must be inside a service CIDR \(10\.96\.0\.0\/16\)/,
  );
  assert.equal((await loadInputs([join(FIX, 'plan.json'), join(FIX, 'cluster/services.yaml')])).plan.services.length, 3);
  // The plan alone round-trips.
  const planDoc = JSON.parse(readFileSync(join(FIX, 'plan.json'), 'utf8'));
  assert.deepEqual(collectInputs([doc(planDoc)]).plan, loadPlan(planDoc));
});

test('a Service defined twice differently is an error naming both sources', () => {
  assert.throws(
    () => collectInputs([doc(svc('a'), 'one.yaml#1'), doc(svc('a', { clusterIP: '10.96.0.6' }), 'two.yaml#1')]),
    (e) => isInputError(e) && e.message === 'two.yaml#1: Service default/a: metadata.name: duplicate Service: also defined in one.yaml#1',
  );
  // Even identical manifests are a mistake when neither is a plan.
  assert.throws(() => collectInputs([doc(svc('a')), doc(svc('a'))]), /duplicate Service/);
});

test('two Services on one cluster IP or one node port are refused', () => {
  assert.throws(() => collectInputs([doc(svc('a'), 'a.yaml'), doc(svc('b'), 'b.yaml')]), /b\.yaml: Service default\/b: spec\.clusterIPs: 10\.96\.0\.5 is also the cluster IP of Service default\/a \(a\.yaml\)/);
  const np = (name: string, ip: string, protocol = 'TCP') => svc(name, { type: 'NodePort', clusterIP: ip, ports: [{ port: 80, protocol, nodePort: 30080 }] });
  assert.throws(() => collectInputs([doc(np('a', '10.96.0.1')), doc(np('b', '10.96.0.2'))]), /node port 30080\/TCP is also used by Service default\/a/);
  assert.equal(collectInputs([doc(np('a', '10.96.0.1')), doc(np('b', '10.96.0.2', 'UDP'))]).plan.services.length, 2);
});

test('strict (default) throws on the first bad object; strict false skips it and reports it', async () => {
  await assert.rejects(loadInputs([join(FIX, 'bad')]), (e) => isInputError(e) && /Service default\/bad: spec\.ports\[0\]\.nodePort: must be between 1 and 65535/.test(e.message));
  const r = await loadInputs([join(FIX, 'bad')], { strict: false });
  assert.deepEqual(r.plan.services.map((s) => s.name), ['good']);
  assert.equal(r.errors.length, 1);
  assert.deepEqual(r.errors[0]!.ref, { kind: 'Service', namespace: 'default', name: 'bad' });
  assert.match(r.errors[0]!.source!, /bad\/services\.yaml#2$/);
  assert.deepEqual(r.skippedServices, ['default/bad'], 'apply keeps the kernel rules of a skipped Service');
});

test('non-objects are errors; objects without kind and unknown kinds are warnings', () => {
  const r = collectInputs(
    [doc('just a string', 's#1'), doc({ nftables: [] }, 'rules.json#1'), doc({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'k' } }, 'k#1')],
    { strict: false },
  );
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0]!.message, /^s#1: \(root\): must be a Kubernetes object/);
  assert.deepEqual(r.warnings, [
    'rules.json#1: not a Kubernetes object (no kind), skipped',
    'k#1: Service (serving.knative.dev/v1) k is not an input svcplane reads, skipped',
  ]);
  assert.throws(() => collectInputs([doc(42)]), /must be a Kubernetes object/);
});

test('authoring checks Services against the ServiceCIDRs and the plan node port range; forwarding does not', () => {
  const cidr = { apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR', metadata: { name: 'k' }, spec: { cidrs: ['10.100.0.0/16'] } };
  assert.throws(() => collectInputs([doc(svc('a')), doc(cidr)], { purpose: 'authoring' }), /spec\.clusterIP: must be inside a service CIDR \(10\.100\.0\.0\/16\)/);
  const forwarded = collectInputs([doc(svc('a')), doc(cidr)]);
  assert.deepEqual(forwarded.plan.services[0]!.clusterIPs, ['10.96.0.5'], 'a live ClusterIP outside every ServiceCIDR still forwards');
  assert.deepEqual(forwarded.plan.serviceCIDRs, ['10.100.0.0/16'], 'the CIDRs still drive the DROP for unallocated addresses');
  const outside = { apiVersion: 'svcplane.io/v1alpha1', kind: 'ServicePlan', serviceCIDRs: [], nodePortRange: { min: 30000, max: 32767 }, services: [] };
  const np3001 = svc('b', { type: 'NodePort', clusterIP: '10.96.0.7', ports: [{ port: 80, nodePort: 3001 }] });
  assert.throws(() => collectInputs([doc(outside), doc(np3001)], { purpose: 'authoring' }), /spec\.ports\[0\]\.nodePort: must be in the node port range 30000-32767/);
  assert.equal(collectInputs([doc(outside), doc(np3001)]).plan.services[0]!.ports[0]!.nodePort, 3001);
  const plan = { apiVersion: 'svcplane.io/v1alpha1', kind: 'ServicePlan', serviceCIDRs: [], nodePortRange: { min: 8000, max: 9000 }, services: [] };
  const r = collectInputs([doc(plan), doc(svc('a', { type: 'NodePort', ports: [{ port: 80, nodePort: 8080 }] }))]);
  assert.equal(r.plan.services[0]!.ports[0]!.nodePort, 8080);
  assert.deepEqual(r.plan.nodePortRange, { min: 8000, max: 9000 });
  const other = { ...plan, nodePortRange: { min: 30000, max: 32767 } };
  assert.throws(() => collectInputs([doc(plan, 'p1'), doc(other, 'p2')]), /p2: ServicePlan: nodePortRange: differs from the one in p1/);
  assert.throws(() => collectInputs([doc({ ...plan, apiVersion: 'svcplane.io/v9' })]), /unsupported plan version "svcplane\.io\/v9"/);
});

test('warnings for what the API server would allocate, only for Services a proxy could own', () => {
  const r = collectInputs([
    doc(svc('a', { clusterIP: undefined, type: 'NodePort', ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81, nodePort: 30081 }] }), 'a#1'),
    doc({ ...svc('other', { clusterIP: undefined }), metadata: { name: 'other', labels: { 'service.kubernetes.io/service-proxy-name': 'cilium' } } }),
  ]);
  assert.deepEqual(r.warnings, [
    'a#1: Service default/a has no clusterIP; the API server would allocate one, so no rules match its cluster IP',
    'a#1: Service default/a: port 80/TCP has no nodePort; the API server would allocate one, so no node port rule is rendered',
  ]);
});

test('EndpointSlices: sorted, duplicates refused, bad ones skipped when not strict', () => {
  const es = (name: string, ns = 'shop', more: Obj = {}) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.244.0.1'] }],
    ...more,
  });
  const r = collectInputs([doc(es('b')), doc(es('a', 'x')), doc(es('a')), doc(es('c', 'shop', { addressType: 'IPX' }))], { strict: false });
  assert.deepEqual(r.endpointSlices.map((s) => `${s.namespace}/${s.name}`), ['shop/a', 'shop/b', 'x/a']);
  assert.equal(r.errors.length, 1);
  // The bad slice's Service (its kubernetes.io/service-name label) is named for apply to preserve.
  assert.deepEqual(r.skippedServices, ['shop/web']);
  assert.throws(() => collectInputs([doc(es('a'), 'e1'), doc(es('a'), 'e2')]), /e2: EndpointSlice shop\/a: metadata\.name: duplicate EndpointSlice: also defined in e1/);
});

test('node choice: --node-name, else hostnameOverride, else the only Node; --node-ip overrides', () => {
  const node = (name: string, ip: string) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name }, status: { addresses: [{ type: 'InternalIP', address: ip }] } });
  const a = doc(node('a', '10.0.0.1'));
  const b = doc(node('b', '10.0.0.2'));
  const config = doc({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', hostnameOverride: ' B ' });
  assert.equal(collectInputs([a]).node.name, 'a');
  assert.equal(collectInputs([a, b], { nodeName: 'a' }).node.addresses[0], '10.0.0.1');
  assert.equal(collectInputs([a, b, config]).node.name, 'b');
  assert.equal(collectInputs([a, b, config], { nodeName: 'a' }).node.name, 'a');
  assert.throws(() => collectInputs([a, b]), /--node-name: several Nodes given \(a, b\): choose one with --node-name/);
  const missing = collectInputs([a], { nodeName: 'z' });
  assert.deepEqual(missing.node, { name: 'z', addresses: [], podCIDRs: [] });
  assert.match(missing.warnings[0]!, /no Node named "z" among the inputs \(a\)/);
  assert.deepEqual(collectInputs([a], { nodeIPs: ['FD00::1', '192.168.0.9'] }).node, { name: 'a', addresses: ['fd00::1', '192.168.0.9'], podCIDRs: [] });
  assert.deepEqual(collectInputs([], { nodeIPs: ['192.168.0.9'] }).node, { name: '', addresses: ['192.168.0.9'], podCIDRs: [] });
  assert.throws(() => collectInputs([], { nodeIPs: ['nope'] }), /--node-ip: "nope" is not an IP address/);
});

test('no inputs at all: an empty plan, defaults everywhere', () => {
  const r = collectInputs([]);
  assert.deepEqual(r.plan, { apiVersion: 'svcplane.io/v1alpha1', kind: 'ServicePlan', serviceCIDRs: [], nodePortRange: { min: 30000, max: 32767 }, services: [] });
  assert.deepEqual(r.config, DEFAULT_PROXY_CONFIG);
  assert.deepEqual(r.node, { name: '', addresses: [], podCIDRs: [] });
});

test('a second KubeProxyConfiguration is an error', () => {
  const c = { apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration' };
  assert.throws(() => collectInputs([doc(c, 'c1'), doc(c, 'c2')]), /c2: KubeProxyConfiguration: \(root\): only one KubeProxyConfiguration may be given; the first is c1/);
});
