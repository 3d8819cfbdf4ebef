// A KubeProxyConfiguration through the real command: strict in every command (an
// unknown key is exit 2 naming it), ignored fields a warning on stderr.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const WEB = fileURLToPath(new URL('./fixtures/web.yaml', import.meta.url));

async function svcplane(args: string[]) {
  const r = await execa('node', ['--import', 'tsx', CLI, ...args], { reject: false });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

const config = (body: string) => `apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n${body}`;

describe('svcplane with a KubeProxyConfiguration', { timeout: 180_000 }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'svcplane-kpc-'));
    writeFileSync(join(dir, 'typo.yaml'), config('clusterCidr: 10.244.0.0/16\nconntrack:\n  maxPerCPU: 8\n'));
    writeFileSync(join(dir, 'ignored.yaml'), config('clusterCIDR: 10.244.0.0/16\noomScoreAdj: -999\nconntrack:\n  maxPerCore: 0\n'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [cmd, extra] of [['plan', []], ['render', ['--backend', 'nftables']]] as const) {
    it(`${cmd}: a misspelt field is exit 2, naming the file, the object and each field`, async () => {
      const r = await svcplane([cmd, ...extra, '-f', WEB, '--config', join(dir, 'typo.yaml')]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /typo\.yaml#1: KubeProxyConfiguration: .*clusterCidr: unknown field \(did you mean "clusterCIDR"\?\)/);
      assert.match(r.stderr, /conntrack\.maxPerCPU: unknown field/);
    });
  }

  it('render: a field svcplane does not act on is one warning on stderr, and the render goes on', async () => {
    const r = await svcplane(['render', '--backend', 'nftables', '-f', WEB, '--config', join(dir, 'ignored.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.length > 0);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('not acted on'));
    assert.deepEqual(warnings.length, 1, r.stderr);
    assert.match(warnings[0]!, /^warning: .*ignored\.yaml.*oomScoreAdj: accepted but not acted on/);
  });
});
