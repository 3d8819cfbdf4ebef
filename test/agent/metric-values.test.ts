// The pure parts behind kube-proxy's metrics: the families a node serves, the
// Local-policy ports without a local endpoint, the family of a conntrack deletion,
// the iptables rules a sync wrote, and /configz's KubeProxyConfiguration.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configzBody, goDuration } from '../../src/agent/configz.js';
import { deletionFamily, noLocalEndpoints, servedFamilies } from '../../src/agent/metric-values.js';
import { rulesWritten, SECTION_MARKER } from '../../src/backends/iptables/document.js';
import { DEFAULT_PROXY_CONFIG } from '../../src/model/config.js';
import { ep, input, port, slice, svc } from '../helpers/model.js';

/** Generous: each takes seconds at most; a hang fails here instead of holding `npm test`. */
const TIMEOUT = { timeout: 120_000 };

test('servedFamilies: the families of the node addresses and Service CIDRs, IPv4 when neither says', TIMEOUT, () => {
  assert.deepEqual(servedFamilies(input([])), ['IPv4', 'IPv6']);
  assert.deepEqual(servedFamilies(input([], [], { node: { name: 'n', addresses: ['fd00::1'], podCIDRs: [] }, serviceCIDRs: ['fd00:10:96::/112'] })), ['IPv6']);
  assert.deepEqual(servedFamilies(input([], [], { node: { name: 'n', addresses: [], podCIDRs: [] }, serviceCIDRs: [] })), ['IPv4']);
});

test('noLocalEndpoints: Local-policy ports with no endpoint on this node, internal and external apart', TIMEOUT, () => {
  const services = [
    // internal Local, endpoint on another node: counted (internal).
    svc({ name: 'int', clusterIPs: ['10.96.0.1'], ports: [port(80)], internalTrafficPolicy: 'Local' }),
    // internal Local with an endpoint here: not counted.
    svc({ name: 'int-here', clusterIPs: ['10.96.0.2'], ports: [port(80)], internalTrafficPolicy: 'Local' }),
    // external Local on a NodePort, no endpoint here: counted (external).
    svc({ name: 'ext', clusterIPs: ['10.96.0.3'], type: 'NodePort', ports: [port(80, 80, { nodePort: 30080 })], externalTrafficPolicy: 'Local' }),
    // Cluster policy, no endpoint anywhere: not a Local-policy service.
    svc({ name: 'cluster', clusterIPs: ['10.96.0.4'], ports: [port(80)] }),
  ];
  const slices = [
    slice('int', [ep('10.244.2.1', 'node2')], [{ port: 80 }]),
    slice('int-here', [ep('10.244.1.1', 'node1')], [{ port: 80 }]),
    slice('ext', [ep('10.244.2.2', 'node2')], [{ port: 80 }]),
  ];
  assert.deepEqual(noLocalEndpoints(input(services, slices), 'IPv4'), { internal: 1, external: 1 });
  assert.deepEqual(noLocalEndpoints(input(services, slices), 'IPv6'), { internal: 0, external: 0 }, 'single-stack IPv4 Services');
});

test('deletionFamily: IPv6 when the command names an IPv6 address', TIMEOUT, () => {
  assert.equal(deletionFamily(['-p', 'udp', '--orig-dst', 'fd00:10:96::a', '--reply-src', 'fd00:244::1']), 'IPv6');
  assert.equal(deletionFamily(['-p', 'udp', '--orig-dst', '10.96.0.10']), 'IPv4');
  assert.equal(deletionFamily(['-p', 'udp', '--orig-port-dst', '30053']), 'IPv4');
});

test('rulesWritten: -A lines per family and table of an iptables transaction', TIMEOUT, () => {
  const tx = [
    SECTION_MARKER.IPv4,
    '*filter',
    ':SVCPLANE-X - [0:0]',
    '-A SVCPLANE-X -j ACCEPT',
    'COMMIT',
    '*nat',
    ':SVCPLANE-SVC-A - [0:0]',
    '-A SVCPLANE-SVC-A -j SVCPLANE-SEP-A',
    '-A SVCPLANE-SVC-A -j SVCPLANE-SEP-B',
    '-X SVCPLANE-OLD',
    'COMMIT',
    SECTION_MARKER.IPv6,
    '*nat',
    '-A SVCPLANE-SVC-B -j SVCPLANE-SEP-C',
    'COMMIT',
    '',
  ].join('\n');
  assert.deepEqual(Object.fromEntries(rulesWritten(tx)), { 'IPv4/filter': 1, 'IPv4/nat': 2, 'IPv6/nat': 1 });
  assert.equal(rulesWritten('').size, 0);
});

test('goDuration writes durations as Go does', TIMEOUT, () => {
  assert.deepEqual([0, 0.05, 1, 30, 90, 3600, 86400].map(goDuration), ['0s', '50ms', '1s', '30s', '1m30s', '1h0m0s', '24h0m0s']);
});

test('/configz: the effective KubeProxyConfiguration under kubeproxy.config.k8s.io', TIMEOUT, () => {
  const body = configzBody({ mode: 'iptables', config: { ...DEFAULT_PROXY_CONFIG, clusterCIDRs: ['10.244.0.0/16', 'fd00:244::/48'] }, metricsBindAddress: { host: '127.0.0.1', port: 10249 } });
  const c = body['kubeproxy.config.k8s.io'] as Record<string, any>;
  assert.equal(c.apiVersion, 'kubeproxy.config.k8s.io/v1alpha1');
  assert.equal(c.mode, 'iptables');
  assert.equal(c.clusterCIDR, '10.244.0.0/16,fd00:244::/48');
  assert.equal(c.metricsBindAddress, '127.0.0.1:10249');
  assert.deepEqual([c.iptables.syncPeriod, c.iptables.minSyncPeriod, c.iptables.masqueradeBit], ['30s', '1s', 14]);
  assert.deepEqual([c.conntrack.maxPerCore, c.conntrack.tcpEstablishedTimeout, c.conntrack.tcpCloseWaitTimeout], [32768, '24h0m0s', '1h0m0s']);
});
