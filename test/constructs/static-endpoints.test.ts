// A selector-less Service's static endpoints become EndpointSlices, one per family.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterIPService, HeadlessService, Protocol } from '../../src/constructs/index.js';
import { appAndChart, manifests } from './helpers.js';

test('one slice per family, in the Service namespace, ports at the numeric targetPort', () => {
  const { app, chart } = appAndChart({}, 'data');
  const svc = new ClusterIPService(chart, 'db', {
    metadata: { name: 'db' },
    ports: [
      { name: 'sql', port: 5432, targetPort: 15432 },
      { name: 'stats', port: 9187, protocol: Protocol.UDP, appProtocol: 'statsd' },
    ],
    endpoints: [
      { addresses: ['192.0.2.11', '2001:db8::11'], nodeName: 'node-b', zone: 'b' },
      { addresses: ['192.0.2.10'], ready: false },
      { addresses: ['2001:DB8:0:0::10'] },
    ],
  });
  assert.equal(svc.endpointSlices.length, 2);
  const slices = manifests(app, chart).filter((m) => m.kind === 'EndpointSlice');
  assert.deepEqual(
    slices.map((s) => ({ name: s.metadata.name, ns: s.metadata.namespace, type: s.addressType, endpoints: s.endpoints })),
    [
      {
        name: 'db-ipv4',
        ns: 'data',
        type: 'IPv4',
        endpoints: [
          { addresses: ['192.0.2.10'], conditions: { ready: false } },
          { addresses: ['192.0.2.11'], conditions: { ready: true }, nodeName: 'node-b', zone: 'b' },
        ],
      },
      {
        name: 'db-ipv6',
        ns: 'data',
        type: 'IPv6',
        // Canonical spelling, sorted numerically.
        endpoints: [
          { addresses: ['2001:db8::10'], conditions: { ready: true } },
          { addresses: ['2001:db8::11'], conditions: { ready: true }, nodeName: 'node-b', zone: 'b' },
        ],
      },
    ],
  );
  for (const s of slices) {
    assert.deepEqual(s.ports, [
      { name: 'sql', port: 15432, protocol: 'TCP' },
      { appProtocol: 'statsd', name: 'stats', port: 9187, protocol: 'UDP' },
    ]);
  }
  // And the proxy's view of them, as the rules are rendered from it.
  const infos = app.endpointSlices();
  assert.deepEqual(infos.map((i) => [i.serviceName, i.addressType, i.endpoints.map((e) => [e.address, e.ready, e.nodeName ?? null])]), [
    ['db', 'IPv4', [['192.0.2.10', false, null], ['192.0.2.11', true, 'node-b']]],
    ['db', 'IPv6', [['2001:db8::10', true, null], ['2001:db8::11', true, 'node-b']]],
  ]);
});

test('a headless Service’s slices carry the headless label and hostnames', () => {
  const { app, chart } = appAndChart();
  new HeadlessService(chart, 'peers', { metadata: { name: 'peers' }, endpoints: [{ addresses: ['192.0.2.5'], hostname: 'peer-0' }] });
  const [slice] = manifests(app, chart).filter((m) => m.kind === 'EndpointSlice');
  assert.equal(slice!.metadata.labels!['service.kubernetes.io/headless'], '');
  assert.equal(slice!.endpoints[0].hostname, 'peer-0');
});

test('no endpoints, no slices', () => {
  const { app, chart } = appAndChart();
  const s = new ClusterIPService(chart, 'x', { metadata: { name: 'x' }, ports: [{ port: 80 }] });
  assert.deepEqual(s.endpointSlices, []);
  assert.equal(manifests(app, chart).filter((m) => m.kind === 'EndpointSlice').length, 0);
});
