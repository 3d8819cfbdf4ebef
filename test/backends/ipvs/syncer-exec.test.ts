// The IPVS syncer's exact tool calls, without a kernel (this machine has no IPVS):
// a recording FakeExec answers the read-backs of an empty node and accepts every
// write. A first sync reads everything and sends everything; after it, an endpoint
// change sends only that Service's real servers and hairpin members and reads
// nothing; a Service whose input was skipped as malformed gets nothing sent; a sync
// with nothing changed runs no tool at all; a failure makes the next sync full again.
// The helper iptables rules go through the iptables backend's runner, so they use the
// node's iptables flavour (nft here, legacy when it holds the rules).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IptablesRunner } from '../../../src/backends/iptables/apply.js';
import { IpvsSyncer } from '../../../src/backends/ipvs/syncer.js';
import { FakeExec } from '../../../src/exec/fake.js';
import type { RenderInput } from '../../../src/model/render-input.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';

const WEB = svc({ name: 'web', clusterIPs: ['10.96.0.10'], ports: [port(80, 8080)] });
const DB = svc({ name: 'db', clusterIPs: ['10.96.0.11'], ports: [port(5432)] });
const DB_SLICE = slice('db', [ep('10.244.2.11', 'node2')], [{ port: 5432 }]);
const webSlice = (ips: string[]) => slice('web', ips.map((ip) => ep(ip, 'node1')), [{ port: 8080 }]);

const both = (webIPs: string[]): RenderInput => input([WEB, DB], [webSlice(webIPs), DB_SLICE]);

/** An empty node: no dummy interface, no virtual servers, sets or chains; iptables-nft only. Every write succeeds. */
function emptyNode(flavour: 'nft' | 'legacy' = 'nft'): FakeExec {
  const other = flavour === 'nft' ? 'legacy' : 'nft';
  const fake = new FakeExec()
    .on('ip', ['-j', 'addr'], { exitCode: 1, stderr: 'Device "svcplane-ipvs0" does not exist.' })
    .on('ip', ['link'])
    .on('ip', ['addr'])
    .on(`iptables-${other}-save`, [], { exitCode: 127, stderr: 'not found' })
    .on('ipvsadm', [])
    .on('ipset', []);
  for (const v of ['iptables', 'ip6tables']) {
    fake.on(`${v}-${flavour}-save`, [], { stdout: flavour === 'legacy' && v === 'iptables' ? '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n' : '' });
    fake.on(`${v}-${flavour}-restore`, []);
    fake.on(`${v}-${flavour}`, [], { exitCode: 1, stderr: 'Bad rule (does a matching rule exist in that chain?).' });
    for (const table of ['mangle', 'nat', 'filter']) fake.on(`${v}-${flavour}`, ['-w', '-t', table, '-I']);
  }
  return fake;
}

function syncer(fake: FakeExec): IpvsSyncer {
  return new IpvsSyncer({ exec: fake, iptables: new IptablesRunner(undefined, 'auto', fake) });
}

/** The commands run since the last call, then forgets them. */
function take(fake: FakeExec): { lines: string[]; inputs: string[] } {
  const lines = fake.lines();
  const inputs = fake.commands.map((c) => c.input ?? '');
  fake.commands.length = 0;
  return { lines, inputs };
}

const hooks = (tool: string) =>
  [
    ['mangle', 'OUTPUT', 'SVP-OUTPUT-FIREWALL'],
    ['nat', 'PREROUTING', 'SVP-SERVICES'],
    ['nat', 'OUTPUT', 'SVP-SERVICES'],
    ['nat', 'POSTROUTING', 'SVP-POSTROUTING'],
    ['filter', 'INPUT', 'SVP-INPUT'],
  ].flatMap(([table, chain, target]) => [
    `${tool} -w -t ${table} -C ${chain} -m comment --comment svcplane -j ${target}`,
    `${tool} -w -t ${table} -I ${chain} 1 -m comment --comment svcplane -j ${target}`,
  ]);

describe('ipvs syncer: the exact commands (FakeExec)', () => {
  it('a first sync reads everything back, then sends addresses, sets, chains and jumps, virtual servers', async () => {
    const fake = emptyNode();
    const r = await syncer(fake).sync(both(['10.244.1.10']));
    assert.equal(r.full, true);
    const { lines, inputs } = take(fake);
    assert.deepEqual(lines, [
      'ip -j addr show dev svcplane-ipvs0',
      'iptables-legacy-save',
      'iptables-nft-save',
      ...['mangle', 'nat', 'filter'].map((t) => `iptables-nft-save -t ${t}`),
      ...['mangle', 'nat', 'filter'].map((t) => `ip6tables-nft-save -t ${t}`),
      'ipvsadm -Sn',
      'ipset save',
      'ip link add svcplane-ipvs0 type dummy',
      'ip link set svcplane-ipvs0 up',
      'ip addr add 10.96.0.10/32 dev svcplane-ipvs0',
      'ip addr add 10.96.0.11/32 dev svcplane-ipvs0',
      'ipset restore',
      'iptables-nft-restore --noflush -w',
      ...hooks('iptables-nft'),
      'ip6tables-nft-restore --noflush -w',
      ...hooks('ip6tables-nft'),
      'ipvsadm -R',
    ]);
    assert.equal(
      inputs[lines.indexOf('ipvsadm -R')],
      [
        '-A -t 10.96.0.10:80 -s rr',
        '-a -t 10.96.0.10:80 -r 10.244.1.10:8080 -m -w 1',
        '-A -t 10.96.0.11:5432 -s rr',
        '-a -t 10.96.0.11:5432 -r 10.244.2.11:5432 -m -w 1',
        '',
      ].join('\n'),
    );
    const sets = inputs[lines.indexOf('ipset restore')]!.split('\n');
    for (const l of ['create SVP-CLUSTER-IP hash:ip,port family inet -exist', 'add SVP-CLUSTER-IP 10.96.0.10,tcp:80 -exist', 'add SVP-CLUSTER-IP 10.96.0.11,tcp:5432 -exist', 'add SVP-LOOP-BACK 10.244.1.10,tcp:8080,10.244.1.10 -exist']) {
      assert.ok(sets.includes(l), `ipset restore lacks ${l}`);
    }
    const v4 = inputs[lines.indexOf('iptables-nft-restore --noflush -w')]!;
    assert.deepEqual(v4.split('\n').filter((l) => l.startsWith('*')), ['*mangle', '*nat', '*filter']);
  });

  it('an endpoint change sends only that Service\'s real servers and hairpin members, and reads nothing', async () => {
    const fake = emptyNode();
    const s = syncer(fake);
    await s.sync(both(['10.244.1.10']));
    take(fake);
    const r = await s.sync(both(['10.244.1.11']));
    assert.equal(r.full, false);
    assert.equal(r.changes, 4);
    assert.deepEqual(take(fake), {
      lines: ['ipset restore', 'ipvsadm -R', 'ipset restore'],
      inputs: [
        'add SVP-LOOP-BACK 10.244.1.11,tcp:8080,10.244.1.11 -exist\n',
        '-a -t 10.96.0.10:80 -r 10.244.1.11:8080 -m -w 1\n-d -t 10.96.0.10:80 -r 10.244.1.10:8080\n',
        'del SVP-LOOP-BACK 10.244.1.10,tcp:8080,10.244.1.10 -exist\n',
      ],
    });
  });

  it('a Service whose EndpointSlice was malformed keeps its real servers: nothing is sent for it', async () => {
    const fake = emptyNode();
    const s = syncer(fake);
    await s.sync(both(['10.244.1.10']));
    take(fake);
    // db's slice was skipped: rendered alone, db would lose its real server and hairpin member.
    const dbSkipped = input([WEB, DB], [webSlice(['10.244.1.10'])]);
    const r = await s.sync(dbSkipped, { preserve: ['default/db'] });
    assert.deepEqual(take(fake).lines, []);
    assert.equal(r.changes, 0);
    // The same while web changes: only web's commands.
    await s.sync(input([WEB, DB], [webSlice(['10.244.1.12'])]), { preserve: ['default/db'] });
    const { lines, inputs } = take(fake);
    assert.deepEqual(lines, ['ipset restore', 'ipvsadm -R']);
    assert.ok(inputs.every((i) => !i.includes('10.244.2.11') && !i.includes('10.96.0.11')), inputs.join('---\n'));
  });

  it('a Service whose Service object was malformed keeps its virtual server, address and set members', async () => {
    const fake = emptyNode();
    const s = syncer(fake);
    await s.sync(both(['10.244.1.10']));
    take(fake);
    const r = await s.sync(input([WEB], [webSlice(['10.244.1.10'])]), { preserve: ['default/db'] });
    assert.deepEqual(take(fake).lines, []);
    assert.equal(r.changes, 0);
    // Once its input is good again and db is really gone, it is removed.
    await s.sync(input([WEB], [webSlice(['10.244.1.10'])]));
    const { lines, inputs } = take(fake);
    assert.deepEqual(lines, ['ip addr del 10.96.0.11/32 dev svcplane-ipvs0', 'ipvsadm -R', 'ipset restore']);
    assert.equal(inputs[1], '-D -t 10.96.0.11:5432\n');
  });

  it('a resync with nothing changed runs no tool at all', async () => {
    const fake = emptyNode();
    const s = syncer(fake);
    await s.sync(both(['10.244.1.10']));
    take(fake);
    const r = await s.sync(both(['10.244.1.10']));
    assert.deepEqual({ full: r.full, changes: r.changes, transaction: r.transaction }, { full: false, changes: 0, transaction: '' });
    assert.deepEqual(take(fake).lines, []);
  });

  it('after a failed send the next sync reads everything back again', async () => {
    const fake = emptyNode();
    const s = syncer(fake);
    await s.sync(both(['10.244.1.10']));
    take(fake);
    let failures = 1;
    fake.on('ipvsadm', ['-R'], () => (failures-- > 0 ? { exitCode: 2, stderr: 'Memory allocation problem' } : {}));
    await assert.rejects(s.sync(both(['10.244.1.11'])), /ipvsadm -R exited 2: Memory allocation problem/);
    take(fake);
    const r = await s.sync(both(['10.244.1.11']));
    assert.equal(r.full, true);
    assert.equal(take(fake).lines[0], 'ip -j addr show dev svcplane-ipvs0');
  });

  it('follows the node\'s iptables flavour: legacy when iptables-legacy holds the rules', async () => {
    const fake = emptyNode('legacy');
    await syncer(fake).sync(both(['10.244.1.10']));
    const lines = take(fake).lines;
    assert.ok(lines.includes('iptables-legacy-restore --noflush -w'), lines.join('\n'));
    assert.ok(lines.includes('iptables-legacy -w -t nat -I PREROUTING 1 -m comment --comment svcplane -j SVP-SERVICES'), lines.join('\n'));
    assert.ok(!lines.some((l) => l.startsWith('iptables-nft-restore') || l.startsWith('iptables -')), lines.join('\n'));
  });
});
