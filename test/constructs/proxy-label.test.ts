// service.kubernetes.io/service-proxy-name: svcplane on every Service (so kube-proxy
// skips it), its opt-out, and the same label on static EndpointSlices.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ClusterIPService,
  ExternalNameService,
  HeadlessService,
  LoadBalancerService,
  NodePortService,
  ServiceProxy,
} from '../../src/constructs/index.js';
import { PROXY_NAME, SERVICE_PROXY_NAME_LABEL } from '../../src/model/plan.js';
import { ownsService } from '../../src/model/render-input.js';
import { appAndChart, manifests, serviceNamed } from './helpers.js';

test('every Service type carries the label by default; the plan records the owner', () => {
  const { app, chart } = appAndChart();
  new ClusterIPService(chart, 'a', { metadata: { name: 'a', labels: { team: 'x' } }, ports: [{ port: 80 }] });
  new HeadlessService(chart, 'b', { metadata: { name: 'b' }, selector: { x: 'y' } });
  new NodePortService(chart, 'c', { metadata: { name: 'c' }, ports: [{ port: 80 }] });
  new LoadBalancerService(chart, 'd', { metadata: { name: 'd' }, ports: [{ port: 80 }] });
  new ExternalNameService(chart, 'e', { metadata: { name: 'e' }, externalName: 'example.com' });
  const services = manifests(app, chart).filter((m) => m.kind === 'Service');
  assert.equal(services.length, 5);
  for (const s of services) assert.equal(s.metadata.labels?.[SERVICE_PROXY_NAME_LABEL], PROXY_NAME, s.metadata.name);
  assert.equal(serviceNamed(services, 'a').metadata.labels?.team, 'x', 'user labels kept beside it');
  for (const s of app.plan().services) {
    assert.equal(s.proxyName, PROXY_NAME);
    assert.ok(ownsService(s, 'coexist'));
  }
});

test('proxy: ServiceProxy.KUBE_PROXY leaves the label off, so kube-proxy handles the Service', () => {
  const { app, chart } = appAndChart();
  new ClusterIPService(chart, 'legacy', { metadata: { name: 'legacy', labels: { team: 'x' } }, ports: [{ port: 80 }], proxy: ServiceProxy.KUBE_PROXY });
  const svc = serviceNamed(manifests(app, chart), 'legacy');
  assert.deepEqual(svc.metadata.labels, { team: 'x' });
  const planned = app.plan().services[0]!;
  assert.equal(planned.proxyName, undefined);
  assert.equal(ownsService(planned, 'coexist'), false, 'svcplane leaves it alone in coexist mode');
  assert.equal(ownsService(planned, 'replace'), true);
});

test('static EndpointSlices carry the same proxy label, the service-name label and managed-by svcplane.io', () => {
  const { app, chart } = appAndChart();
  new ClusterIPService(chart, 'ours', { metadata: { name: 'ours' }, ports: [{ port: 5432 }], endpoints: [{ addresses: ['192.0.2.1'] }] });
  new ClusterIPService(chart, 'theirs', { metadata: { name: 'theirs' }, ports: [{ port: 5432 }], endpoints: [{ addresses: ['2001:db8::1'] }], proxy: ServiceProxy.KUBE_PROXY });
  const slices = manifests(app, chart).filter((m) => m.kind === 'EndpointSlice');
  assert.deepEqual(
    slices.map((s) => [s.metadata.name, s.addressType, s.metadata.labels]),
    [
      ['ours-ipv4', 'IPv4', { 'endpointslice.kubernetes.io/managed-by': 'svcplane.io', 'kubernetes.io/service-name': 'ours', [SERVICE_PROXY_NAME_LABEL]: PROXY_NAME }],
      ['theirs-ipv6', 'IPv6', { 'endpointslice.kubernetes.io/managed-by': 'svcplane.io', 'kubernetes.io/service-name': 'theirs' }],
    ],
  );
  // Ports mirror the Service's, with the numeric target port.
  assert.deepEqual(slices[0]!.ports, [{ name: '', port: 5432, protocol: 'TCP' }]);
});
