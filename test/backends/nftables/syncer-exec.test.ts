// The nftables syncer without a kernel: nft runs through a recording FakeExec, so
// these tests assert the exact commands and transaction texts a sync sends. The
// expected texts were produced by the syncer before it moved onto src/exec and the
// typed transaction (transaction.ts): the bytes sent must not have changed.
// What the kernel then does with them is test/backends/nftables/syncer.test.ts's job.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nftRunner } from '../../../src/backends/nftables/apply.js';
import { tableObjects } from '../../../src/backends/nftables/document.js';
import { diffAll } from '../../../src/backends/nftables/diff.js';
import { readNftDocument } from '../../../src/backends/nftables/read.js';
import type { NftTable } from '../../../src/backends/nftables/nft.js';
import { renderTables, shardTableOf, TABLE_NAMES } from '../../../src/backends/nftables/render.js';
import { NftablesSyncer } from '../../../src/backends/nftables/syncer.js';
import { add, chainObject, ruleObject, setObject, transactionText } from '../../../src/backends/nftables/transaction.js';
import { ExecError, type Command } from '../../../src/exec/exec.js';
import { FakeExec } from '../../../src/exec/fake.js';
import { nftListing } from './nft-listing.js';
import type { RenderInput } from '../../../src/model/render-input.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';

// A second Service in a's shard table: removing it leaves the table in place (an incremental sync).
const MATE = 'bcdefghijklmnopqrstuvwxyz'.split('').find((n) => shardTableOf('default', n) === shardTableOf('default', 'a'))!;

function world(opts: { extraEndpoint?: boolean; withMate?: boolean } = {}): RenderInput {
  const withMate = opts.withMate ?? true;
  return input(
    [svc({ name: 'a', clusterIPs: ['10.96.0.1'], ports: [port(80, 8080)] }), ...(withMate ? [svc({ name: MATE, clusterIPs: ['10.96.0.2'], ports: [port(53, 5353, { protocol: 'UDP' })] })] : [])],
    [
      slice('a', [ep('10.244.1.10', 'node1'), ...(opts.extraEndpoint ? [ep('10.244.2.10', 'node2')] : [])], [{ port: 8080 }]),
      ...(withMate ? [slice(MATE, [ep('10.244.1.20', 'node1')], [{ port: 5353, protocol: 'UDP' as const }])] : []),
    ],
  );
}

const doc = (lines: string[]) => `{"nftables": [\n${['{"metainfo":{"json_schema_version":1}}', ...lines].join(',\n')}\n]}\n`;

/** Service a gets endpoint 10.244.2.10: its hairpin and endpoint-traffic elements come, its chain is rewritten; nothing else. */
const ENDPOINT_ADDED = doc([
  '{"add":{"element":{"family":"ip","table":"svcplane","name":"hairpin","elem":[{"concat":["10.244.2.10","10.244.2.10"]}]}}}',
  '{"add":{"element":{"family":"ip","table":"svcplane","name":"endpoint-traffic","elem":[{"elem":{"val":{"concat":["10.96.0.1","tcp",80,"10.244.2.10",8080]},"comment":"default/a:80/TCP"}}]}}}',
  '{"flush":{"chain":{"family":"ip","table":"svcplane-01","name":"svc-default/a/tcp/80"}}}',
  '{"add":{"rule":{"family":"ip","table":"svcplane-01","chain":"svc-default/a/tcp/80","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"daddr"}},"right":"10.96.0.1"}},{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":80}},{"match":{"op":"!=","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":"@pod-cidrs"}},{"jump":{"target":"mark-for-masquerade"}}],"comment":"not from a pod"}}}',
  '{"add":{"rule":{"family":"ip","table":"svcplane-01","chain":"svc-default/a/tcp/80","expr":[{"match":{"op":"==","left":{"numgen":{"mode":"random","mod":2,"offset":0}},"right":0}},{"match":{"op":"==","left":{"meta":{"key":"l4proto"}},"right":"tcp"}},{"counter":{"packets":0,"bytes":0}},{"dnat":{"addr":"10.244.1.10","port":8080}}],"comment":"10.244.1.10:8080"}}}',
  '{"add":{"rule":{"family":"ip","table":"svcplane-01","chain":"svc-default/a/tcp/80","expr":[{"match":{"op":"==","left":{"meta":{"key":"l4proto"}},"right":"tcp"}},{"counter":{"packets":0,"bytes":0}},{"dnat":{"addr":"10.244.2.10","port":8080}}],"comment":"10.244.2.10:8080"}}}',
]);

/** The mate Service removed: its elements go (its traffic counter too), then its chain (emptied first). */
const MATE_REMOVED = doc([
  `{"delete":{"element":{"family":"ip","table":"svcplane","name":"cluster-ips","elem":[{"elem":{"val":"10.96.0.2","comment":"default/${MATE}"}}]}}}`,
  '{"delete":{"element":{"family":"ip","table":"svcplane","name":"hairpin","elem":[{"concat":["10.244.1.20","10.244.1.20"]}]}}}',
  `{"delete":{"element":{"family":"ip","table":"svcplane","name":"service-traffic","elem":[{"elem":{"val":{"concat":["10.96.0.2","udp",53]},"comment":"default/${MATE}:53/UDP"}}]}}}`,
  `{"delete":{"element":{"family":"ip","table":"svcplane","name":"endpoint-traffic","elem":[{"elem":{"val":{"concat":["10.96.0.2","udp",53,"10.244.1.20",5353]},"comment":"default/${MATE}:53/UDP"}}]}}}`,
  `{"flush":{"chain":{"family":"ip","table":"svcplane-01","name":"svc-default/${MATE}/udp/53"}}}`,
  `{"delete":{"element":{"family":"ip","table":"svcplane-01","name":"service-ips","elem":[[{"elem":{"val":{"concat":["10.96.0.2","udp",53]},"comment":"default/${MATE}:53/UDP cluster IP"}},{"goto":{"target":"svc-default/${MATE}/udp/53"}}]]}}}`,
  `{"delete":{"chain":{"family":"ip","table":"svcplane-01","name":"svc-default/${MATE}/udp/53"}}}`,
]);

/**
 * nft as a fake: `kernel` is what the kernel holds (set by the test: the syncer's
 * transactions are not interpreted), listed back in nft's JSON; loads succeed unless
 * `failNextLoad` says otherwise.
 */
function fakeNft() {
  const state = { kernel: [] as NftTable[], failNextLoad: '' };
  const listing = (objects: ReturnType<typeof chainObject>[]) => ({ stdout: transactionText(objects) });
  const exec = new FakeExec()
    .on('nft', ['-j', 'list', 'table'], (c: Command) => {
      const t = state.kernel.find((x) => x.family === c.args[3] && x.name === c.args[4]);
      return t ? { stdout: nftListing([t]) } : { exitCode: 1, stderr: `Error: No such file or directory\nlist table ${c.args[3]} ${c.args[4]}\n` };
    })
    .on('nft', ['-j', 'list', 'chain'], (c: Command) => {
      const t = state.kernel.find((x) => x.family === c.args[3] && x.name === c.args[4]);
      const ch = t?.chains.find((x) => x.name === c.args[5]);
      return t && ch ? listing([chainObject(t, ch), ...ch.rules.map((r) => ruleObject(t, ch.name, r))]) : { exitCode: 1, stderr: 'Error: No such file or directory\n' };
    })
    .on('nft', ['-j', 'list', 'chains'], () => listing(state.kernel.flatMap((t) => t.chains.map((c) => chainObject(t, c)))))
    .on('nft', ['-t', '-j', 'list', 'sets'], () => listing(state.kernel.flatMap((t) => t.sets.filter((s) => s.kind === 'set').map((s) => setObject(t, s)))))
    .on('nft', ['-t', '-j', 'list', 'maps'], () => listing(state.kernel.flatMap((t) => t.sets.filter((s) => s.kind === 'map').map((s) => setObject(t, s)))))
    .on('nft', ['-j', '-f', '-'], () => {
      const stderr = state.failNextLoad;
      state.failNextLoad = '';
      return stderr ? { exitCode: 1, stderr } : {};
    });
  return { exec, state };
}

const listTableLines = () => (['ip', 'ip6'] as const).flatMap((f) => TABLE_NAMES.map((n) => `nft -j list table ${f} ${n}`)).sort();

describe('nftables syncer through a FakeExec: the exact transactions', () => {
  it('first sync: reads every table of ours (none exists), then adds the whole render in one transaction', async () => {
    const { exec } = fakeNft();
    const s = new NftablesSyncer(nftRunner(undefined, exec));
    const r = await s.sync(world());
    assert.equal(r.full, true);
    const lines = exec.lines();
    assert.deepEqual(lines.slice(0, -1).sort(), listTableLines(), 'one `nft -j list table` per table name and family');
    assert.equal(lines.at(-1), 'nft -j -f -', 'then one transaction');
    assert.deepEqual(exec.inputsTo('nft'), [transactionText(tableObjects(renderTables(world())).map(add))]);
    assert.equal(r.transaction, exec.inputsTo('nft')[0]);
  });

  it('an endpoint added, then a Service removed: each one transaction holding only that Service’s objects, nothing read back', async () => {
    const { exec, state } = fakeNft();
    const s = new NftablesSyncer(nftRunner(undefined, exec));
    await s.sync(world());
    state.kernel = renderTables(world());
    const before = exec.commands.length;

    const change = await s.sync(world({ extraEndpoint: true }), new Set(['default/a']));
    assert.equal(change.full, false);
    const removal = await s.sync(world({ extraEndpoint: true, withMate: false }), new Set([`default/${MATE}`]));
    assert.equal(removal.full, false);

    assert.deepEqual(exec.lines().slice(before), ['nft -j -f -', 'nft -j -f -'], 'no listing: the syncer diffs against what it sent');
    assert.deepEqual(exec.inputsTo('nft').slice(1), [ENDPOINT_ADDED, MATE_REMOVED]);
  });

  it('a resync with nothing changed: three listings without rules or elements and each shard\'s entry chain, no transaction', async () => {
    const { exec, state } = fakeNft();
    const s = new NftablesSyncer(nftRunner(undefined, exec));
    const w = world();
    await s.sync(w);
    state.kernel = renderTables(w);
    const before = exec.commands.length;
    const r = await s.sync(w);
    assert.deepEqual({ full: r.full, verified: r.verified, transaction: r.transaction }, { full: true, verified: true, transaction: '' });
    const shards = [...new Set(state.kernel.filter((t) => t.name !== 'svcplane').map((t) => `nft -j list chain ${t.family} ${t.name} nat-prerouting`))];
    assert.ok(shards.length > 0);
    assert.deepEqual(exec.lines().slice(before).sort(), ['nft -j list chains', 'nft -t -j list maps', 'nft -t -j list sets', ...shards].sort());
  });

  it('a shard table flushed behind the syncer’s back (chains and sets kept, rules gone): its entry chain disagrees, the tables are read back and the rules restored', async () => {
    const { exec, state } = fakeNft();
    const s = new NftablesSyncer(nftRunner(undefined, exec));
    const w = world();
    await s.sync(w);
    const tables = renderTables(w);
    const shard = tables.find((t) => t.name !== 'svcplane')!;
    state.kernel = tables.map((t) => (t === shard ? { ...t, chains: t.chains.map((c) => ({ ...c, rules: [] })) } : t));
    const r = await s.sync(w);
    assert.equal(r.verified, undefined);
    assert.ok(r.changes > 0);
    assert.match(r.transaction, /"flush":\{"chain":\{"family":"ip","table":"svcplane-/);
  });

  it('a read-back of Service chains and elements changed behind the syncer’s back sends what diffAll of the whole render does', async () => {
    const { exec, state } = fakeNft();
    const s = new NftablesSyncer(nftRunner(undefined, exec), 1);
    const w = world();
    await s.sync(w);
    const tables = renderTables(w);
    // Every Service chain's first rule tampered with (its desired twin found by its name), a hairpin element swapped for a stranger.
    const drifted = tables.map((t) => ({
      ...t,
      chains: t.chains.map((c) => (c.name.startsWith('svc-') ? { ...c, rules: [{ ...c.rules[0]!, comment: 'tampered' }, ...c.rules.slice(1)] } : c)),
      sets: t.sets.map((x) => (x.name === 'hairpin' ? { ...x, elements: [...x.elements.slice(1), { key: { concat: ['10.244.9.9', '10.244.9.9'] } }] } : x)),
    }));
    state.kernel = drifted;
    const r = await s.sync(w);
    assert.equal(r.verified, undefined);
    const want = diffAll(tables, readNftDocument(nftListing(drifted)));
    assert.ok(want.commands.some((c) => 'flush' in c) && want.commands.some((c) => 'delete' in c), 'chains rewritten, elements deleted');
    assert.equal(r.transaction, transactionText(want.commands));
    assert.equal(r.changes, want.changes);
  });

  it('a chain gone behind the syncer’s back: the summary disagrees, the tables are read back and the chain restored', async () => {
    const { exec, state } = fakeNft();
    const s = new NftablesSyncer(nftRunner(undefined, exec));
    const w = world();
    await s.sync(w);
    const [main, ...rest] = renderTables(w);
    state.kernel = [{ ...main!, chains: main!.chains.filter((c) => c.name !== 'reject-chain') }, ...rest];
    const r = await s.sync(w);
    assert.equal(r.verified, undefined);
    const reject = main!.chains.find((c) => c.name === 'reject-chain')!;
    assert.equal(r.transaction, transactionText([add(chainObject(main!, reject)), ...reject.rules.map((rule) => add({ rule: { family: 'ip', table: 'svcplane', chain: 'reject-chain', expr: rule.expr } }))]));
  });

  it('with every shard in use, each resync lists a window of four entry chains, round the shards: a flushed shard is seen within four resyncs', async () => {
    const { exec, state } = fakeNft();
    const s = new NftablesSyncer(nftRunner(undefined, exec));
    const names = Array.from({ length: 64 }, (_, i) => `s${i}`);
    const w = input(
      names.map((n, i) => svc({ name: n, clusterIPs: [`10.96.1.${i + 1}`], ports: [port(80, 8080)] })),
      names.map((n, i) => slice(n, [ep(`10.244.1.${i + 1}`, 'node1')], [{ port: 8080 }])),
    );
    await s.sync(w);
    const tables = renderTables(w);
    const shards = tables.filter((t) => t.name !== 'svcplane');
    assert.equal(shards.length, TABLE_NAMES.length - 1, 'every shard holds a Service');
    state.kernel = tables;
    const listed = (from: number) => exec.lines().slice(from).filter((l) => l.startsWith('nft -j list chain '));
    let before = exec.commands.length;
    for (let i = 0; i < 4; i++) {
      const from = exec.commands.length;
      assert.equal((await s.sync(w)).verified, true);
      assert.equal(listed(from).length, 4, 'four entry chains a resync');
    }
    assert.equal(new Set(listed(before)).size, 16, 'four resyncs list every shard once');
    const last = shards.at(-1)!;
    state.kernel = tables.map((t) => (t === last ? { ...t, chains: t.chains.map((c) => ({ ...c, rules: [] })) } : t));
    before = exec.commands.length;
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await s.sync(w));
    assert.ok(results.some((r) => r.verified !== true && r.changes > 0), 'the flushed shard was repaired');
  });

  it('a failed transaction is an ExecError naming the command and nft’s stderr; the next sync is full and sends the same change', async () => {
    const { exec, state } = fakeNft();
    const s = new NftablesSyncer(nftRunner(undefined, exec));
    await s.sync(world());
    state.kernel = renderTables(world());
    state.failNextLoad = 'Error: Could not process rule: No such file or directory\n';
    await assert.rejects(s.sync(world({ extraEndpoint: true }), new Set(['default/a'])), (e: unknown) => {
      assert.ok(e instanceof ExecError);
      assert.equal(e.message, 'nft -j -f - exited 1: Error: Could not process rule: No such file or directory');
      return true;
    });
    const before = exec.commands.length;
    const r = await s.sync(world({ extraEndpoint: true }), new Set(['default/a']));
    assert.equal(r.full, true, 'after a failure the syncer no longer trusts what it sent');
    assert.deepEqual(exec.lines().slice(before, -1).sort(), listTableLines(), 'so it reads every table back');
    assert.equal(r.transaction, ENDPOINT_ADDED, 'and the kernel, which kept the old rules, gets the same change');
  });

  it('in a network namespace every nft runs there (ip netns exec)', async () => {
    const { exec } = fakeNft();
    await new NftablesSyncer(nftRunner('svp-test-ns', exec)).sync(world());
    assert.ok(exec.commands.every((c) => c.netns === 'svp-test-ns'));
    assert.equal(exec.lines().at(-1), 'ip netns exec svp-test-ns nft -j -f -');
  });
});
