// The long-lived `nft -j -i` session (src/exec/session.ts) against the real kernel, in a
// throw-away network namespace: it applies the syncer's incremental transactions, a
// refused transaction changes nothing and fails as a one-shot refusal does, and a
// killed nft is replaced without losing a transaction.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { nftRunner } from '../../../src/backends/nftables/apply.js';
import { diffTables, matchLive } from '../../../src/backends/nftables/diff.js';
import { renderTables } from '../../../src/backends/nftables/render.js';
import { NftablesSyncer, type NftRunner } from '../../../src/backends/nftables/syncer.js';
import { ExecError } from '../../../src/exec/exec.js';
import { NftSession } from '../../../src/exec/session.js';
import type { RenderInput } from '../../../src/model/render-input.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';

const NS = `svp-session-${process.pid}`;

function world(endpoints: number): RenderInput {
  const eps = Array.from({ length: endpoints }, (_, i) => ep(`10.244.1.${10 + i}`, i % 2 ? 'node2' : 'node1'));
  return input([svc({ name: 'a', clusterIPs: ['10.96.0.1'], ports: [port(80, 8080)] })], [slice('a', eps, [{ port: 8080 }])]);
}

async function assertKernelMatches(runner: NftRunner, inp: RenderInput): Promise<void> {
  const want = renderTables(inp);
  assert.deepEqual(diffTables(want, matchLive(want, await runner.list())).commands, [], 'the kernel differs from a full render');
}

async function hairpin(): Promise<string> {
  return (await execa('ip', ['netns', 'exec', NS, 'nft', 'list', 'set', 'ip', 'svcplane', 'hairpin'])).stdout;
}

const element = (verb: 'add' | 'delete', ip: string) => ({ [verb]: { element: { family: 'ip', table: 'svcplane', name: 'hairpin', elem: [{ concat: [ip, ip] }] } } });
const documentOf = (...commands: object[]) => `${JSON.stringify({ nftables: commands })}\n`;

describe('nft -j -i session (real nft, throw-away namespace)', () => {
  const base = nftRunner(NS);
  const session = new NftSession({ netns: NS });
  const runner: NftRunner = { ...base, loadIncremental: async (d) => void (await session.load(d, base.load)) };
  const syncer = new NftablesSyncer(runner);
  before(async () => {
    await execa('ip', ['netns', 'add', NS]);
  });
  after(async () => {
    session.close();
    await execa('ip', ['netns', 'delete', NS], { reject: false });
  });

  it('applies the syncer\'s incremental transactions (full sync one-shot, changes through the session)', async () => {
    assert.equal((await syncer.sync(world(2))).full, true);
    for (const n of [3, 4, 1, 2]) {
      const r = await syncer.sync(world(n), new Set(['default/a']));
      assert.equal(r.full, false);
      assert.notEqual(r.transaction, '');
      await assertKernelMatches(base, world(n));
    }
    assert.equal(session.stats.answered, 4, 'every incremental transaction went through the session');
    assert.equal(session.stats.started, 1, 'one nft process for all of them');
  });

  it('a refused transaction changes nothing and throws as a one-shot refusal does', async () => {
    const before = await hairpin();
    // The first command alone would succeed; the second cannot (no such element): the batch is refused whole.
    const doc = documentOf(element('add', '10.250.0.1'), element('delete', '10.250.0.2'));
    const oneShot = await base.load(doc).then(() => undefined, (e: unknown) => e);
    assert.ok(oneShot instanceof ExecError, 'one-shot refuses it');
    await assert.rejects(session.load(doc, base.load), (e: unknown) => {
      assert.ok(e instanceof ExecError);
      assert.match(e.message, /No such file or directory/);
      return true;
    });
    assert.equal(await hairpin(), before, 'the rules are as they were');
    assert.equal(session.stats.refused, 1);
    // And the session still works.
    assert.equal(await session.load(documentOf(element('add', '10.250.0.3')), base.load), 'session');
    assert.match(await hairpin(), /10\.250\.0\.3 \. 10\.250\.0\.3/);
  });

  it('recovers after the nft process is killed: no transaction is lost, a new process takes over', async () => {
    const pid = session.pid;
    assert.ok(pid, 'a session process runs');
    const started = session.stats.started;
    process.kill(pid, 'SIGKILL');
    // Whether the death is noticed before this transaction (new process) or during it (one-shot), it is applied.
    await session.load(documentOf(element('add', '10.250.0.4')), base.load);
    assert.match(await hairpin(), /10\.250\.0\.4 \. 10\.250\.0\.4/);
    assert.equal(await session.load(documentOf(element('add', '10.250.0.5')), base.load), 'session');
    assert.match(await hairpin(), /10\.250\.0\.5 \. 10\.250\.0\.5/);
    assert.equal(session.stats.started, started + 1);
    assert.notEqual(session.pid, pid);
  });
});
