// --log-level, kube-proxy's -v and the KubeProxyConfiguration's logging.verbosity,
// mapped onto the agent's log level (src/agent/log-level.ts), and the command's answer
// to a bad value.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { logSettings, verbosityToLevel } from '../../src/agent/log-level.js';
import { readProxyConfig } from '../../src/manifests/proxy-config.js';
import { isInputError } from '../../src/model/errors.js';

test("klog's verbosity maps 0-1 info, 2 info with detail, 3-4 debug, 5+ trace", () => {
  const at = (v: number) => verbosityToLevel(v);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 9].map((v) => `${at(v).level}${at(v).detail ? '+' : ''}`), ['info', 'info', 'info+', 'debug+', 'debug+', 'trace+', 'trace+']);
});

test('--log-level wins over -v, which wins over the file; bad values name the flag', () => {
  assert.deepEqual(logSettings({ logLevel: 'warn', v: '5' }, 4), { level: 'warn', detail: false });
  assert.deepEqual(logSettings({ v: '2' }, 5), { level: 'info', detail: true });
  assert.deepEqual(logSettings({}, 4), { level: 'debug', detail: true });
  assert.deepEqual(logSettings({}, undefined), { level: 'info', detail: false });
  for (const [flags, field] of [[{ logLevel: 'loud' }, '--log-level'], [{ v: '-1' }, '-v'], [{ v: 'two' }, '-v']] as const) {
    assert.throws(() => logSettings(flags, undefined), (e: unknown) => isInputError(e) && e.issues[0]!.field === field);
  }
});

test("logging.verbosity is read from the KubeProxyConfiguration; logging's other fields still warn", () => {
  const r = readProxyConfig({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', logging: { verbosity: 4, format: 'text' } });
  assert.equal(r.config.logVerbosity, 4);
  assert.deepEqual(r.warnings, ['KubeProxyConfiguration: logging.format: accepted but not acted on (the agent logs JSON lines on stderr)']);
  assert.equal(readProxyConfig({ logging: { verbosity: 0 } }).config.logVerbosity, undefined, "0 is klog's default");
});

test('svcplane agent: a bad --log-level or -v is exit 2 naming the flag, before anything runs', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'svcplane-loglevel-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'plan.json'), '{}');
  const cli = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
  const base = ['agent', '--backend', 'nftables', '--plan', join(dir, 'plan.json'), '--endpoints-file', dir];
  for (const [args, flag] of [[['--log-level', 'loud'], '--log-level'], [['--v=x'], '-v'], [['-v', '1.5'], '-v']] as const) {
    const r = await execa('node', ['--import', 'tsx', cli, ...base, ...args], { reject: false });
    assert.equal(r.exitCode, 2, r.stderr);
    assert.ok(r.stderr.includes(flag), r.stderr);
  }
});
