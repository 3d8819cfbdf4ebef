// The agent's start-up capability check: parsed from real /proc status text, the
// missing capability named, and a process that has it passes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { assertCapabilities, missingCapabilities, parseEffectiveCapabilities } from '../../src/agent/capabilities.js';

/** Generous: each takes seconds at most; a hang fails here instead of holding `npm test`. */
const TIMEOUT = { timeout: 120_000 };

const status = (capEff: string) => `Name:\tnode\nCapInh:\t0000000000000000\nCapPrm:\t${capEff}\nCapEff:\t${capEff}\nCapBnd:\t000001ffffffffff\n`;

test('CapEff is read as a hex mask; NET_ADMIN is bit 12', TIMEOUT, () => {
  assert.equal(parseEffectiveCapabilities(status('00000000a80425fb')), 0xa80425fbn);
  // podman's default set plus NET_ADMIN (bit 12 = 0x1000), and without it.
  assert.deepEqual(missingCapabilities(0xa80435fbn, ['CAP_NET_ADMIN']), []);
  assert.deepEqual(missingCapabilities(0xa80425fbn, ['CAP_NET_ADMIN']), ['CAP_NET_ADMIN']);
  assert.throws(() => parseEffectiveCapabilities('Name:\tx\n'), /no CapEff line/);
});

test('a kernel backend without NET_ADMIN fails naming the capability and the fix; userspace needs none', TIMEOUT, () => {
  assert.throws(() => assertCapabilities('nftables', status('00000000a80425fb')), (e: Error) => {
    assert.match(e.message, /the nftables backend needs the CAP_NET_ADMIN capability, which this process does not have/);
    assert.match(e.message, /--cap-add NET_ADMIN/);
    return true;
  });
  assert.doesNotThrow(() => assertCapabilities('iptables', status('000001ffffffffff')));
  assert.doesNotThrow(() => assertCapabilities('userspace', status('0000000000000000')));
});

test('this process (root in CI) has NET_ADMIN; a child with it dropped by capsh (libcap2-bin) does not', TIMEOUT, () => {
  assert.doesNotThrow(() => assertCapabilities('nftables'));
  assert.ok(readFileSync('/proc/self/status', 'utf8').includes('CapEff:'));
  const capsh = spawnSync('capsh', ['--drop=cap_net_admin', '--', '-c', 'grep CapEff /proc/self/status'], { encoding: 'utf8' });
  assert.equal(capsh.error, undefined, `capsh: ${capsh.error?.message}`);
  assert.deepEqual(missingCapabilities(parseEffectiveCapabilities(capsh.stdout), ['CAP_NET_ADMIN']), ['CAP_NET_ADMIN']);
});
