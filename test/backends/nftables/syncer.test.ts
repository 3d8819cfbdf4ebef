// The incremental syncer against the real kernel, in a throw-away network
// namespace: after every incremental sync, what the kernel lists back must equal
// a full render of the same input (the only truth that matters).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { nftRunner } from '../../../src/backends/nftables/apply.js';
import { diffTables, matchLive } from '../../../src/backends/nftables/diff.js';
import { renderTables, shardTableOf, TABLE_NAME } from '../../../src/backends/nftables/render.js';
import { add, del, elementObject, transactionText } from '../../../src/backends/nftables/transaction.js';
import { NftablesSyncer, type NftRunner } from '../../../src/backends/nftables/syncer.js';
import type { RenderInput } from '../../../src/model/render-input.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';

const NS = `svp-sync-${process.pid}`;

function world(opts: { extraEndpoint?: boolean; dropB?: boolean; bLocal?: boolean; affinity?: boolean } = {}): RenderInput {
  const services = [
    svc({ name: 'a', clusterIPs: ['10.96.0.1', 'fd00:10:96::1'], ports: [port(80, 8080, { name: 'http' }), port(443, 8443, { name: 'https' })] }),
    svc({ name: 'c', clusterIPs: ['10.96.0.3'], ports: [port(53, 53, { protocol: 'UDP' })], type: 'NodePort', ...(opts.affinity ? { sessionAffinity: { type: 'ClientIP' as const, timeoutSeconds: 30 } } : {}) }),
  ];
  services[1]!.ports[0]!.nodePort = 30053;
  if (!opts.dropB) services.push(svc({ name: 'b', clusterIPs: ['10.96.0.2'], ports: [port(80, 8080)], ...(opts.bLocal ? { internalTrafficPolicy: 'Local' as const } : {}) }));
  const aEps = [ep('10.244.1.10', 'node1'), ep('10.244.2.10', 'node2'), ...(opts.extraEndpoint ? [ep('10.244.2.11', 'node2')] : [])];
  return input(services, [
    slice('a', aEps, [{ name: 'http', port: 8080 }, { name: 'https', port: 8443 }]),
    slice('a', [ep('fd00:244:1::10', 'node1')], [{ name: 'http', port: 8080 }, { name: 'https', port: 8443 }], { addressType: 'IPv6' }),
    // b shares an endpoint address with a: the hairpin element is counted, not owned.
    slice('b', [ep('10.244.1.10', 'node1'), ep('10.244.2.20', 'node2')], [{ port: 8080 }]),
    slice('c', [ep('10.244.1.30', 'node1')], [{ port: 53, protocol: 'UDP' }]),
  ]);
}

async function assertKernelMatches(runner: NftRunner, inp: RenderInput): Promise<void> {
  const want = renderTables(inp);
  const live = matchLive(want, await runner.list());
  assert.equal(live.filter(Boolean).length, want.length, 'every table of ours (main and shards, both families) exists');
  const tx = diffTables(want, live);
  assert.deepEqual(tx.commands, [], 'the kernel differs from a full render');
}

describe('nftables incremental syncer (real nft, throw-away namespace)', () => {
  const runner = nftRunner(NS);
  before(async () => {
    await execa('ip', ['netns', 'add', NS]);
  });
  after(async () => {
    await execa('ip', ['netns', 'delete', NS], { reject: false });
  });

  it('converges with a full sync first, then follows changes incrementally', async () => {
    const s = new NftablesSyncer(runner);
    const first = await s.sync(world(), new Set(['default/a']));
    assert.equal(first.full, true, 'no state yet: full');
    await assertKernelMatches(runner, world());

    const again = await s.sync(world(), new Set(['default/a']));
    assert.equal(again.full, false);
    assert.equal(again.transaction, '', 'nothing changed, nothing sent');

    const grow = await s.sync(world({ extraEndpoint: true }), new Set(['default/a']));
    assert.equal(grow.full, false);
    assert.ok(grow.changes > 0 && grow.changes <= 5, `changes: ${grow.changes}`); // its DNAT rule, hairpin and endpoint-traffic elements, the chain
    assert.doesNotMatch(grow.transaction, /default\/b/, 'other Services are not touched');
    await assertKernelMatches(runner, world({ extraEndpoint: true }));

    // A verdict changes for the same key (Cluster -> Local policy chain).
    await s.sync(world({ extraEndpoint: true, bLocal: true }), new Set(['default/b']));
    await assertKernelMatches(runner, world({ extraEndpoint: true, bLocal: true }));

    // A Service goes; the endpoint address it shared with another keeps its hairpin element.
    await s.sync(world({ extraEndpoint: true, dropB: true }), new Set(['default/b']));
    await assertKernelMatches(runner, world({ extraEndpoint: true, dropB: true }));

    // Affinity adds and removes per-endpoint chains and sets.
    await s.sync(world({ dropB: true, affinity: true }), new Set(['default/c', 'default/a']));
    await assertKernelMatches(runner, world({ dropB: true, affinity: true }));
    await s.sync(world({ dropB: true }), new Set(['default/c']));
    await assertKernelMatches(runner, world({ dropB: true }));
  });

  it('preserved Services (malformed input) keep their kernel rules, in full and incremental syncs', async () => {
    const s = new NftablesSyncer(runner);
    await s.sync(world());
    // b's input is now "malformed": the input lacks b entirely, but its rules must stay.
    const r = await s.sync(world({ dropB: true }), undefined, ['default/b']);
    assert.equal(r.full, true);
    await assertKernelMatches(runner, world());
    // While b stays preserved, changes to a are incremental and b is untouched.
    const inc = await s.sync(world({ dropB: true, extraEndpoint: true }), new Set(['default/a', 'default/b']), ['default/b']);
    assert.equal(inc.full, false);
    await assertKernelMatches(runner, world({ extraEndpoint: true }));
    // b's input is fixed: its rules are unknown to the syncer, so that sync is a full one, and converges.
    const fixed = await s.sync(world({ extraEndpoint: true, bLocal: true }), new Set(['default/b']));
    assert.equal(fixed.full, true);
    await assertKernelMatches(runner, world({ extraEndpoint: true, bLocal: true }));
  });

  it('a sync without a change list is full and repairs a table flushed behind its back', async () => {
    const s = new NftablesSyncer(runner);
    await s.sync(world());
    await execa('ip', ['netns', 'exec', NS, 'nft', 'flush', 'table', 'ip', 'svcplane']);
    const r = await s.sync(world());
    assert.equal(r.full, true);
    assert.ok(r.changes > 0);
    await assertKernelMatches(runner, world());
  });

  it('a read-back full sync goes table by table (each read once, never all at once) and repairs elements and rules changed behind its back, in one transaction', async () => {
    const calls: string[] = [];
    const counting: NftRunner = {
      list: () => (calls.push('list'), runner.list()),
      listTable: (family, name) => (calls.push(`listTable ${family} ${name}`), runner.listTable!(family, name)),
      load: (d) => (calls.push('load'), runner.load(d)),
      loadChunks: (c) => (calls.push('load'), runner.loadChunks!(c)),
    };
    const s = new NftablesSyncer(counting);
    await s.sync(world());
    // In the main table: one element of a set deleted, an address no Service holds added to it.
    const main = (await runner.listTable!('ip', TABLE_NAME))!;
    const set = main.sets.find((x) => x.kind === 'set' && x.type === 'ipv4_addr' && x.elements.length > 0 && !x.flags?.includes('timeout'))!;
    assert.ok(set, 'the main table has an address set with elements');
    await runner.load(transactionText([del(elementObject(main, set, [set.elements[0]!])), add(elementObject(main, set, [{ key: '10.99.99.99' }]))]));
    // In a shard: a rule of a Service's chain deleted.
    const shard = shardTableOf('default', 'a');
    const listed = JSON.parse((await execa('ip', ['netns', 'exec', NS, 'nft', '-j', '-a', 'list', 'table', 'ip', shard])).stdout) as { nftables: { rule?: { chain: string; handle: number } }[] };
    const rule = listed.nftables.map((x) => x.rule).find((r) => r !== undefined && r.chain !== 'nat-prerouting')!;
    await execa('ip', ['netns', 'exec', NS, 'nft', 'delete', 'rule', 'ip', shard, rule.chain, 'handle', String(rule.handle)]);

    const want = renderTables(world());
    assert.ok(diffTables(want, matchLive(want, await runner.list())).commands.length > 0, 'the kernel differs now');

    calls.length = 0;
    const r = await s.sync(world());
    assert.equal(r.full, true);
    assert.ok(r.changes >= 3, `changes: ${r.changes}`); // the element back, the extra one gone, the chain rewritten
    assert.ok(!calls.includes('list'), 'no listing of every table at once');
    const reads = calls.filter((c) => c.startsWith('listTable '));
    assert.equal(new Set(reads).size, reads.length, 'each table read once');
    assert.ok(reads.includes(`listTable ip ${TABLE_NAME}`) && reads.includes(`listTable ip ${shard}`));
    assert.deepEqual(calls.slice(reads.length), ['load'], 'one transaction, after the reads');
    await assertKernelMatches(runner, world());
  });

  it('a streamed read-back (each table listed once, diffed as it is read) repairs a set element deleted, added and changed, and chains tampered with, in one transaction', async () => {
    const calls: string[] = [];
    const counting: NftRunner = {
      list: () => (calls.push('list'), runner.list()),
      listTable: (family, name) => (calls.push('listTable'), runner.listTable!(family, name)),
      streamTable: (family, name, sink) => (calls.push(`streamTable ${family} ${name}`), runner.streamTable!(family, name, sink)),
      load: (d) => (calls.push('load'), runner.load(d)),
      loadChunks: (c) => (calls.push('load'), runner.loadChunks!(c)),
    };
    const s = new NftablesSyncer(counting);
    await s.sync(world());
    const nft = (...args: string[]) => execa('ip', ['netns', 'exec', NS, 'nft', ...args]);
    // The main table's cluster-ips: one element gone, one no Service holds, one with another comment.
    await nft('delete', 'element', 'ip', TABLE_NAME, 'cluster-ips', '{ 10.96.0.1 }');
    await nft('add', 'element', 'ip', TABLE_NAME, 'cluster-ips', '{ 10.99.99.99 }');
    await nft('delete', 'element', 'ip', TABLE_NAME, 'cluster-ips', '{ 10.96.0.2 }');
    await nft('add', 'element', 'ip', TABLE_NAME, 'cluster-ips', '{ 10.96.0.2 comment "tampered" }');
    // A shard's Service chain: a rule appended; the main table's reject chain flushed.
    const shard = shardTableOf('default', 'a');
    await nft('add', 'rule', 'ip', shard, 'svc-default/a/tcp/80', 'counter', 'accept');
    await nft('flush', 'chain', 'ip', TABLE_NAME, 'reject-chain');
    const want = renderTables(world());
    assert.ok(diffTables(want, matchLive(want, await runner.list())).commands.length > 0, 'the kernel differs now');

    calls.length = 0;
    const r = await s.sync(world());
    assert.equal(r.full, true);
    assert.ok(r.changes >= 6, `changes: ${r.changes}`); // 10.96.0.1 back, 10.99.99.99 gone, 10.96.0.2 deleted and re-added, two chains rewritten
    assert.ok(!calls.includes('list') && !calls.includes('listTable'), 'no table parsed whole');
    const reads = calls.filter((c) => c.startsWith('streamTable '));
    assert.equal(new Set(reads).size, reads.length, 'each table listed once');
    assert.ok(reads.includes(`streamTable ip ${TABLE_NAME}`) && reads.includes(`streamTable ip ${shard}`));
    assert.deepEqual(calls.slice(reads.length), ['load'], 'one transaction, after the reads');
    await assertKernelMatches(runner, world());
    const again = await s.sync(world());
    assert.equal(again.changes, 0, 'repaired: the next read-back finds nothing');
  });

  it('after a failed transaction it forgets its state and converges with a full sync', async () => {
    let fail = false;
    const flaky: NftRunner = {
      list: runner.list,
      load: async (doc) => {
        if (fail) throw new Error('injected nft failure');
        return runner.load(doc);
      },
    };
    const s = new NftablesSyncer(flaky);
    await s.sync(world());
    fail = true;
    await assert.rejects(s.sync(world({ extraEndpoint: true }), new Set(['default/a'])), /injected/);
    fail = false;
    const r = await s.sync(world({ extraEndpoint: true }), new Set(['default/a']));
    assert.equal(r.full, true, 'state was dropped after the failure');
    await assertKernelMatches(runner, world({ extraEndpoint: true }));
  });
});
