// NodeAgent's kubeProxyConfig: a typed interface, so a misspelt field fails tsc, and
// the same strict reader as the agent's at synth, so a cast or a JavaScript caller
// fails synth, naming the field.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { NodeAgent, SvcplaneSynthError } from '../../src/constructs/index.js';
import { agentConfigFile } from '../../src/constructs/node-agent-config.js';
import { appAndChart } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('a misspelt kubeProxyConfig field fails synth, naming it and the construct path', () => {
  const { app, chart } = appAndChart();
  // What a JavaScript caller (or a cast) can pass; TypeScript refuses it (next test).
  new NodeAgent(chart, 'agent', { image: 'x/y:1', kubeProxyConfig: { clusterCidr: '10.244.0.0/16', conntrack: { maxPerCPU: 1 } } as never });
  let err: unknown;
  try {
    app.check();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof SvcplaneSynthError, String(err));
  assert.match(err.message, /\[chart\/agent\] kubeProxyConfig\.clusterCidr: unknown field \(did you mean "clusterCIDR"\?\)/);
  assert.match(err.message, /\[chart\/agent\] kubeProxyConfig\.conntrack\.maxPerCPU: unknown field/);
});

test('fields the agent does not act on are warnings, not problems', () => {
  const f = agentConfigFile({ clusterCIDR: '10.244.0.0/16', oomScoreAdj: -999, conntrack: { maxPerCore: 0 } }, 'nftables');
  assert.deepEqual(f.problems, []);
  assert.ok(f.yaml?.includes('oomScoreAdj: -999'));
  assert.deepEqual(f.warnings, ["KubeProxyConfiguration: oomScoreAdj: accepted but not acted on (set the agent's OOM score in its pod spec)"]);
});

test('tsc refuses a misspelt kubeProxyConfig field and takes the right spelling', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(ROOT, '.tmp-kpc-'));
  try {
    const src = join(ROOT, 'src/constructs/index.js').replace(/\\/g, '/');
    writeFileSync(
      join(dir, 'use.ts'),
      [
        `import type { NodeAgentProps } from '${src}';`,
        `export const good: NodeAgentProps = { image: 'x', kubeProxyConfig: { clusterCIDR: '10.244.0.0/16', ipvs: { strictARP: true }, conntrack: { maxPerCore: 0 } } };`,
        `export const bad: NodeAgentProps = { image: 'x', kubeProxyConfig: { clusterCidr: '10.244.0.0/16' } };`,
        `export const badNested: NodeAgentProps = { image: 'x', kubeProxyConfig: { conntrack: { tcpEstablishedTimeout: 86400 } } };`,
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ extends: '../tsconfig.json', compilerOptions: { rootDir: '..', noEmit: true }, include: ['use.ts'] }),
    );
    const r = await execa('npx', ['tsc', '-p', join(dir, 'tsconfig.json')], { cwd: ROOT, reject: false });
    const errors = String(r.stdout).split('\n').filter((l) => l.includes('error TS'));
    assert.equal(r.exitCode, 2, String(r.stdout));
    // Line 3 (clusterCidr) and line 4 (a number for a duration), nothing else.
    assert.deepEqual(errors.map((l) => /use\.ts\((\d+),/.exec(l)?.[1]), ['3', '4'], String(r.stdout));
    assert.match(errors[0]!, /clusterCidr/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
