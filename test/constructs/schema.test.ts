// Every construct's manifests against the Kubernetes schema (kubernetes-models 5.1.0).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duration } from 'cdk8s';
import { Deployment } from 'cdk8s-plus-33';
import {
  ClusterIPService,
  ExternalNameService,
  HeadlessService,
  IpFamily,
  IpFamilyPolicy,
  LoadBalancerService,
  NodePortService,
  Protocol,
  SessionAffinity,
  TrafficDistribution,
  TrafficPolicy,
} from '../../src/constructs/index.js';
import { buildExampleApp } from '../../src/example-app.js';
import { appAndChart, manifests } from './helpers.js';
import { assertValidManifest, CHECKED_KINDS } from './k8s-schema.js';

test('a Service of each type, with every forwarding field set, passes the Kubernetes schema', () => {
  const { app, chart } = appAndChart();
  const web = new Deployment(chart, 'web', { containers: [{ image: 'nginx', portNumber: 8080 }] });
  new ClusterIPService(chart, 'cip', {
    metadata: { name: 'cip', labels: { tier: 'web' }, annotations: { 'example.com/owner': 'team-a' } },
    selector: web,
    ports: [
      { name: 'http', port: 80, targetPort: 8080, appProtocol: 'http' },
      { name: 'dns', port: 53, targetPort: 'dns', protocol: Protocol.UDP },
      { name: 'sctp', port: 9999, protocol: Protocol.SCTP },
    ],
    ipFamilies: [IpFamily.IPV6, IpFamily.IPV4],
    ipFamilyPolicy: IpFamilyPolicy.PREFER_DUAL_STACK,
    externalIPs: ['198.51.100.7'],
    externalTrafficPolicy: TrafficPolicy.LOCAL,
    internalTrafficPolicy: TrafficPolicy.LOCAL,
    sessionAffinity: SessionAffinity.CLIENT_IP,
    sessionAffinityTimeout: Duration.minutes(10),
    trafficDistribution: TrafficDistribution.PREFER_CLOSE,
    publishNotReadyAddresses: true,
  });
  new HeadlessService(chart, 'hl', { metadata: { name: 'hl' }, selector: { app: 'db' }, ports: [{ port: 5432 }] });
  new HeadlessService(chart, 'hl-static', {
    metadata: { name: 'hl-static' },
    endpoints: [{ addresses: ['192.0.2.1', '2001:db8::1'], hostname: 'a', nodeName: 'n1', zone: 'z1' }],
  });
  new NodePortService(chart, 'np', {
    metadata: { name: 'np' },
    selector: { app: 'np' },
    ports: [{ name: 'a', port: 80, nodePort: 30080 }, { name: 'b', port: 81 }],
    externalTrafficPolicy: TrafficPolicy.LOCAL,
  });
  new LoadBalancerService(chart, 'lb', {
    metadata: { name: 'lb' },
    selector: { app: 'lb' },
    ports: [{ port: 443, targetPort: 8443 }],
    externalTrafficPolicy: TrafficPolicy.LOCAL,
    loadBalancerSourceRanges: ['203.0.113.0/24'],
    loadBalancerClass: 'example.com/lb',
    loadBalancerIngress: ['192.0.2.50', '2001:db8::50'],
    ipFamilyPolicy: IpFamilyPolicy.REQUIRE_DUAL_STACK,
  });
  new LoadBalancerService(chart, 'lb-no-np', {
    metadata: { name: 'lb-no-np' },
    clusterIP: '10.96.0.10',
    ports: [{ port: 443 }],
    allocateLoadBalancerNodePorts: false,
    endpoints: [{ addresses: ['192.0.2.9'], ready: false }],
  });
  new ExternalNameService(chart, 'en', { metadata: { name: 'en' }, externalName: 'db.example.com', ports: [{ port: 5432 }] });

  const ms = manifests(app, chart);
  const kinds = ms.map((m) => m.kind);
  assert.equal(kinds.filter((k) => k === 'Service').length, 7);
  assert.equal(kinds.filter((k) => k === 'EndpointSlice').length, 3, 'hl-static (IPv4, IPv6) and lb-no-np (IPv4)');
  for (const m of ms) if (m.kind !== 'Deployment') assertValidManifest(m);
});

test('the example app: every Service, EndpointSlice, the plan ConfigMap and the agent’s objects pass the schema', () => {
  const app = buildExampleApp({ outdir: '/nonexistent-svcplane-test' });
  app.check();
  let checked = 0;
  for (const chart of app.charts) {
    for (const m of chart.toJson()) {
      if (CHECKED_KINDS.includes(m.kind)) {
        assertValidManifest(m);
        checked++;
      }
    }
  }
  assert.ok(checked >= 13, `checked ${checked} manifests`);
});

test('the schema check itself rejects a misspelt field and a wrong type', () => {
  const good = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' }, spec: { ports: [{ port: 80 }] } };
  assertValidManifest(good);
  assert.throws(() => assertValidManifest({ ...good, spec: { ports: [{ port: 80 }], clusterIp: '10.0.0.1' } }), /clusterIp: not a field/);
  assert.throws(() => assertValidManifest({ ...good, spec: { ports: [{ port: '80' }] } }), /fails the Kubernetes schema/);
  assert.throws(
    () => assertValidManifest({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'e' }, addressType: 'IPv4', endpoints: [{ address: ['1.2.3.4'] }] }),
    /fails the Kubernetes schema|address: not a field/,
  );
});
