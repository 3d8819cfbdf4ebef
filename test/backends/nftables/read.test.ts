// read.ts, the one reader of nft JSON: our rendered document (elements as objects of
// their own) and `nft -j list` output (elements inside their set, handles added) must
// read to the same tables, which are the rendered ones; broken documents are refused
// by name.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffAll } from '../../../src/backends/nftables/diff.js';
import { serializeTables } from '../../../src/backends/nftables/document.js';
import { NftDocumentError, readNftDocument, readNftTable } from '../../../src/backends/nftables/read.js';
import { renderTables } from '../../../src/backends/nftables/render.js';
import { nftListing } from './nft-listing.js';
import { features } from '../../helpers/features.js';

describe('readNftDocument', () => {
  for (const [name, inp] of Object.entries(features)) {
    it(`${name}: the rendered document and nft's listing read to the rendered tables`, () => {
      const tables = renderTables(inp);
      const fromDocument = readNftDocument(serializeTables(tables));
      const fromListing = readNftDocument(nftListing(tables));
      assert.deepEqual(fromDocument, fromListing);
      assert.deepEqual(diffAll(tables, fromDocument).commands, [], 'nothing to change: the same tables');
    });
  }

  it('a live DNAT rule that counted traffic reads as rendered: counter values are not a difference', () => {
    const tables = renderTables(Object.values(features)[0]!);
    const counted = nftListing(tables).replace(/"counter":\{"packets":0,"bytes":0\}/g, '"counter":{"packets":17,"bytes":1020}');
    assert.notEqual(counted, nftListing(tables), 'the feature renders DNAT counters');
    assert.deepEqual(diffAll(tables, readNftDocument(counted)).commands, []);
  });

  it('reads only the tables asked for; one table by family and name', () => {
    const tables = renderTables(Object.values(features)[0]!);
    const text = serializeTables(tables);
    assert.deepEqual(readNftDocument(text, (f) => f === 'ip6').map((t) => t.family), tables.filter((t) => t.family === 'ip6').map(() => 'ip6'));
    assert.equal(readNftTable(text, 'ip', 'svcplane')?.name, 'svcplane');
    assert.equal(readNftTable(text, 'ip', 'no-such-table'), undefined);
  });

  it('refuses text that is not JSON, and elements of a set or table the document does not declare', () => {
    assert.throws(() => readNftDocument('{"nftables": ['), (e: unknown) => e instanceof NftDocumentError && /^nftables document: not JSON: /.test(e.message));
    const table = { table: { family: 'ip', name: 't' } };
    const element = (t: string, name: string) => ({ element: { family: 'ip', table: t, name, elem: ['10.0.0.1'] } });
    assert.throws(() => readNftDocument(JSON.stringify({ nftables: [table, element('t', 'nope')] })), /elements for set "nope", which table t does not declare/);
    assert.throws(() => readNftDocument(JSON.stringify({ nftables: [element('u', 's')] })), /elements for set "s" of table ip u, which the document does not declare/);
    // A table that is declared but not asked for: its elements are skipped, not refused.
    assert.deepEqual(readNftDocument(JSON.stringify({ nftables: [table, element('t', 'nope')] }), () => false), []);
  });
});
