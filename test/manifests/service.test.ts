import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isInputError, type InputError } from '../../src/model/errors.js';
import { PlanServiceSchema } from '../../src/model/plan.js';
import { LOAD_BALANCER_INGRESS_ANNOTATION, serviceToPlan } from '../../src/manifests/service.js';

test('a minimal Service gets the API defaults', () => {
  const s = serviceToPlan({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { clusterIP: '10.96.0.10', ports: [{ port: 80 }] } });
  assert.deepEqual(s, {
    namespace: 'default',
    name: 'web',
    type: 'ClusterIP',
    headless: false,
    clusterIPs: ['10.96.0.10'],
    ipFamilies: ['IPv4'],
    ipFamilyPolicy: 'SingleStack',
    ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 80 }],
    selector: null,
    externalIPs: [],
    loadBalancerIngress: [],
    loadBalancerSourceRanges: [],
    sessionAffinity: { type: 'None' },
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    publishNotReadyAddresses: false,
  });
  assert.ok(PlanServiceSchema.safeParse(s).success);
});

test('addresses and CIDRs become canonical; ports, IPs and ranges are sorted', () => {
  const s = serviceToPlan({
    metadata: { name: 'lb', namespace: 'shop', labels: { 'service.kubernetes.io/service-proxy-name': 'svcplane' } },
    spec: {
      type: 'LoadBalancer',
      clusterIP: 'FD00:0:0:0::0A',
      clusterIPs: ['FD00:0:0:0::0A', '10.96.0.10'],
      ipFamilyPolicy: 'PreferDualStack',
      selector: { tier: 'front', app: 'shop' },
      ports: [
        { name: 'https', port: 443, targetPort: 'https', nodePort: 30443, appProtocol: 'https' },
        { name: 'dns-udp', port: 53, protocol: 'UDP', nodePort: 30053 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', nodePort: 30054 },
      ],
      externalIPs: ['2001:db8:0::1', '192.0.2.20', '192.0.2.3', '192.0.2.3'],
      loadBalancerSourceRanges: ['2001:DB8::/32', '10.1.2.3/8', '10.0.0.0/8'],
      sessionAffinity: 'ClientIP',
      externalTrafficPolicy: 'Local',
      healthCheckNodePort: 32000,
    },
    status: { loadBalancer: { ingress: [{ ip: '198.51.100.7', ipMode: 'Proxy' }, { hostname: 'lb.example.com' }] } },
  });
  assert.equal(s.proxyName, 'svcplane');
  assert.deepEqual(s.clusterIPs, ['fd00::a', '10.96.0.10']);
  assert.deepEqual(s.ipFamilies, ['IPv6', 'IPv4']);
  assert.equal(s.ipFamilyPolicy, 'PreferDualStack');
  assert.deepEqual(Object.keys(s.selector!), ['app', 'tier']);
  assert.deepEqual(
    s.ports.map((p) => `${p.port}/${p.protocol}`),
    ['53/TCP', '53/UDP', '443/TCP'],
  );
  assert.deepEqual(s.ports[2], { name: 'https', protocol: 'TCP', port: 443, targetPort: 'https', nodePort: 30443, appProtocol: 'https' });
  assert.deepEqual(s.externalIPs, ['192.0.2.3', '192.0.2.20', '2001:db8::1']);
  assert.deepEqual(s.loadBalancerSourceRanges, ['10.0.0.0/8', '2001:db8::/32']);
  assert.deepEqual(s.loadBalancerIngress, [{ ip: '198.51.100.7', ipMode: 'Proxy' }]);
  assert.deepEqual(s.sessionAffinity, { type: 'ClientIP', timeoutSeconds: 10800 });
  assert.equal(s.externalTrafficPolicy, 'Local');
  assert.equal(s.healthCheckNodePort, 32000);
  assert.equal(s.allocateLoadBalancerNodePorts, true);
  assert.ok(PlanServiceSchema.safeParse(s).success);
});

test('load-balancer ingress from the annotation is VIP; status wins for the same address', () => {
  const s = serviceToPlan({
    metadata: { name: 'lb', annotations: { [LOAD_BALANCER_INGRESS_ANNOTATION]: ' 203.0.113.9, 198.51.100.7 ,2001:db8::00:7' } },
    spec: { type: 'LoadBalancer', clusterIP: '10.96.0.11', ports: [{ port: 80 }], allocateLoadBalancerNodePorts: false },
    status: { loadBalancer: { ingress: [{ ip: '198.51.100.7', ipMode: 'Proxy' }] } },
  });
  assert.deepEqual(s.loadBalancerIngress, [
    { ip: '198.51.100.7', ipMode: 'Proxy' },
    { ip: '203.0.113.9', ipMode: 'VIP' },
    { ip: '2001:db8::7', ipMode: 'VIP' },
  ]);
  assert.equal(s.allocateLoadBalancerNodePorts, false);
  assert.equal(LOAD_BALANCER_INGRESS_ANNOTATION, 'svcplane.io/load-balancer-ingress');
});

test('topologyMode comes from the topology-mode annotation, else the older hints one', () => {
  const base = { spec: { clusterIP: '10.96.0.4', ports: [{ port: 80 }] } };
  assert.equal(serviceToPlan({ ...base, metadata: { name: 'a', annotations: { 'service.kubernetes.io/topology-mode': 'Auto' } } }).topologyMode, 'Auto');
  assert.equal(serviceToPlan({ ...base, metadata: { name: 'a', annotations: { 'service.kubernetes.io/topology-aware-hints': 'auto' } } }).topologyMode, 'auto');
  assert.equal(serviceToPlan({ ...base, metadata: { name: 'a' } }).topologyMode, undefined);
});

test('headless and ExternalName Services carry no cluster IPs', () => {
  const h = serviceToPlan({ metadata: { name: 'h' }, spec: { clusterIP: 'None', selector: { app: 'db' } } });
  assert.equal(h.headless, true);
  assert.deepEqual(h.clusterIPs, []);
  assert.deepEqual(h.ports, []);
  const e = serviceToPlan({ metadata: { name: 'e', namespace: 'x' }, spec: { type: 'ExternalName', externalName: 'db.example.com' } });
  assert.equal(e.type, 'ExternalName');
  assert.equal(e.externalName, 'db.example.com');
  assert.deepEqual(e.clusterIPs, []);
  assert.deepEqual(e.ipFamilies, []);
  assert.ok(PlanServiceSchema.safeParse(e).success);
});

test('a Service with no clusterIP yet keeps the families it asked for', () => {
  const s = serviceToPlan({ metadata: { name: 'a' }, spec: { ipFamilies: ['IPv6'], ports: [{ port: 80 }] } });
  assert.deepEqual(s.clusterIPs, []);
  assert.deepEqual(s.ipFamilies, ['IPv6']);
});

test('ClientIP affinity keeps its timeout; an empty selector means none', () => {
  const s = serviceToPlan({
    metadata: { name: 'a' },
    spec: { clusterIP: '10.96.0.3', selector: {}, ports: [{ port: 80 }], sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } },
  });
  assert.deepEqual(s.sessionAffinity, { type: 'ClientIP', timeoutSeconds: 60 });
  assert.equal(s.selector, null);
});

test('an invalid Service throws an InputError naming it, the source and every field', () => {
  let err: InputError | undefined;
  try {
    serviceToPlan({ metadata: { name: 'web', namespace: 'shop' }, spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 80 }, { port: 80 }] } }, 'svc.yaml#2');
  } catch (e) {
    if (isInputError(e)) err = e;
  }
  assert.ok(err, 'expected an InputError');
  assert.deepEqual(err.ref, { kind: 'Service', namespace: 'shop', name: 'web' });
  assert.equal(err.source, 'svc.yaml#2');
  assert.equal(err.exitCode, 2);
  assert.deepEqual(
    err.issues.map((i) => i.field),
    ['spec.ports[0].name', 'spec.ports[0].nodePort', 'spec.ports[1].name', 'spec.ports[1]'],
  );
  assert.match(err.message, /^svc\.yaml#2: Service shop\/web: spec\.ports\[0\]\.name: is required .*; spec\.ports\[0\]\.nodePort: must be in the node port range 30000-32767; /);
});

test('options reach validation: node port range and service CIDRs', () => {
  const obj = { metadata: { name: 'a' }, spec: { type: 'NodePort', clusterIP: '10.0.0.5', ports: [{ port: 80, nodePort: 8080 }] } };
  assert.throws(() => serviceToPlan(obj), /node port range/);
  assert.equal(serviceToPlan(obj, undefined, { nodePortRange: { min: 8000, max: 9000 } }).ports[0]!.nodePort, 8080);
  assert.throws(() => serviceToPlan(obj, 'x', { nodePortRange: { min: 8000, max: 9000 }, serviceCIDRs: ['10.96.0.0/12'] }), /service CIDR/);
});

test("a plan Service's keys are in the schema's order, whichever optional keys it has", () => {
  // toPlanService builds the usual Service as one literal and the others key by key; the
  // plan's JSON (and its digest) follow the key order, so both must give the schema's order.
  const order = Object.keys(PlanServiceSchema.shape);
  const optional = {
    proxyName: (m: Record<string, unknown>) => ({ ...m, labels: { 'service.kubernetes.io/service-proxy-name': 'svcplane' } }),
    loadBalancerClass: (m: Record<string, unknown>) => m,
    healthCheckNodePort: (m: Record<string, unknown>) => m,
    topologyMode: (m: Record<string, unknown>) => ({ ...m, annotations: { 'service.kubernetes.io/topology-mode': 'Auto' } }),
  };
  // Every subset of four optional groups, on a LoadBalancer (class, health check port) or a ClusterIP.
  for (let mask = 0; mask < 16; mask++) {
    const lb = (mask & 2) !== 0 || (mask & 4) !== 0;
    let meta: Record<string, unknown> = { name: 'web' };
    if (mask & 1) meta = optional.proxyName(meta);
    if (mask & 8) meta = optional.topologyMode(meta);
    const spec: Record<string, unknown> = { type: lb ? 'LoadBalancer' : 'ClusterIP', clusterIP: '10.96.0.10', ports: [{ port: 80, ...(lb ? { nodePort: 30080 } : {}) }] };
    if (mask & 2) spec.loadBalancerClass = 'example.com/lb';
    if (mask & 4) Object.assign(spec, { externalTrafficPolicy: 'Local', healthCheckNodePort: 30999 });
    const s = serviceToPlan({ apiVersion: 'v1', kind: 'Service', metadata: meta, spec }, undefined, { purpose: 'forwarding' });
    const keys = Object.keys(s);
    assert.deepEqual(keys, order.filter((k) => keys.includes(k)), `mask ${mask}`);
    assert.equal('proxyName' in s, (mask & 1) !== 0, `mask ${mask}`);
    assert.equal('loadBalancerClass' in s, (mask & 2) !== 0, `mask ${mask}`);
    assert.equal('healthCheckNodePort' in s, (mask & 4) !== 0, `mask ${mask}`);
    assert.equal('topologyMode' in s, (mask & 8) !== 0, `mask ${mask}`);
    assert.ok(PlanServiceSchema.safeParse(s).success, `mask ${mask}`);
  }
});
