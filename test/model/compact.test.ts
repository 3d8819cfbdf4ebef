// Compact records (model/compact.ts): the same content, with empties and repeats shared
// and what is shared frozen.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compactService, compactSlice } from '../../src/model/compact.js';
import { ep, port, slice, svc } from '../helpers/model.js';

test('compactService keeps the content; empty arrays, families, ports and affinity are shared and frozen', () => {
  const a = svc({ name: 'a', clusterIPs: ['10.96.0.1'], ports: [port(80, 8080)] });
  const b = svc({ name: 'b', clusterIPs: ['10.96.0.2'], ports: [port(80, 8080)] });
  const before = JSON.stringify([a, b]);
  const [ca, cb] = [compactService(a), compactService(b)];
  assert.equal(JSON.stringify([ca, cb]), before, 'same content, same key order');
  assert.equal(ca.externalIPs, cb.loadBalancerSourceRanges, 'one empty array');
  assert.equal(ca.ports, cb.ports);
  assert.equal(ca.ipFamilies, cb.ipFamilies);
  assert.equal(ca.sessionAffinity, cb.sessionAffinity);
  assert.notEqual(ca.clusterIPs, cb.clusterIPs);
  assert.throws(() => (ca.externalIPs as string[]).push('192.0.2.1'), TypeError, 'a write to what is shared throws');
  assert.throws(() => { ca.ports[0]!.port = 81; }, TypeError);
  assert.deepEqual(cb.externalIPs, []);
});

test('compactService: Services with other ports or families keep their own', () => {
  const a = compactService(svc({ name: 'a', clusterIPs: ['10.96.0.1', 'fd00::1'], ports: [port(80)] }));
  const b = compactService(svc({ name: 'b', clusterIPs: ['10.96.0.2'], ports: [port(81)] }));
  assert.deepEqual(a.ipFamilies, ['IPv4', 'IPv6']);
  assert.deepEqual(b.ipFamilies, ['IPv4']);
  assert.deepEqual(a.ports.map((p) => p.port), [80]);
  assert.deepEqual(b.ports.map((p) => p.port), [81]);
});

test('compactSlice keeps the content; ports shared, endpoints of exact length', () => {
  const x = slice('x', [ep('10.244.1.1', 'node1'), ep('10.244.1.2', 'node2')], [{ port: 8080 }]);
  const y = slice('y', [ep('10.244.1.3', 'node1')], [{ port: 8080 }]);
  const z = slice('z', [], [{ port: 8080 }]);
  const before = JSON.stringify([x, y, z]);
  const out = [x, y, z].map(compactSlice);
  assert.equal(JSON.stringify(out), before);
  assert.equal(out[0]!.ports, out[1]!.ports);
  assert.equal(out[2]!.endpoints, compactService(svc({ name: 'e', clusterIPs: ['10.96.0.9'], ports: [port(80)] })).externalIPs, 'one empty array');
  assert.throws(() => (out[2]!.endpoints as unknown[]).push(1), TypeError);
});

test('compactService returns a copy equal to the parsed Service, optional keys present as they were, and leaves the parsed one as it was', () => {
  const parsed = svc({ name: 'lb', type: 'LoadBalancer', clusterIPs: ['10.96.0.3'], ports: [{ ...port(80, 8080), nodePort: 30080 }], healthCheckNodePort: 31000, externalTrafficPolicy: 'Local' });
  const text = JSON.stringify(parsed);
  const c = compactService(parsed);
  assert.notEqual(c, parsed);
  assert.deepEqual(c, parsed);
  assert.deepEqual(Object.keys(c), Object.keys(parsed), 'the same keys in the same order');
  assert.equal(JSON.stringify(parsed), text, 'the parsed object is not changed');
  assert.equal(Object.isFrozen(parsed.ports), false);
});

test('compactService keeps a selector as it was, values equal to the name among others', () => {
  const parsed = svc({ name: 'web', clusterIPs: ['10.96.0.4'], ports: [port(80)], selector: { app: 'web', tier: 'front', 'app.kubernetes.io/name': 'web' } });
  const text = JSON.stringify(parsed);
  const c = compactService(parsed);
  assert.equal(JSON.stringify(c), text);
  assert.deepEqual(c.selector, { app: 'web', tier: 'front', 'app.kubernetes.io/name': 'web' });
  c.selector!.tier = 'back';
  assert.equal(compactService(svc({ name: 'other', clusterIPs: ['10.96.0.5'], ports: [port(80)], selector: { tier: 'front' } })).selector!.tier, 'front', 'no selector shared between Services');
});
