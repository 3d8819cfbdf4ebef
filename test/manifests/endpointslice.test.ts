import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EndpointSliceInfoSchema } from '../../src/model/endpoints.js';
import { isInputError } from '../../src/model/errors.js';
import { endpointSliceToInfo, readEndpointSlice } from '../../src/manifests/endpointslice.js';

type Obj = Record<string, unknown>;
function slice(more: Obj = {}, labels: Obj = { 'kubernetes.io/service-name': 'web' }): Obj {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-1', namespace: 'shop', labels },
    addressType: 'IPv6',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [{ addresses: ['FD00::0:5', 'fd00::6'], nodeName: 'node-a', zone: 'z1', hints: { forZones: [{ name: 'z1' }], forNodes: [{ name: 'node-a' }] } }],
    ...more,
  };
}

function issueOf(obj: Obj): [string, string] {
  try {
    endpointSliceToInfo(obj, 'es.yaml#1');
  } catch (e) {
    assert.ok(isInputError(e));
    assert.equal(e.issues.length, 1, JSON.stringify(e.issues));
    return [e.issues[0]!.field, e.issues[0]!.message];
  }
  assert.fail('expected an InputError');
}

test('a slice becomes info: first address, canonical, conditions defaulted as kube-proxy reads them', () => {
  const info = endpointSliceToInfo(slice());
  assert.deepEqual(info, {
    namespace: 'shop',
    name: 'web-1',
    serviceName: 'web',
    addressType: 'IPv6',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [{ address: 'fd00::5', ready: true, serving: true, terminating: false, nodeName: 'node-a', zone: 'z1', hintZones: ['z1'], hintNodes: ['node-a'] }],
  });
  assert.ok(EndpointSliceInfoSchema.safeParse(info).success);
});

test('explicit conditions are kept; absent serving reads as serving, as in kube-proxy', () => {
  const info = endpointSliceToInfo(
    slice({
      addressType: 'IPv4',
      endpoints: [
        { addresses: ['10.0.0.1'], conditions: { ready: false, serving: true, terminating: true } },
        { addresses: ['10.0.0.2'], conditions: { ready: false, terminating: true } },
        { addresses: ['10.0.0.3'], conditions: {} },
      ],
    }),
  );
  assert.deepEqual(
    info.endpoints.map((e) => [e.address, e.ready, e.serving, e.terminating]),
    [
      ['10.0.0.1', false, true, true],
      ['10.0.0.2', false, true, true],
      ['10.0.0.3', true, true, false],
    ],
  );
});

test('ports without a name or number are dropped with a warning; protocol defaults to TCP', () => {
  const r = readEndpointSlice(slice({ ports: [{ port: 53, protocol: 'UDP' }, { name: '', port: 80 }, { name: 'x' }] }));
  assert.deepEqual(r.info.ports, [{ name: '', port: 80, protocol: 'TCP' }]);
  assert.equal(r.warnings.length, 2);
  assert.match(r.warnings[0]!, /^ports\[0\]: ignored, as kube-proxy does/);
});

const bad: Array<[string, Obj, string, RegExp]> = [
  ['no service-name label', slice({}, {}), 'metadata.labels[kubernetes.io/service-name]', /is required/],
  ['bad service-name label', slice({}, { 'kubernetes.io/service-name': 'a b' }), 'metadata.labels[kubernetes.io/service-name]', /alphanumeric/],
  ['no addressType', slice({ addressType: undefined }), 'addressType', /is required/],
  ['unknown addressType', slice({ addressType: 'IPX' }), 'addressType', /unsupported value "IPX"/],
  ['address of the wrong family', slice({ addressType: 'IPv4', endpoints: [{ addresses: ['fd00::1'] }] }), 'endpoints[0].addresses[0]', /valid IPv4 address/],
  ['loopback endpoint', slice({ endpoints: [{ addresses: ['::1'] }] }), 'endpoints[0].addresses[0]', /loopback/],
  ['endpoint without addresses', slice({ endpoints: [{ addresses: [] }] }), 'endpoints[0].addresses', /at least one address/],
  ['ready not a boolean', slice({ endpoints: [{ addresses: ['fd00::1'], conditions: { ready: 'yes' } }] }), 'endpoints[0].conditions.ready', /true or false/],
  ['bad nodeName', slice({ endpoints: [{ addresses: ['fd00::1'], nodeName: 'Node_A' }] }), 'endpoints[0].nodeName', /subdomain/],
  ['hint without a name', slice({ endpoints: [{ addresses: ['fd00::1'], hints: { forZones: [{}] } }] }), 'endpoints[0].hints.forZones[0].name', /is required/],
  ['bad port name', slice({ ports: [{ name: 'HTTP', port: 80 }] }), 'ports[0].name', /RFC 1123 label/],
  ['duplicate port name', slice({ ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }), 'ports[1].name', /duplicate port name "a"/],
  ['port out of range', slice({ ports: [{ name: 'a', port: 0 }] }), 'ports[0].port', /between 1 and 65535/],
  ['bad protocol', slice({ ports: [{ name: 'a', port: 80, protocol: 'ICMP' }] }), 'ports[0].protocol', /unsupported value "ICMP"/],
  ['old apiVersion', slice({ apiVersion: 'discovery.k8s.io/v1beta1' }), 'apiVersion', /discovery\.k8s\.io\/v1/],
  ['bad name', slice({ metadata: { name: 'Web', labels: { 'kubernetes.io/service-name': 'web' } } }), 'metadata.name', /subdomain/],
];
for (const [name, obj, field, message] of bad) {
  test(`rejects: ${name}`, () => {
    const [f, m] = issueOf(obj);
    assert.equal(f, field);
    assert.match(m, message);
  });
}

test('errors name the slice and its source', () => {
  assert.throws(
    () => endpointSliceToInfo(slice({ addressType: 'IPX' }), 'es.yaml#3'),
    (e) => isInputError(e) && e.message.startsWith('es.yaml#3: EndpointSlice shop/web-1: addressType:'),
  );
});
