// Elements two Services share (a pod backing both: its hairpin pair) across
// incremental syncs. The syncer keeps only how many fragments hold each element
// (element-refs.ts): it must add the element when the first comes, leave it while
// another still holds it, and delete it with the last.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NftablesSyncer, type NftRunner } from '../../../src/backends/nftables/syncer.js';
import type { RenderInput } from '../../../src/model/render-input.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';

const SHARED = '10.244.1.10';
const HAIRPIN = `{"concat":["${SHARED}","${SHARED}"]}`;

function world(aHas: boolean, bHas: boolean): RenderInput {
  return input(
    [svc({ name: 'a', clusterIPs: ['10.96.0.1'], ports: [port(80, 8080)] }), svc({ name: 'b', clusterIPs: ['10.96.0.2'], ports: [port(80, 8080)] })],
    [
      slice('a', [ep('10.244.1.11', 'node1'), ...(aHas ? [ep(SHARED, 'node1')] : [])], [{ port: 8080 }]),
      slice('b', [ep('10.244.1.12', 'node1'), ...(bHas ? [ep(SHARED, 'node1')] : [])], [{ port: 8080 }]),
    ],
  );
}

/** The hairpin lines of a transaction: `add` or `delete` of the shared pod's pair. */
function hairpinVerbs(transaction: string): string[] {
  return transaction
    .split('\n')
    .filter((l) => l.includes('"name":"hairpin"') && l.includes(HAIRPIN))
    .map((l) => (l.startsWith('{"add"') ? 'add' : l.startsWith('{"delete"') ? 'delete' : l));
}

describe('nftables syncer: elements two Services share', () => {
  it('adds the element with its first holder, keeps it while one is left, deletes it with the last', async () => {
    const runner: NftRunner = { list: async () => [], load: async () => {} };
    const s = new NftablesSyncer(runner);
    const first = await s.sync(world(true, false));
    assert.deepEqual(hairpinVerbs(first.transaction), ['add']);

    const bJoins = await s.sync(world(true, true), new Set(['default/b']));
    assert.equal(bJoins.full, false);
    assert.match(bJoins.transaction, /default\/b/, "b's chain is rewritten");
    assert.deepEqual(hairpinVerbs(bJoins.transaction), [], 'a already holds it');

    const aLeaves = await s.sync(world(false, true), new Set(['default/a']));
    assert.deepEqual(hairpinVerbs(aLeaves.transaction), [], 'b still holds it');

    const bLeaves = await s.sync(world(false, false), new Set(['default/b']));
    assert.deepEqual(hairpinVerbs(bLeaves.transaction), ['delete']);

    const back = await s.sync(world(false, true), new Set(['default/b']));
    assert.deepEqual(hairpinVerbs(back.transaction), ['add']);
  });
});
