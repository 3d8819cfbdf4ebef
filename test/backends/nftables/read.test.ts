// read.ts, the one reader of nft JSON: our rendered document (elements as objects of
// their own) and `nft -j list` output (elements inside their set, handles added) must
// read to the same tables, which are the rendered ones; broken documents are refused
// by name.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffAll } from '../../../src/backends/nftables/diff.js';
import { serializeTables, uniqueElements } from '../../../src/backends/nftables/document.js';
import type { NftTable } from '../../../src/backends/nftables/nft.js';
import { NftDocumentError, readNftDocument, readNftTable } from '../../../src/backends/nftables/read.js';
import { renderTables } from '../../../src/backends/nftables/render.js';
import { chainObject, elementValue, ruleObject, setObject, tableObject } from '../../../src/backends/nftables/transaction.js';
import { features } from '../../helpers/features.js';

/** The tables as `nft -j list ruleset` prints them: a handle on every object, each set's elements inside it. */
function listed(tables: readonly NftTable[]): string {
  let handle = 1;
  const withHandle = (o: object) => {
    const [[kind, body]] = Object.entries(o) as [[string, object]];
    return { [kind]: { ...body, handle: handle++ } };
  };
  const out: object[] = [{ metainfo: { version: '1.0.9', release_name: 'Old Doc Yak #3', json_schema_version: 1 } }];
  for (const t of tables) {
    out.push(withHandle(tableObject(t)));
    for (const s of t.sets) {
      const [[kind, body]] = Object.entries(setObject(t, s)) as [[string, object]];
      const elem = uniqueElements(s).map((e) => elementValue(s, e));
      out.push(withHandle({ [kind]: elem.length ? { ...body, elem } : body }));
    }
    for (const c of t.chains) out.push(withHandle(chainObject(t, c)));
    for (const c of t.chains) for (const r of c.rules) out.push(withHandle(ruleObject(t, c.name, r)));
  }
  return JSON.stringify({ nftables: out });
}

describe('readNftDocument', () => {
  for (const [name, inp] of Object.entries(features)) {
    it(`${name}: the rendered document and nft's listing read to the rendered tables`, () => {
      const tables = renderTables(inp);
      const fromDocument = readNftDocument(serializeTables(tables));
      const fromListing = readNftDocument(listed(tables));
      assert.deepEqual(fromDocument, fromListing);
      assert.deepEqual(diffAll(tables, fromDocument).commands, [], 'nothing to change: the same tables');
    });
  }

  it('a live DNAT rule that counted traffic reads as rendered: counter values are not a difference', () => {
    const tables = renderTables(Object.values(features)[0]!);
    const counted = listed(tables).replace(/"counter":\{"packets":0,"bytes":0\}/g, '"counter":{"packets":17,"bytes":1020}');
    assert.notEqual(counted, listed(tables), 'the feature renders DNAT counters');
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
