// A full sync writes its transaction in pieces made as they are written
// (transactionPieces, tableLoadCommands): the bytes must be those of the whole
// transaction built at once, however the pieces fall, long element lists included.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffTable } from '../../../src/backends/nftables/diff.js';
import { renderTables } from '../../../src/backends/nftables/render.js';
import { tableLoadCommands } from '../../../src/backends/nftables/table-load.js';
import { add, del, elementObject, tableObject, transactionChunks, transactionPieces, transactionText, type NftDocumentItem } from '../../../src/backends/nftables/transaction.js';
import type { NftSet } from '../../../src/backends/nftables/nft.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';

const world = input(
  [svc({ name: 'a', clusterIPs: ['10.96.0.1'], ports: [port(80, 8080), port(53, 5353, { protocol: 'UDP' })] }), svc({ name: 'b', clusterIPs: ['10.96.0.2'], ports: [port(443, 8443)] })],
  [
    slice('a', [ep('10.244.1.10', 'node1'), ep('10.244.2.10', 'node2')], [{ port: 8080 }, { port: 5353, protocol: 'UDP' as const }]),
    slice('b', [ep('10.244.1.11', 'node1')], [{ port: 8443 }]),
  ],
);

const joined = (items: Iterable<NftDocumentItem>, maxChars?: number) => [...transactionChunks(transactionPieces(items, maxChars))].join('');

describe('transactionPieces', () => {
  const map: NftSet = { kind: 'map', name: 'service-ips', type: ['ipv4_addr', 'inet_proto', 'inet_service'], map: 'verdict', elements: [] };
  const elements = Array.from({ length: 200 }, (_, i) => ({ key: { concat: [`10.96.0.${i}`, 'tcp', 80] }, value: { goto: { target: `svc-${i}` } }, ...(i % 3 ? { comment: `default/s${i}:80/TCP` } : {}) }));
  const t = { family: 'ip' as const, name: 'svcplane' };
  const items: NftDocumentItem[] = [add(tableObject(t)), add(elementObject(t, map, elements)), del(elementObject(t, map, elements.slice(3, 4))), add(elementObject(t, map, [])), tableObject(t)];

  it('gives the bytes of transactionText, whatever the piece size, a long element list cut inside', () => {
    for (const max of [1, 40, 200, 1000, 5000, Infinity]) assert.equal(joined(items, max), transactionText(items), `maxChars ${max}`);
  });

  it('cuts a long element line into pieces of about maxChars', () => {
    const pieces = [...transactionPieces([add(elementObject(t, map, elements))], 300)];
    // One line of ~15k characters, in pieces of 300 and a bit (the element that passed the mark).
    assert.ok(pieces.length > 5, `${pieces.length} pieces`);
    for (const p of pieces) assert.ok(p.length < 300 + 200, `a piece of ${p.length}`);
  });

  it('makes nothing from no items (a sync with nothing to send sends nothing)', () => {
    assert.deepEqual([...transactionPieces([])], []);
  });
});

describe('tableLoadCommands', () => {
  it('is what diffTable gives for a table the kernel lacks, counted the same', () => {
    for (const table of renderTables(world)) {
      let n = 0;
      const lazy = [...tableLoadCommands(table, () => n++)];
      const d = diffTable(table, undefined);
      assert.deepEqual(lazy, d.commands);
      assert.equal(n, d.changes);
    }
  });

  it('makes the same commands with the later chains (and elements) given as they are written', () => {
    let checked = 0;
    for (const table of renderTables(world)) {
      const cut = Math.ceil(table.chains.length / 2);
      const later = table.chains.slice(cut);
      let walks = 0;
      const moreChains = function* () {
        walks++;
        yield* later;
      };
      let n = 0;
      const lazy = [...tableLoadCommands({ ...table, chains: table.chains.slice(0, cut) }, () => n++, undefined, moreChains)];
      const d = diffTable(table, undefined);
      assert.deepEqual(lazy, d.commands);
      assert.equal(n, d.changes);
      // Their declarations, then their rules: two walks, nothing of them kept in between.
      assert.equal(walks, 2);
      if (later.length) checked++;
    }
    assert.ok(checked > 0, 'some table has chains to give later');
  });
});
