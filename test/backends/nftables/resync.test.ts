// A resync (no change list) of an unchanged input, against the real kernel in a
// throw-away namespace: it sends no transaction and reads nothing back while the
// kernel's summary (tables, chain and set counts, the rules of each shard's entry
// chain) agrees; a table or chain deleted, or a shard table flushed, behind its back
// is seen and repaired at once; a single rule
// deleted (invisible to the summary) is repaired by the periodic full read-back.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { nftRunner } from '../../../src/backends/nftables/apply.js';
import { diffTables, matchLive } from '../../../src/backends/nftables/diff.js';
import { renderTables, shardTableOf } from '../../../src/backends/nftables/render.js';
import { NftablesSyncer, type NftRunner } from '../../../src/backends/nftables/syncer.js';
import type { RenderInput } from '../../../src/model/render-input.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';

const NS = `svp-resync-${process.pid}`;
const nft = (...args: string[]) => execa('ip', ['netns', 'exec', NS, 'nft', ...args]);

/** The real runner, with every call it gets recorded by name. */
function recording(): { runner: NftRunner; calls: string[] } {
  const real = nftRunner(NS);
  const calls: string[] = [];
  return {
    calls,
    runner: {
      list: () => (calls.push('list'), real.list()),
      // A full sync reads one table at a time: the run of those reads is recorded as one 'listTable'.
      listTable: (family, name) => (calls.at(-1) !== 'listTable' && calls.push('listTable'), real.listTable!(family, name)),
      load: (d) => (calls.push('load'), real.load(d)),
      summary: () => (calls.push('summary'), real.summary!()),
      ruleCounts: (chains) => (calls.push('ruleCounts'), real.ruleCounts!(chains)),
    },
  };
}

// One input object for the whole test: the agent hands the same arrays while nothing changes.
const INPUT: RenderInput = input(
  [
    svc({ name: 'a', clusterIPs: ['10.96.0.1', 'fd00:10:96::1'], ports: [port(80, 8080)] }),
    svc({ name: 'b', clusterIPs: ['10.96.0.2'], ports: [port(53, 53, { protocol: 'UDP' })] }),
  ],
  [slice('a', [ep('10.244.1.10', 'node1'), ep('10.244.2.10', 'node2')], [{ port: 8080 }]), slice('b', [ep('10.244.1.20', 'node1')], [{ port: 53, protocol: 'UDP' }])],
);

async function kernelDiff(runner: NftRunner): Promise<number> {
  const want = renderTables(INPUT);
  return diffTables(want, matchLive(want, await runner.list())).commands.length;
}

describe('nftables resync with nothing changed (real nft, throw-away namespace)', () => {
  before(async () => {
    await execa('ip', ['netns', 'add', NS]);
  });
  after(async () => {
    await execa('ip', ['netns', 'delete', NS], { reject: false });
  });

  it('sends no transaction and reads nothing back while the summary agrees', async () => {
    const { runner, calls } = recording();
    const s = new NftablesSyncer(runner, 5);
    assert.equal((await s.sync(INPUT)).full, true);
    calls.length = 0;
    for (let i = 0; i < 3; i++) {
      const r = await s.sync(INPUT);
      assert.equal(r.verified, true);
      assert.equal(r.transaction, '');
    }
    assert.deepEqual(calls, ['summary', 'ruleCounts', 'summary', 'ruleCounts', 'summary', 'ruleCounts'], 'only the summary and the shards\' entry chains: no read-back, no load');
    assert.equal(await kernelDiff(runner), 0);
  });

  it('a table or a chain deleted behind its back is seen by the summary and repaired by the next resync', async () => {
    const { runner, calls } = recording();
    const s = new NftablesSyncer(runner, 100);
    await s.sync(INPUT);
    await nft('delete', 'table', 'ip', shardTableOf('default', 'a'));
    calls.length = 0;
    const r = await s.sync(INPUT);
    assert.notEqual(r.verified, true);
    assert.deepEqual(calls, ['summary', 'ruleCounts', 'listTable', 'load'], 'the summary disagreed: read back (table by table) and repaired');
    assert.equal(await kernelDiff(runner), 0);

    // A chain of the main table, gone with its rules.
    const listed = JSON.parse((await nft('-j', 'list', 'chains', 'ip')).stdout) as { nftables: { chain?: { table: string; name: string; hook?: string } }[] };
    const victim = listed.nftables.map((x) => x.chain).find((c) => c && c.table === 'svcplane' && !c.hook && c.name !== '')!;
    await nft('flush', 'chain', 'ip', 'svcplane', victim.name);
    // Jumps to it must go before the chain can: delete it with whatever refers to it by flushing the table's rules.
    await nft('flush', 'table', 'ip', 'svcplane');
    await nft('delete', 'chain', 'ip', 'svcplane', victim.name);
    assert.ok((await kernelDiff(runner)) > 0, 'the kernel differs now');
    assert.notEqual((await s.sync(INPUT)).verified, true);
    assert.equal(await kernelDiff(runner), 0);
  });

  it('a shard table flushed behind its back (rules gone, chains and sets kept) is seen by its entry chain and repaired by the next resync', async () => {
    const { runner } = recording();
    const s = new NftablesSyncer(runner, 100);
    await s.sync(INPUT);
    await nft('flush', 'table', 'ip', shardTableOf('default', 'a'));
    assert.ok((await kernelDiff(runner)) > 0, 'the kernel differs now');
    const r = await s.sync(INPUT);
    assert.notEqual(r.verified, true);
    assert.ok(r.changes > 0);
    assert.equal(await kernelDiff(runner), 0);
    assert.equal((await s.sync(INPUT)).verified, true, 'and the next resync agrees again');
  });

  it('a single rule deleted behind its back is repaired by the periodic full read-back', async () => {
    const { runner } = recording();
    const every = 3;
    const s = new NftablesSyncer(runner, every);
    await s.sync(INPUT);
    const shard = shardTableOf('default', 'a');
    const listed = JSON.parse((await nft('-j', '-a', 'list', 'table', 'ip', shard)).stdout) as { nftables: { rule?: { chain: string; handle: number } }[] };
    // A rule of a Service's chain: the shard's entry chain is counted at every resync.
    const rule = listed.nftables.map((x) => x.rule).find((r) => r !== undefined && r.chain !== 'nat-prerouting')!;
    await nft('delete', 'rule', 'ip', shard, rule.chain, 'handle', String(rule.handle));
    assert.ok((await kernelDiff(runner)) > 0, 'the kernel differs now');
    const results = [];
    for (let i = 0; i < every; i++) results.push(await s.sync(INPUT));
    assert.deepEqual(results.map((r) => r.verified === true), [true, true, false], 'summaries agree; the third resync reads back');
    assert.ok(results[2]!.changes > 0);
    assert.equal(await kernelDiff(runner), 0);
  });

  it('an input that is not the very same arrays is not trusted: full sync', async () => {
    const { runner } = recording();
    const s = new NftablesSyncer(runner, 100);
    await s.sync(INPUT);
    const copy: RenderInput = { ...INPUT, endpointSlices: [...INPUT.endpointSlices] };
    const r = await s.sync(copy);
    assert.equal(r.full, true);
    assert.notEqual(r.verified, true);
  });
});
