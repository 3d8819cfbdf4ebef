// `svcplane trace` as a user runs it (exit codes, --json), and the interpreters'
// refusal to guess: a rule they do not understand is an error naming the rule.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { nftablesBackend } from '../../src/backends/nftables/index.js';
import { iptablesBackend } from '../../src/backends/iptables/index.js';
import { traceDocument } from '../../src/trace/index.js';
import { features } from '../helpers/features.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const WEB = fileURLToPath(new URL('../cli/fixtures/web.yaml', import.meta.url));

async function svcplane(args: string[]) {
  const r = await execa('node', ['--import', 'tsx', CLI, 'trace', ...args], { reject: false });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

describe('svcplane trace (CLI)', () => {
  it('--json prints one object with verdict, endpoints, masquerade and path', async () => {
    for (const backend of ['nftables', 'iptables', 'ipvs']) {
      const r = await svcplane(['--backend', backend, '-f', WEB, '--node-ip', '192.168.50.1', '--src', '192.168.60.5', '--dst', '10.96.0.10:80', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const o = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.deepEqual(Object.keys(o).sort(), ['endpoints', 'masquerade', 'path', 'verdict']);
      assert.equal(o.verdict, 'dnat', backend);
      assert.deepEqual(o.endpoints, ['10.244.1.10:8080', '10.244.2.10:8080'], backend);
      assert.ok(Array.isArray(o.path) && o.path.length > 2);
    }
  });

  it('prints a readable trace without --json', async () => {
    const r = await svcplane(['--backend', 'nftables', '-f', WEB, '--src', '10.244.1.3', '--dst', '10.96.0.10:81', '--proto', 'TCP']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^verdict: +reject$/m);
    assert.match(r.stdout, /cluster-ips-check/);
  });

  it('usage errors exit 2 and name the flag', async () => {
    const cases: [string[], RegExp][] = [
      [['--src', '10.0.0.1', '--dst', '10.96.0.10'], /--dst/],
      [['--src', 'nope', '--dst', '10.96.0.10:80'], /--src/],
      [['--dst', '10.96.0.10:80'], /--src/],
      [['--src', '10.0.0.1', '--dst', '10.96.0.10:80', '--proto', 'icmp'], /--proto/],
      [['--src', 'fd00::1', '--dst', '10.96.0.10:80'], /--src/],
      [['--src', '10.0.0.1', '--dst', '10.96.0.10:80', '--live'], /--live/],
    ];
    for (const [args, flag] of cases) {
      const r = await svcplane(['--backend', 'nftables', '-f', WEB, ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, flag);
    }
    const bad = await svcplane(['--backend', 'nope', '-f', WEB, '--src', '10.0.0.1', '--dst', '10.96.0.10:80']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--backend/);
  });
});

describe('trace interpreters refuse what they do not understand', () => {
  const node = { localAddresses: ['192.168.50.1'] };
  const packet = { src: '10.244.1.5', dst: '10.96.0.10', dport: 80, proto: 'tcp' as const };
  const input = features['clusterip-named-targetport']!;

  it('nftables: an unknown statement names the chain and rule', () => {
    const doc = nftablesBackend.render(input).replace(
      '"chain":"services","expr":[',
      '"chain":"services","expr":[{"log":{"prefix":"x"}},',
    );
    assert.throws(() => traceDocument('nftables', doc, packet, node), /rule (\S+\/)?services\[0\].*statement not understood.*log/);
  });

  it('iptables: an unknown match module names the rule', () => {
    const doc = iptablesBackend.render(input).replace(/(-A SVP-SERVICES -d 10\.96\.0\.10\/32 )/, '$1-m owner --uid-owner 0 ');
    assert.throws(() => traceDocument('iptables', doc, packet, node), /SVP-SERVICES\[0\].*match module owner/);
  });

  it('nftables: interface-based pod detection needs the packet\'s interface', () => {
    const doc = nftablesBackend.render(features['detect-local-bridge']!);
    assert.throws(() => traceDocument('nftables', doc, { ...packet, dst: '10.96.0.81' }, node), /--iif/);
  });
});
