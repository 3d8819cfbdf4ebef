// The whole-table fetch added to large restore transactions (restore-input.ts): `-S`
// goes right after the `*TABLE` line of each table that declares many chains, nowhere
// else, and the rest of the text is sent unchanged.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tableText } from '../../../src/backends/iptables/document.js';
import { diffFamily } from '../../../src/backends/iptables/diff.js';
import { restorePieces, withWholeTableFetch } from '../../../src/backends/iptables/restore-input.js';

const chains = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ name: `SVP-${prefix}-${i}`, rules: [`-A SVP-${prefix}-${i} -j ACCEPT`] }));

describe('withWholeTableFetch', () => {
  it('adds -S after the *TABLE line of each table with enough declarations, and only there', () => {
    const filter = tableText('filter', chains('F', 2));
    const nat = tableText('nat', chains('N', 3));
    const text = `# ==== IPv4 ====\n${filter}${nat}`;
    const out = withWholeTableFetch(text, 3).join('');
    assert.equal(out, `# ==== IPv4 ====\n${filter}*nat\n-S\n${nat.slice('*nat\n'.length)}`);
    const both = withWholeTableFetch(text, 2).join('');
    assert.equal(both, `# ==== IPv4 ====\n*filter\n-S\n${filter.slice('*filter\n'.length)}*nat\n-S\n${nat.slice('*nat\n'.length)}`);
  });

  it('leaves a small transaction as it is (a partial sync names a few chains)', () => {
    const text = tableText('nat', chains('N', 4), ['SVP-OLD']);
    assert.deepEqual(withWholeTableFetch(text, 6), [text]);
    assert.deepEqual(withWholeTableFetch('', 1), ['']);
  });

  it('counts the declarations of each table apart: many in one table do not mark the other', () => {
    const text = tableText('filter', []) + tableText('nat', chains('N', 5));
    const out = withWholeTableFetch(text, 5).join('');
    assert.equal(out.match(/^-S$/gm)?.length, 1);
    assert.ok(out.startsWith('*filter\nCOMMIT\n*nat\n-S\n'));
  });

  it('restorePieces streams the same bytes as the diff text (with the fetch where the text would get it)', () => {
    const desired = { family: 'IPv4' as const, filter: chains('F', 3), nat: chains('N', 5000) };
    const live = { filter: new Map([['SVP-F-0', ['-A SVP-F-0 -j ACCEPT']], ['SVP-GONE', []]]), nat: new Map<string, string[]>() };
    const d = diffFamily(desired, live);
    const pieces = [...restorePieces(d.tables, true, 3)];
    assert.ok(pieces.length > 2, 'several pieces, not one string');
    assert.equal(pieces.join(''), withWholeTableFetch(d.text, 3).join(''));
    assert.equal([...restorePieces(d.tables, false)].join(''), d.text);
    assert.deepEqual([...restorePieces(diffFamily(desired, { filter: new Map(desired.filter.map((c) => [c.name, c.rules])), nat: new Map(desired.nat.map((c) => [c.name, c.rules])) }).tables, true)], []);
  });
});
