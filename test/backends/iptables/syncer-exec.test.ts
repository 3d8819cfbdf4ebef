// The iptables syncer without a kernel: the tools run through a recording FakeExec,
// so these tests assert the exact commands and the iptables-restore input a sync
// sends. What the kernel then does with them is syncer.test.ts's job.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IptablesRunner, removeJumps } from '../../../src/backends/iptables/apply.js';
import { BUILTIN_JUMPS } from '../../../src/backends/iptables/render.js';
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

/** iptables-nft on an empty node: nothing saved, every restore accepted, no jump of ours present yet, no ipset yet. */
function fakeIptables(): FakeExec {
  const fake = new FakeExec().on('ipset', ['save']).on('ipset', ['restore']);
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
  it('full sync: reads the sets, creates and fills the traffic set, saves both tables, restores once per family, then checks and inserts each jump and counting rule', async () => {
    const fake = fakeIptables();
    await new IptablesSyncer(new IptablesRunner(undefined, 'nft', fake)).sync(world());
    // The set exists before any rule names it.
    assert.deepEqual(fake.lines().slice(0, 2), ['ipset save', 'ipset restore']);
    assert.equal(fake.commands[1]!.input, [
      'create SVP-ENDPOINT-TRAFFIC hash:ip,port family inet maxelem 1048576 counters comment -exist',
      'add SVP-ENDPOINT-TRAFFIC 10.244.1.10,tcp:8080 comment "default/a:80/TCP" -exist',
      'add SVP-ENDPOINT-TRAFFIC 10.244.1.20,tcp:8080 comment "default/b:80/TCP" -exist',
      'create SVP6-ENDPOINT-TRAFFIC hash:ip,port family inet6 maxelem 1048576 counters comment -exist',
      '',
    ].join('\n'));
    assert.equal(fake.lines().filter((l) => l.startsWith('ipset')).length, 2);
    const v4 = fake.lines().filter((l) => l.startsWith('iptables'));
    assert.deepEqual(v4.slice(0, 3), ['iptables-nft-save -t filter', 'iptables-nft-save -t nat', 'iptables-nft-restore --noflush -w']);
    const jumps = v4.slice(3);
    assert.equal(jumps.length % 2, 0);
    jumps.forEach((line, i) => assert.match(line, i % 2 === 0 ? /^iptables-nft -w -t (nat|filter|mangle) -C [A-Z]+ / : /^iptables-nft -w -t (nat|filter|mangle) -I [A-Z]+ 1 /));
    assert.equal(jumps.filter((l) => / -I (POSTROUTING|INPUT) 1 .*--match-set SVP-ENDPOINT-TRAFFIC/.test(l)).length, 4);
    assert.equal(fake.lines().filter((l) => l.startsWith('ip6tables-nft-restore')).length, 1);
  });

  it('a full sync into a node without our jumps inserts the ones that DNAT last: nothing is DNATed before masquerading and the filter chains are in place', async () => {
    // After someone flushed the tables every jump is missing, and each goes in with a command
    // of its own. Were nat PREROUTING first, a hairpin or NodePort connection to a remote
    // endpoint made in between would be DNATed and not masqueraded (its reply bypasses this
    // node and it times out): the cluster faults test saw exactly that after a repair.
    const fake = fakeIptables();
    await new IptablesSyncer(new IptablesRunner(undefined, 'nft', fake)).sync(world());
    const inserted = fake.lines().flatMap((l) => {
      const m = /^iptables-nft -w -t (nat|filter) -I ([A-Z]+) 1 .* -j SVP-/.exec(l);
      return m ? [`${m[1]} ${m[2]}`] : [];
    });
    assert.deepEqual([...inserted].sort(), ['filter FORWARD', 'filter INPUT', 'filter OUTPUT', 'nat OUTPUT', 'nat POSTROUTING', 'nat PREROUTING']);
    const firstDnat = Math.min(inserted.indexOf('nat PREROUTING'), inserted.indexOf('nat OUTPUT'));
    for (const before of ['nat POSTROUTING', 'filter INPUT', 'filter FORWARD', 'filter OUTPUT']) assert.ok(inserted.indexOf(before) < firstDnat, `${before} before the DNAT jumps: ${inserted.join(', ')}`);
  });

  it('removing our jumps takes out the ones that DNAT first, masquerading last', async () => {
    const present = new Set(BUILTIN_JUMPS.map((j) => `${j.table} ${j.chain}`));
    const key = (args: readonly string[]) => `${args[args.indexOf('-t') + 1]} ${args[args.indexOf('-t') + 3]}`;
    const fake = new FakeExec().on('iptables-nft', ['-w'], (c) => {
      if (c.args.includes('-D')) present.delete(key(c.args));
      return c.args.includes('-C') && !present.has(key(c.args)) ? { exitCode: 1 } : {};
    });
    assert.equal(await removeJumps(new IptablesRunner(undefined, 'nft', fake), 'IPv4'), BUILTIN_JUMPS.length);
    const removed = fake.lines().flatMap((l) => (/ -D /.test(l) ? [key(l.split(' '))] : []));
    assert.ok(removed.indexOf('nat PREROUTING') < removed.indexOf('nat POSTROUTING') && removed.indexOf('nat OUTPUT') < removed.indexOf('nat POSTROUTING'), removed.join(', '));
  });

  it('an endpoint change: one iptables-restore of only the changed Service’s chains, nothing read back, no jump checked', async () => {
    const fake = fakeIptables();
    const s = new IptablesSyncer(new IptablesRunner(undefined, 'nft', fake));
    await s.sync(world());
    const before = fake.commands.length;
    const r = await s.sync(world(true), { changed: new Set(['default/a']) });
    assert.equal(r.full, false);
    assert.deepEqual(fake.lines().slice(before), ['ipset restore', 'iptables-nft-restore --noflush -w'], 'IPv6 has nothing to change: no ip6tables at all');
    // Only the new endpoint's element, before the rules that DNAT to it.
    assert.equal(fake.commands[before]!.input, 'add SVP-ENDPOINT-TRAFFIC 10.244.2.10,tcp:8080 comment "default/a:80/TCP" -exist\n');
    assert.equal(fake.commands.at(-1)!.input, A_GAINS_AN_ENDPOINT);
    assert.doesNotMatch(fake.commands.at(-1)!.input!, /default\/b/, 'Service b is not touched');

    // The endpoint leaves: its element goes after the rules stopped sending traffic to it.
    const again = fake.commands.length;
    await s.sync(world(), { changed: new Set(['default/a']) });
    assert.deepEqual(fake.lines().slice(again), ['iptables-nft-restore --noflush -w', 'ipset restore']);
    assert.equal(fake.commands.at(-1)!.input, 'del SVP-ENDPOINT-TRAFFIC 10.244.2.10,tcp:8080 -exist\n');
    // Nothing changed: nothing sent.
    const idle = fake.commands.length;
    await s.sync(world(), { changed: new Set(['default/a']) });
    assert.equal(fake.commands.length, idle);
  });

  it('after a full sync it remembers the traffic set as rendered (stale elements read back are gone), but not while a Service is preserved', async () => {
    // The kernel's set: a's element with another comment, and an element of Service c, whose input is skipped (preserved) in the second run.
    const saved = [
      'create SVP-ENDPOINT-TRAFFIC hash:ip,port family inet hashsize 1024 maxelem 1048576 counters comment',
      'add SVP-ENDPOINT-TRAFFIC 10.244.1.10,tcp:8080 packets 3 bytes 180 comment "default/old:80/TCP"',
      'add SVP-ENDPOINT-TRAFFIC 10.244.3.30,tcp:8080 packets 0 bytes 0 comment "default/c:80/TCP"',
      '',
    ].join('\n');
    const remembered = async (preserve: string[]) => {
      const fake = fakeIptables().on('ipset', ['save'], { stdout: saved });
      const s = new IptablesSyncer(new IptablesRunner(undefined, 'nft', fake));
      await s.sync(world(), { preserveServices: preserve });
      const set = (s as unknown as { sets: Map<string, { entries: Set<string>; comments: Map<string, string> }> }).sets.get('SVP-ENDPOINT-TRAFFIC')!;
      return Object.fromEntries([...set.entries].sort().map((e) => [e, set.comments.get(e)]));
    };
    assert.deepEqual(await remembered([]), { '10.244.1.10,tcp:8080': 'default/a:80/TCP', '10.244.1.20,tcp:8080': 'default/b:80/TCP' });
    // c keeps its element in the kernel (no deletion sent): so does the syncer's memory.
    assert.deepEqual(await remembered(['default/c']), { '10.244.1.10,tcp:8080': 'default/a:80/TCP', '10.244.1.20,tcp:8080': 'default/b:80/TCP', '10.244.3.30,tcp:8080': 'default/c:80/TCP' });
  });

  it('a node where ipset cannot run gets its rules without the traffic set or its counting rules', async () => {
    const fake = fakeIptables().on('ipset', ['save'], { exitCode: 1, stderr: 'spawn ipset ENOENT' });
    await new IptablesSyncer(new IptablesRunner(undefined, 'nft', fake)).sync(world());
    assert.deepEqual(fake.lines().filter((l) => l.startsWith('ipset')), ['ipset save']);
    assert.equal(fake.lines().filter((l) => l.includes('-t mangle')).length, 0);
    assert.ok(fake.lines().some((l) => l.startsWith('iptables-nft-restore')));
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
    assert.deepEqual(fake.lines().slice(before, before + 4), [
      'ip netns exec svp-test-ns ipset save',
      'ip netns exec svp-test-ns ipset restore',
      'ip netns exec svp-test-ns iptables-nft-save -t filter',
      'ip netns exec svp-test-ns iptables-nft-save -t nat',
    ]);
  });
});
