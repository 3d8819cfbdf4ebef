// SvcplaneApp synth: deterministic bytes, plan.json beside the manifests (and in
// the ConfigMap), a ruleset per registered backend, rules/ made anew.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { registeredBackends } from '../../src/backends/registry.js';
import { PLAN_CONFIG_MAP_KEY } from '../../src/constructs/index.js';
import { buildExampleApp } from '../../src/example-app.js';
import { loadPlan } from '../../src/model/plan.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'svcplane-synth-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Every file under dir, relative path -> bytes. */
function tree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

test('synthesising the example app twice gives the same bytes, file by file', (t) => {
  const a = join(tempDir(t), 'a');
  const b = join(tempDir(t), 'b');
  buildExampleApp({ outdir: a }).synth();
  buildExampleApp({ outdir: b }).synth();
  const ta = tree(a);
  const tb = tree(b);
  assert.deepEqual([...ta.keys()], [...tb.keys()]);
  for (const [file, bytes] of ta) assert.ok(bytes.equals(tb.get(file)!), `${file} differs between runs`);
  // Stable names: one file per chart, named after the chart.
  assert.deepEqual(
    [...ta.keys()].filter((f) => !f.startsWith('rules/')),
    ['database.k8s.yaml', 'shop.k8s.yaml', 'svcplane-agent.k8s.yaml', 'svcplane-plan.k8s.yaml'],
  );
});

test('rules/plan.json loads with loadPlan and is byte for byte the ConfigMap’s plan.json', (t) => {
  const out = tempDir(t);
  buildExampleApp({ outdir: out }).synth();
  const text = readFileSync(join(out, 'rules', 'plan.json'), 'utf8');
  const plan = loadPlan(JSON.parse(text), 'rules/plan.json');
  const docs = parseAllDocuments(readFileSync(join(out, 'svcplane-plan.k8s.yaml'), 'utf8')).map((d) => d.toJS());
  const cm = docs.find((d) => d.kind === 'ConfigMap');
  assert.equal(cm.metadata.namespace, 'kube-system');
  assert.equal(cm.metadata.name, 'svcplane-plan');
  assert.equal(cm.data[PLAN_CONFIG_MAP_KEY], text);

  assert.deepEqual(plan.serviceCIDRs, ['10.96.0.0/12', 'fd00:10:96::/112']);
  assert.deepEqual(plan.nodePortRange, { min: 30000, max: 32767 });
  const names = plan.services.map((s) => `${s.namespace}/${s.name}`);
  assert.deepEqual(names, ['default/mysql-service', 'shop/api', 'shop/orders-db', 'shop/payments', 'shop/storefront', 'shop/web', 'shop/web-peers']);
  const mysql = plan.services[0]!;
  assert.equal(mysql.type, 'NodePort');
  assert.equal(mysql.proxyName, 'svcplane');
  assert.deepEqual(mysql.selector, { 'mysql-service': 'true' });
  assert.deepEqual(mysql.ports, [{ name: '', protocol: 'TCP', port: 3306, targetPort: 3306, nodePort: 30964 }]);
  const lb = plan.services.find((s) => s.name === 'storefront')!;
  assert.deepEqual(lb.loadBalancerIngress, [{ ip: '192.0.2.100', ipMode: 'VIP' }]);
  assert.equal(lb.externalTrafficPolicy, 'Local');
  assert.ok(lb.healthCheckNodePort !== undefined);
  assert.equal(plan.services.find((s) => s.name === 'api')!.clusterIPs.length, 2);
  assert.equal(plan.services.find((s) => s.name === 'web-peers')!.headless, true);
  assert.deepEqual(plan.services.find((s) => s.name === 'web')!.sessionAffinity, { type: 'ClientIP', timeoutSeconds: 1800 });
});

test('one ruleset per registered backend, no *.yaml under rules/, and the static endpoints are in it', (t) => {
  const out = tempDir(t);
  const app = buildExampleApp({ outdir: out });
  app.synth();
  const files = readdirSync(join(out, 'rules')).sort();
  assert.deepEqual(files, ['plan.json', ...registeredBackends().map((b) => b.rulesFile)].sort());
  assert.ok(files.every((f) => !/\.ya?ml$/.test(f)));
  const slices = app.endpointSlices();
  assert.deepEqual(
    slices.map((s) => [s.namespace, s.name, s.serviceName, s.addressType, s.endpoints.map((e) => e.address)]),
    [['shop', 'orders-db-ipv4', 'orders-db', 'IPv4', ['192.0.2.20', '192.0.2.21']]],
  );
  for (const b of registeredBackends()) {
    const rules = readFileSync(join(out, 'rules', b.rulesFile), 'utf8');
    assert.ok(rules.includes('192.0.2.20'), `${b.rulesFile} sends to the static endpoint`);
  }
});

test('rules/ is made anew on every synth (the cdk8s CLI deletes dist/ first; stale files must go)', (t) => {
  const out = tempDir(t);
  mkdirSync(join(out, 'rules'), { recursive: true });
  writeFileSync(join(out, 'rules', 'stale-backend.txt'), 'old');
  buildExampleApp({ outdir: out }).synth();
  assert.ok(!readdirSync(join(out, 'rules')).includes('stale-backend.txt'));
  rmSync(out, { recursive: true, force: true });
  buildExampleApp({ outdir: out }).synth();
  assert.ok(readdirSync(join(out, 'rules')).includes('plan.json'));
});

test('plan ConfigMap namespace and name come from the app props', () => {
  const app = buildExampleApp({ outdir: '/nonexistent-svcplane-test', planNamespace: 'svcplane-system', planConfigMapName: 'routes' });
  const cm = app.planChart.toJson().find((m: { kind: string }) => m.kind === 'ConfigMap');
  assert.equal(cm.metadata.namespace, 'svcplane-system');
  assert.equal(cm.metadata.name, 'routes');
  assert.equal(loadPlan(JSON.parse(cm.data[PLAN_CONFIG_MAP_KEY])).services.length, 7);
});
