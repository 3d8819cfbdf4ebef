import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NodeContextSchema } from '../../src/model/node.js';
import { nodeToContext, pickNodeIPs } from '../../src/manifests/node.js';

test('node IPs: InternalIP before ExternalIP, one per family, primary family first', () => {
  assert.deepEqual(
    pickNodeIPs([
      { type: 'Hostname', address: 'n1' },
      { type: 'ExternalIP', address: '2001:db8::9' },
      { type: 'ExternalIP', address: '203.0.113.1' },
      { type: 'InternalIP', address: '192.168.0.2' },
      { type: 'InternalIP', address: '192.168.0.3' },
      { type: 'InternalDNS', address: 'n1.internal' },
    ]),
    ['192.168.0.2', '2001:db8::9'],
  );
  assert.deepEqual(pickNodeIPs([{ type: 'InternalIP', address: 'FD00::0:1' }, { type: 'InternalIP', address: 'junk' }]), ['fd00::1']);
});

test('a Node becomes a NodeContext with pod CIDRs and zone', () => {
  const n = nodeToContext({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-a', labels: { 'topology.kubernetes.io/zone': 'z1' } },
    spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24', 'FD00:10:244:1::/64'] },
    status: { addresses: [{ type: 'InternalIP', address: '192.168.1.10' }] },
  });
  assert.deepEqual(n, { name: 'node-a', addresses: ['192.168.1.10'], podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'], zone: 'z1' });
  assert.ok(NodeContextSchema.safeParse(n).success);
  // The old single field still works.
  assert.deepEqual(nodeToContext({ metadata: { name: 'b' }, spec: { podCIDR: '10.244.2.0/24' } }).podCIDRs, ['10.244.2.0/24']);
});

test('bad Nodes are rejected with the field named', () => {
  assert.throws(() => nodeToContext({ metadata: {} }, 'n.yaml#1'), /n\.yaml#1: Node: metadata\.name: is required/);
  assert.throws(() => nodeToContext({ metadata: { name: 'a' }, spec: { podCIDRs: ['10.0.0.0/33'] } }), /spec\.podCIDRs\[0\]: must be a valid CIDR/);
  assert.throws(() => nodeToContext({ metadata: { name: 'a' }, spec: { podCIDRs: ['10.0.0.0/24', '10.1.0.0/24'] } }), /one CIDR of each family/);
  assert.throws(() => nodeToContext({ metadata: { name: 'a' }, status: { addresses: {} } }), /status\.addresses: must be a list/);
});
