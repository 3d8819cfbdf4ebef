// The iptables syncer without a kernel: the tools run through a recording FakeExec,
// so these tests assert the exact commands and the iptables-restore input a sync
// sends. What the kernel then does with them is syncer.test.ts's job.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IptablesRunner } from '../../../src/backends/iptables/apply.js';
import { IptablesSyncer } from '../../../src/backends/iptables/syncer.js';
import { ExecError } from '../../../src/exec/exec.js';
import { FakeExec } from '../../../src/exec/fake.js';
import type { RenderInput } from '../../../src/model/render-input.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';

function world(extraEndpoint = false): RenderInput {
  return input(
    [svc({ name: 'a', clusterIPs: ['10.96.0.1'], ports: [port(80, 8080)] }), svc({ name: 'b', clusterIPs: ['10.96.0.2'], ports: [port(80, 8080)] })],
    [slice('a', [ep('10.244.1.10', 'node1'), ...(extraEndpoint ? [ep('10.244.2.10', 'node2')] : [])], [{ port: 8080 }]), slice('b', [ep('10.244.1.20', 'node1')], [{ port: 8080 }])],
  );
}

/** iptables-nft on an empty node: nothing saved, every restore accepted, no jump of ours present yet. */
function fakeIptables(): FakeExec {
  const fake = new FakeExec();
  for (const tool of ['iptables', 'ip6tables']) {
    fake
      .on(`${tool}-nft-save`, [])
      .on(`${tool}-nft-restore`, [])
      .on(`${tool}-nft`, ['-w'], (c) => (c.args.includes('-C') ? { exitCode: 1, stderr: 'iptables: Bad rule (does a matching rule exist in that chain?).' } : {}));
  }
  return fake;
}

/** a's chains after 10.244.2.10 joined: its Service chain rewritten, the new endpoint's chain created. */
const A_GAINS_AN_ENDPOINT = [
  '*nat',
  ':SVP-SVC-6RSUA5CN3U5MF3AP - [0:0]',
  ':SVP-SEP-AKG2HRO66PWIF2YJ - [0:0]',
  '-A SVP-SVC-6RSUA5CN3U5MF3AP ! -s 10.244.0.0/16 -d 10.96.0.1/32 -p tcp -m comment --comment "default/a:80/TCP cluster IP" -m tcp --dport 80 -j SVP-MARK-MASQ',
  '-A SVP-SVC-6RSUA5CN3U5MF3AP -m comment --comment "default/a:80/TCP -> 10.244.1.10:8080" -m statistic --mode random --probability 0.50000000000 -j SVP-SEP-3HRN37XMCBBWXAEL',
  '-A SVP-SVC-6RSUA5CN3U5MF3AP -m comment --comment "default/a:80/TCP -> 10.244.2.10:8080" -j SVP-SEP-AKG2HRO66PWIF2YJ',
  '-A SVP-SEP-AKG2HRO66PWIF2YJ -s 10.244.2.10/32 -m comment --comment "default/a:80/TCP" -j SVP-MARK-MASQ',
  '-A SVP-SEP-AKG2HRO66PWIF2YJ -p tcp -m comment --comment "default/a:80/TCP" -j DNAT --to-destination 10.244.2.10:8080',
  'COMMIT',
  '',
].join('\n');

describe('iptables syncer through a FakeExec: the exact commands', () => {
  it('full sync: saves both tables, restores once per family, then checks and inserts each jump', async () => {
    const fake = fakeIptables();
    await new IptablesSyncer(new IptablesRunner(undefined, 'nft', fake)).sync(world());
    const v4 = fake.lines().filter((l) => l.startsWith('iptables'));
    assert.deepEqual(v4.slice(0, 3), ['iptables-nft-save -t filter', 'iptables-nft-save -t nat', 'iptables-nft-restore --noflush -w']);
    const jumps = v4.slice(3);
    assert.equal(jumps.length % 2, 0);
    jumps.forEach((line, i) => assert.match(line, i % 2 === 0 ? /^iptables-nft -w -t (nat|filter) -C [A-Z]+ / : /^iptables-nft -w -t (nat|filter) -I [A-Z]+ 1 /));
    assert.equal(fake.lines().filter((l) => l.startsWith('ip6tables-nft-restore')).length, 1);
  });

  it('an endpoint change: one iptables-restore of only the changed Service’s chains, nothing read back, no jump checked', async () => {
    const fake = fakeIptables();
    const s = new IptablesSyncer(new IptablesRunner(undefined, 'nft', fake));
    await s.sync(world());
    const before = fake.commands.length;
    const r = await s.sync(world(true), { changed: new Set(['default/a']) });
    assert.equal(r.full, false);
    assert.deepEqual(fake.lines().slice(before), ['iptables-nft-restore --noflush -w'], 'IPv6 has nothing to change: no ip6tables at all');
    assert.equal(fake.commands.at(-1)!.input, A_GAINS_AN_ENDPOINT);
    assert.doesNotMatch(fake.commands.at(-1)!.input!, /default\/b/, 'Service b is not touched');
  });

  it('a refused restore is an ExecError naming the tool and its stderr; the next sync is full (reads back, checks the jumps)', async () => {
    const fake = fakeIptables();
    const s = new IptablesSyncer(new IptablesRunner('svp-test-ns', 'nft', fake));
    await s.sync(world());
    fake.on('iptables-nft-restore', [], { exitCode: 2, stderr: 'iptables-restore v1.8.9 (nf_tables): line 3 failed' });
    await assert.rejects(s.sync(world(true), { changed: new Set(['default/a']) }), (e: unknown) => {
      assert.ok(e instanceof ExecError);
      assert.equal(e.message, 'ip netns exec svp-test-ns iptables-nft-restore --noflush -w exited 2: iptables-restore v1.8.9 (nf_tables): line 3 failed');
      return true;
    });
    fake.on('iptables-nft-restore', []);
    const before = fake.commands.length;
    const r = await s.sync(world(true), { changed: new Set(['default/a']) });
    assert.equal(r.full, true);
    assert.deepEqual(fake.lines().slice(before, before + 2), ['ip netns exec svp-test-ns iptables-nft-save -t filter', 'ip netns exec svp-test-ns iptables-nft-save -t nat']);
  });
});
