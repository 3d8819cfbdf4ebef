// The svcplane command as a user runs it: a real child process, its stdout, stderr
// and exit code (0 ok, 1 runtime failure, 2 bad input or usage).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { loadPlan } from '../../src/model/plan.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const fx = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

async function svcplane(args: string[], input?: string) {
  const r = await execa('node', ['--import', 'tsx', CLI, ...args], { reject: false, ...(input !== undefined ? { input } : {}) });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

describe('svcplane CLI', () => {
  it('--help lists the subcommands and exits 0', async () => {
    const r = await svcplane(['--help']);
    assert.equal(r.code, 0);
    for (const cmd of ['plan', 'render', 'apply', 'cleanup']) assert.match(r.stdout, new RegExp(`\\b${cmd}\\b`));
  });

  it('an unknown subcommand or option is a usage error: exit 2', async () => {
    assert.equal((await svcplane(['frobnicate'])).code, 2);
    assert.equal((await svcplane(['plan', '--no-such-flag'])).code, 2);
  });

  it('plan prints a loadable, normalised plan and warns about skipped kinds', async () => {
    const r = await svcplane(['plan', '-f', fx('web.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    const plan = loadPlan(JSON.parse(r.stdout));
    assert.deepEqual(plan.services.map((s) => `${s.namespace}/${s.name}`), ['shop/web']);
    assert.equal(plan.services[0]!.ports[0]!.protocol, 'TCP', 'defaults are applied');
    assert.match(r.stderr, /ConfigMap/);
  });

  it('plan reads stdin with -f -', async () => {
    const { readFileSync } = await import('node:fs');
    const r = await svcplane(['plan', '-f', '-'], readFileSync(fx('web.yaml'), 'utf8'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"name": "web"/);
  });

  it('a malformed Service: exit 2, the error names the object and the field', async () => {
    const r = await svcplane(['plan', '-f', fx('bad-service.yaml')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Service shop\/broken/);
    assert.match(r.stderr, /spec\.ports\[0\]\.port/);
  });

  it('render --backend nftables prints the ruleset for a node', async () => {
    const r = await svcplane(['render', '--backend', 'nftables', '-f', fx('web.yaml'), '--node-name', 'node1', '--node-ip', '192.168.50.1']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { nftables: unknown[] };
    assert.ok(doc.nftables.length > 10);
    assert.match(r.stdout, /"dnat":\{"addr":"10\.244\.1\.10","port":8080\}/);
  });

  it('render: an unknown backend is exit 2 and named', async () => {
    const r = await svcplane(['render', '--backend', 'bogus', '-f', fx('web.yaml')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown backend "bogus"/);
  });

  it('render: a malformed EndpointSlice is skipped and named, the rest renders, exit 2', async () => {
    const r = await svcplane(['render', '--backend', 'nftables', '-f', fx('web.yaml'), '-f', fx('bad-slice.yaml')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /EndpointSlice shop\/web-bad/);
    assert.match(r.stdout, /10\.244\.2\.10/, 'the good slice still renders');
  });

  it('no input, a bad --mode, a bad --node-ip: exit 2 with the flag named', async () => {
    assert.match((await svcplane(['render', '--backend', 'nftables'])).stderr, /-f/);
    const mode = await svcplane(['plan', '-f', fx('web.yaml'), '--mode', 'sideways']);
    assert.equal(mode.code, 2);
    assert.match(mode.stderr, /--mode/);
    const ip = await svcplane(['plan', '-f', fx('web.yaml'), '--node-ip', '1.2.3']);
    assert.equal(ip.code, 2);
    assert.match(ip.stderr, /--node-ip/);
  });

  it('a missing file is bad input: exit 2', async () => {
    const r = await svcplane(['plan', '-f', '/nonexistent/file.yaml']);
    assert.equal(r.code, 2, r.stderr);
  });
});
