// Two Services on one ClusterIP, one NodePort or one name: synth fails naming both constructs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';
import {
  ClusterIPService,
  LoadBalancerService,
  NodePortService,
  Protocol,
  SvcplaneSynthError,
  TrafficPolicy,
} from '../../src/constructs/index.js';
import { collisionIssues } from '../../src/constructs/collisions.js';
import { isInputError } from '../../src/model/errors.js';
import { appAndChart, errorOf } from './helpers.js';

test('two Services given one ClusterIP: the error names both construct paths', () => {
  const { app, chart } = appAndChart();
  new ClusterIPService(chart, 'first', { metadata: { name: 'first' }, clusterIP: '10.96.5.5', ports: [{ port: 80 }] });
  new ClusterIPService(chart, 'second', { metadata: { name: 'second' }, clusterIP: '10.96.5.5', ports: [{ port: 80 }] });
  const msg = errorOf(() => app.check());
  assert.match(msg, /\[chart\/second\] Service [^:]+: spec\.clusterIP: ClusterIP 10\.96\.5\.5 is also used by chart\/first \(Service test\/first spec\.clusterIP\)/);
  assert.doesNotMatch(msg, /picked it/, 'both were given: no hint about allocation');
});

test('one ClusterIP in two spellings still collides (IPv6 canonical form)', () => {
  const { app, chart } = appAndChart();
  new ClusterIPService(chart, 'a', { metadata: { name: 'a' }, clusterIP: 'fd00:10:96::a', ports: [{ port: 80 }] });
  new ClusterIPService(chart, 'b', { metadata: { name: 'b' }, clusterIP: 'fd00:10:96:0:0:0:0:a', ports: [{ port: 80 }] });
  assert.match(errorOf(() => app.check()), /\[chart\/b\] Service [^:]+: spec\.clusterIP: ClusterIP fd00:10:96::a is also used by chart\/a/);
});

test('two allocated ClusterIPs that collide: both paths, and the advice to set one explicitly', () => {
  // A /30 has one allocatable address, so two Services must land on it.
  const { app, chart } = appAndChart({ serviceCIDRs: ['10.0.0.0/30'] });
  new ClusterIPService(chart, 'a', { metadata: { name: 'a' }, ports: [{ port: 80 }] });
  new ClusterIPService(chart, 'b', { metadata: { name: 'b' }, ports: [{ port: 80 }] });
  const msg = errorOf(() => app.check());
  assert.match(msg, /\[chart\/b\] Service [^:]+: spec\.clusterIP: ClusterIP 10\.0\.0\.2 is also used by chart\/a \(Service test\/a spec\.clusterIP\); svcplane picked it .* set clusterIP explicitly on one of them/);
});

test('one NodePort taken twice, given or allocated, whatever the protocol', () => {
  const given = appAndChart();
  new NodePortService(given.chart, 'tcp', { metadata: { name: 'tcp' }, ports: [{ port: 80, nodePort: 30100 }] });
  new NodePortService(given.chart, 'udp', { metadata: { name: 'udp' }, ports: [{ port: 80, nodePort: 30100, protocol: Protocol.UDP }] });
  assert.match(errorOf(() => given.app.check()), /\[chart\/udp\] Service [^:]+: spec\.ports\[0\]\.nodePort: NodePort 30100 is also used by chart\/tcp \(Service test\/tcp spec\.ports\[0\]\.nodePort\)/);

  // A one-port range: the second Service's allocated NodePort must collide.
  const picked = appAndChart({ nodePortRange: { min: 30500, max: 30500 } });
  new NodePortService(picked.chart, 'a', { metadata: { name: 'a' }, ports: [{ port: 80 }] });
  new NodePortService(picked.chart, 'b', { metadata: { name: 'b' }, ports: [{ port: 81 }] });
  assert.match(errorOf(() => picked.app.check()), /\[chart\/b\] Service [^:]+: spec\.ports\[0\]\.nodePort: NodePort 30500 is also used by chart\/a .*set nodePort explicitly on one of them/);
});

test('a healthCheckNodePort shares the NodePort pool', () => {
  const { app, chart } = appAndChart();
  new LoadBalancerService(chart, 'lb', {
    metadata: { name: 'lb' },
    ports: [{ port: 443, nodePort: 30001 }],
    externalTrafficPolicy: TrafficPolicy.LOCAL,
    healthCheckNodePort: 30002,
  });
  new NodePortService(chart, 'np', { metadata: { name: 'np' }, ports: [{ port: 80, nodePort: 30002 }] });
  assert.match(errorOf(() => app.check()), /\[chart\/np\] Service [^:]+: spec\.ports\[0\]\.nodePort: NodePort 30002 is also used by chart\/lb \(Service test\/lb spec\.healthCheckNodePort\)/);
});

test('one namespace/name defined twice (in two charts)', () => {
  const { app, chart } = appAndChart();
  const other = new Chart(app, 'other', { namespace: 'test' });
  new ClusterIPService(chart, 'a', { metadata: { name: 'same' }, ports: [{ port: 80 }] });
  new ClusterIPService(other, 'b', { metadata: { name: 'same' }, ports: [{ port: 80 }] });
  assert.match(errorOf(() => app.check()), /\[other\/b\] Service test\/same: metadata\.name: is also defined by chart\/a/);
});

test('Services made without svcplane constructs are checked too, under their own path', () => {
  const { app, chart } = appAndChart();
  new ClusterIPService(chart, 'ours', { metadata: { name: 'ours' }, clusterIP: '10.96.7.7', ports: [{ port: 80 }] });
  new k8s.KubeService(chart, 'raw', { metadata: { name: 'raw' }, spec: { clusterIp: '10.96.7.7', ports: [{ port: 80 }] } });
  assert.match(errorOf(() => app.check()), /\[chart\/raw\] Service [^:]+: spec\.clusterIP: ClusterIP 10\.96\.7\.7 is also used by chart\/ours/);
});

test('the synth error is an InputError (exit 2) listing every problem, and nothing is written', () => {
  const { app, chart } = appAndChart();
  new ClusterIPService(chart, 'a', { metadata: { name: 'a' }, clusterIP: '10.96.5.5', ports: [{ port: 80 }] });
  new ClusterIPService(chart, 'b', { metadata: { name: 'b' }, clusterIP: '10.96.5.5', ports: [{ port: 80 }] });
  new NodePortService(chart, 'c', { metadata: { name: 'c' }, ports: [{ port: 80, nodePort: 99 }] });
  try {
    app.synth();
    assert.fail('synth should fail');
  } catch (e) {
    assert.ok(e instanceof SvcplaneSynthError && isInputError(e) && e.exitCode === 2);
    assert.equal(e.problems.length, 2);
    assert.match(e.message, /chart\/b/);
    assert.match(e.message, /\[chart\/c\] Service [^:]+: spec\.ports\[0\]\.nodePort: must be in the node port range 30000-32767/);
  }
  assert.equal(existsSync(app.outdir), false, 'no manifest and no rule was written');
});

test('collisionIssues: ports sharing a number inside one Service are one claim', () => {
  const svc = (name: string, ports: unknown[]) => ({
    path: name,
    allocatedFields: new Set<string>(),
    manifest: { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { type: 'NodePort', ports } },
  });
  const dns = svc('dns', [{ port: 53, protocol: 'TCP', nodePort: 30053 }, { port: 53, protocol: 'UDP', nodePort: 30053 }]);
  assert.deepEqual(collisionIssues([dns]), []);
  assert.equal(collisionIssues([dns, svc('other', [{ port: 1, nodePort: 30053 }])]).length, 1);
});
