// Which (Service port, endpoint) pairs get per-endpoint series, from the input the node
// enforces: the first ones in label order, the rest counted; what the readers are asked.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportedEndpointPairs } from '../../src/agent/endpoint-series.js';
import type { TrafficSample } from '../../src/backends/traffic.js';
import { ep, input, port, slice, svc } from '../helpers/model.js';

const sample = (service: string, portNumber: number, endpoint: string, namespace = 'default'): TrafficSample => ({ namespace, service, port: portNumber, protocol: 'TCP', kind: 'endpoint_packets', value: 1, endpoint });

/** Two Services of two ports each (443 and 80), three endpoints each, and one of one port with two endpoints, in another namespace. */
function cluster() {
  const ports = [port(80, 8080, { name: 'http' }), port(443, 8443, { name: 'https' })];
  const slicePorts = [{ name: 'http', port: 8080 }, { name: 'https', port: 8443 }];
  const eps = (n: number) => [ep(`10.244.1.${n}`), ep(`10.244.1.${n + 1}`), ep(`10.244.1.${n + 2}`)];
  return input(
    [
      svc({ name: 'web', clusterIPs: ['10.96.0.10'], ports }),
      svc({ name: 'api', clusterIPs: ['10.96.0.11'], ports }),
      svc({ name: 'db', namespace: 'data', clusterIPs: ['10.96.0.12'], ports: [port(5432)] }),
    ],
    [slice('web', eps(10), slicePorts), slice('api', eps(20), slicePorts), slice('db', [ep('10.244.2.1'), ep('10.244.2.2')], [{ port: 5432 }], { namespace: 'data' })],
  );
}

describe('exportedEndpointPairs', () => {
  it('every pair when the node has fewer than the bound', () => {
    const pairs = exportedEndpointPairs(cluster(), 2000);
    assert.equal(pairs.exported, 2 * 2 * 3 + 2);
    assert.equal(pairs.omitted, 0);
    assert.ok(pairs.keeps(sample('web', 80, '10.244.1.12:8080')));
    assert.ok(pairs.keeps(sample('db', 5432, '10.244.2.2:5432', 'data')));
    assert.ok(!pairs.keeps(sample('web', 80, '10.244.1.13:8080')), 'an endpoint the input does not have');
    assert.ok(!pairs.keeps(sample('web', 80, '10.244.1.12:8443')), 'another port\'s endpoint');
  });

  it('the first pairs in label order: namespace, Service, then port as text (443 before 80), endpoint', () => {
    // data/db (2) < default/api (6) < default/web (6); within api, 443's three before 80's.
    const pairs = exportedEndpointPairs(cluster(), 5);
    assert.equal(pairs.exported, 5);
    assert.equal(pairs.omitted, 14 - 5);
    assert.ok(pairs.keeps(sample('db', 5432, '10.244.2.1:5432', 'data')));
    for (const n of [20, 21, 22]) assert.ok(pairs.keeps(sample('api', 443, `10.244.1.${n}:8443`)), `api 443 ${n}`);
    for (const n of [20, 21, 22]) assert.ok(!pairs.keeps(sample('api', 80, `10.244.1.${n}:8080`)), `api 80 ${n}`);
    assert.ok(!pairs.keeps(sample('web', 443, '10.244.1.10:8443')));
  });

  it('the filter the readers are given: by Service and endpoint, whatever the port', () => {
    const pairs = exportedEndpointPairs(cluster(), 5);
    assert.ok(pairs.has('default', 'api', '10.244.1.20:8443'));
    assert.ok(!pairs.has('default', 'api', '10.244.1.20:8080'), 'a pair of port 80, beyond the bound');
    assert.ok(!pairs.has('default', 'web', '10.244.1.10:8443'));
    assert.ok(!pairs.has('data', 'web', '10.244.1.10:8443'), 'the namespace counts');
  });

  it('a serving terminating endpoint counts (IPVS drains it as a weight-0 real server); a not ready one does not', () => {
    const i = input([svc({ name: 'web', clusterIPs: ['10.96.0.10'], ports: [port(80)] })], [
      slice('web', [ep('10.244.1.1'), ep('10.244.1.2', undefined, { ready: false, serving: true, terminating: true }), ep('10.244.1.3', undefined, { ready: false, serving: false, terminating: false })], [{ port: 80 }]),
    ]);
    const pairs = exportedEndpointPairs(i, 2000);
    assert.equal(pairs.exported, 2);
    assert.ok(pairs.keeps(sample('web', 80, '10.244.1.2:80')));
    assert.ok(!pairs.keeps(sample('web', 80, '10.244.1.3:80')));
  });

  it('IPv6 endpoints in brackets, as the readers name them; dual-stack Services have both', () => {
    const i = input([svc({ name: 'web', clusterIPs: ['10.96.0.10', 'fd00:10:96::10'], ports: [port(80)] })], [
      slice('web', [ep('10.244.1.1')], [{ port: 80 }]),
      slice('web', [ep('fd00:244:1::1')], [{ port: 80 }], { addressType: 'IPv6' }),
    ]);
    const pairs = exportedEndpointPairs(i, 2000);
    assert.equal(pairs.exported, 2);
    assert.ok(pairs.keeps(sample('web', 80, '[fd00:244:1::1]:80')));
    assert.ok(pairs.has('default', 'web', '[fd00:244:1::1]:80'));
  });

  it('Services this agent does not proxy have no pairs', () => {
    const other = svc({ name: 'other', clusterIPs: ['10.96.0.13'], ports: [port(80)], proxyName: 'someone-else' });
    const i = input([other], [slice('other', [ep('10.244.1.1')], [{ port: 80 }])]);
    assert.equal(exportedEndpointPairs(i, 2000).exported, 0);
  });
});
