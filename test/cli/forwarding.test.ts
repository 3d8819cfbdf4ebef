// The CLI's two kinds of validation, and nothing read not being an empty cluster:
// forwarding commands accept live objects an API server accepted under its own
// configuration (warning about fields that do not apply), `plan --strict` refuses
// them naming the field, an input with no object is refused unless --allow-empty,
// and names echoed back never carry raw control characters.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { loadPlan } from '../../src/model/plan.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const LIVE = fileURLToPath(new URL('./fixtures/live/services.yaml', import.meta.url));

async function svcplane(args: string[], input?: string) {
  const r = await execa('node', ['--import', 'tsx', CLI, ...args], { reject: false, ...(input !== undefined ? { input } : {}) });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

describe('forwarding accepts what a live cluster holds; authoring refuses it', () => {
  it('plan (forwarding): exit 0, the NodePort 3001 and the ClusterIP outside the ServiceCIDR kept, the ignored field named once', async () => {
    const r = await svcplane(['plan', '-f', LIVE]);
    assert.equal(r.code, 0, r.stderr);
    const plan = loadPlan(JSON.parse(r.stdout));
    assert.equal(plan.services.find((s) => s.name === 'np')!.ports[0]!.nodePort, 3001);
    const outside = plan.services.find((s) => s.name === 'outside')!;
    assert.deepEqual(outside.clusterIPs, ['10.200.0.10']);
    assert.equal(outside.healthCheckNodePort, undefined, 'the field that does not apply is dropped');
    const warnings = r.stderr.split('\n').filter((l) => l.includes('spec.healthCheckNodePort'));
    assert.equal(warnings.length, 1, r.stderr);
    assert.match(warnings[0]!, /^warning: .*Service shop\/outside: ignored \(does not apply\): spec\.healthCheckNodePort: may only be set when type is LoadBalancer/);
  });

  it('plan --strict (authoring): exit 2 naming the object and the field', async () => {
    const r = await svcplane(['plan', '--strict', '-f', LIVE]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Service shop\/np: spec\.ports\[0\]\.nodePort: must be in the node port range 30000-32767/);
  });

  it('render: exit 0, the NodePort 3001 rendered', async () => {
    const r = await svcplane(['render', '--backend', 'iptables', '-f', LIVE, '--node-ip', '192.168.50.1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /--dport 3001\b/);
    assert.match(r.stdout, /-d 10\.200\.0\.10\/32/);
  });
});

describe('nothing read is not an empty cluster', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'svp-cli-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const empty = join(tmp, 'empty.yaml');
  writeFileSync(empty, '# nothing here\n');
  const folder = join(tmp, 'no-yaml');

  it('an empty file: exit 2 naming it; --allow-empty renders the empty ruleset', async () => {
    const r = await svcplane(['render', '--backend', 'nftables', '-f', empty]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`-f: no object read from "${empty.replace(/[.]/g, '\\.')}"`));
    assert.equal(r.stdout, '', 'nothing rendered');
    const ok = await svcplane(['render', '--backend', 'nftables', '-f', empty, '--allow-empty']);
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('a folder without manifests, and a mistyped folder: exit 2 naming them', async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(folder);
    writeFileSync(join(folder, 'README.txt'), 'not a manifest');
    const r = await svcplane(['check', '--backend', 'nftables', '-f', folder]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no object read from/);
    assert.ok(r.stderr.includes(folder));
    const typo = await svcplane(['apply', '--backend', 'nftables', '--dry-run', '-f', `${folder}-typo`]);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /no such file or folder/);
  });

  it('an EndpointSlice whose Service is not in the input is a warning naming both', async () => {
    const slice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'orphan-1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'orphan' } },
      addressType: 'IPv4',
      ports: [{ port: 80 }],
      endpoints: [{ addresses: ['10.244.1.10'] }],
    };
    const r = await svcplane(['plan', '-f', '-'], JSON.stringify(slice));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: EndpointSlice shop\/orphan-1: its Service shop\/orphan .*is not among the inputs/);
  });
});

it('control characters in a name are escaped in errors and warnings', async () => {
  const hostile = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web\n\u001b[31mpwned\u0000', namespace: 'shop' },
    spec: { clusterIP: '10.96.0.10', ports: [{ port: 80 }] },
  };
  const r = await svcplane(['render', '--backend', 'nftables', '-f', '-'], JSON.stringify(hostile));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Service shop\/web\\n\\x1b\[31mpwned\\x00: metadata\.name/);
  assert.ok(!/[\u0000\u001b]/.test(r.stderr), 'no raw control character reaches the terminal');
  assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('error:')).length, 1, 'one line per problem');
});

it('svcplane agent --traffic-metrics with an unknown level names the flag and the levels, and exits 2', async () => {
  const r = await svcplane(['agent', '--backend', 'nftables', '--traffic-metrics', 'some', '--plan', '/nonexistent/svp-missing.json', '--endpoints-file', '/nonexistent/svp-eps']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^error: --traffic-metrics: must be one of endpoints, services, off$/m);
});

it('svcplane agent --plan /missing.json names the flag and exits 2', async () => {
  const r = await svcplane(['agent', '--backend', 'nftables', '--plan', '/nonexistent/svp-missing.json', '--endpoints-file', '/nonexistent/svp-eps']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^error: --plan: "\/nonexistent\/svp-missing\.json": no such file$/m);
});
