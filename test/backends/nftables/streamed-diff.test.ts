// streamed-diff.ts must be diffTable, computed while the live table's listing streams in:
// for every feature's tables and every kind of drift a read-back repairs (elements missing,
// extra or changed, rules changed, chains and sets missing or extra, a declaration changed),
// the same commands in the same order and the same count of changes; and the desired
// elements may come partly from `more` (the Services' fragments), as the syncer gives them.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canon, uniqueElements } from '../../../src/backends/nftables/document.js';
import { diffTable } from '../../../src/backends/nftables/diff.js';
import { NftListingStream } from '../../../src/backends/nftables/listing-stream.js';
import { readNftDocument } from '../../../src/backends/nftables/read.js';
import type { NftTable } from '../../../src/backends/nftables/nft.js';
import { renderTables } from '../../../src/backends/nftables/render.js';
import { elementText, StreamedTableDiff, type DesiredTable, type StreamedDiffOptions } from '../../../src/backends/nftables/streamed-diff.js';
import { hash53 } from '../../../src/backends/nftables/string-hash.js';
import { features } from '../../helpers/features.js';
import { nftListing } from './nft-listing.js';

const copy = (t: NftTable): NftTable => JSON.parse(JSON.stringify(t)) as NftTable;

/** Drift, as someone might cause it behind the syncer's back: the live table made from the desired one. */
const drifts: Record<string, (t: NftTable) => NftTable> = {
  'nothing changed': (t) => t,
  'first element of every set gone, one extra added': (t) => ({ ...t, sets: t.sets.map((s) => ({ ...s, elements: [...s.elements.slice(1), s.kind === 'map' ? { key: 'extra', value: { goto: { target: 'x' } } } : { key: 'extra' }] })) }),
  'an element changed: its comment, or in a map its verdict': (t) => ({
    ...t,
    sets: t.sets.map((s) => ({ ...s, elements: s.elements.map((e, i) => (i > 0 ? e : s.kind === 'map' ? { ...e, value: { goto: { target: 'elsewhere' } } } : { ...e, comment: `${e.comment ?? ''}x` })) })),
  }),
  'every set emptied (nft flush set)': (t) => ({ ...t, sets: t.sets.map((s) => ({ ...s, elements: [] })) }),
  'last rule of every chain gone': (t) => ({ ...t, chains: t.chains.map((c) => ({ ...c, rules: c.rules.slice(0, -1) })) }),
  'a rule changed': (t) => ({ ...t, chains: t.chains.map((c, i) => (i === t.chains.length - 1 && c.rules.length ? { ...c, rules: [{ ...c.rules[0]!, comment: 'tampered' }, ...c.rules.slice(1)] } : c)) }),
  'first chain and first set missing': (t) => ({ ...t, chains: t.chains.slice(1), sets: t.sets.slice(1) }),
  'a chain and a set of no one': (t) => ({
    ...t,
    chains: [...t.chains, { name: 'stale-chain', rules: [{ expr: [{ accept: null }] }] }, { name: 'stale-empty', rules: [] }],
    sets: [...t.sets, { name: 'stale-set', kind: 'set', type: 'ipv4_addr', elements: [{ key: '10.1.2.3' }] }],
  }),
  "a set's type changed (the table is replaced)": (t) => ({ ...t, sets: t.sets.map((s, i) => (i === 0 ? { ...s, type: 'ether_addr' } : s)) }),
  // With `split`, the last chain is a group's: its hook is checked in finish's one walk of the groups.
  'the last chain hooked (the table is replaced)': (t) => ({
    ...t,
    chains: t.chains.map((c, i) => (i === t.chains.length - 1 && !c.base ? { ...c, base: { type: 'filter', hook: 'output', prio: 7, policy: 'accept' } } : c)),
  }),
  "a base chain's priority changed (the table is replaced)": (t) => ({ ...t, chains: t.chains.map((c) => (c.base ? { ...c, base: { ...c.base, prio: c.base.prio + 1 } } : c)) }),
};

/**
 * The desired table as the syncer gives it: `split` moves the second half of each set's
 * elements (and one more, twice) into `more`, and the second half of the chains into
 * `groups` (two chains a group), as a shard's Service chains are.
 */
function desiredOf(t: NftTable, split: boolean): DesiredTable {
  if (!split) return { table: t, more: () => [] };
  const half = (n: number) => Math.ceil(n / 2);
  const later = t.chains.slice(half(t.chains.length));
  return {
    table: { ...t, chains: t.chains.slice(0, half(t.chains.length)), sets: t.sets.map((s) => ({ ...s, elements: s.elements.slice(0, half(s.elements.length)) })) },
    more: (s) => t.sets.find((x) => x.name === s.name)!.elements.slice(Math.max(0, half(s.elements.length) - 1)),
    // Two chains a group, as a Service's chains are one of a shard's groups.
    groups: {
      keys: later.filter((_, i) => i % 2 === 0).map((c) => c.name),
      chains: (key) => {
        const at = later.findIndex((c) => c.name === key);
        return later.slice(at, at + 2);
      },
      of: (name) => {
        const at = later.findIndex((c) => c.name === name);
        return at < 0 ? undefined : later[at - (at % 2)]!.name;
      },
    },
  };
}

/** The streamed diff of `live`'s listing, pushed in pieces; `held`: the most live elements it held after any piece. */
function streamedDiffHeld(desired: DesiredTable, live: NftTable, pieceChars: number, options: StreamedDiffOptions = {}) {
  const diff = new StreamedTableDiff(() => desired, options);
  const reader = new NftListingStream(diff);
  const text = nftListing([live]);
  let held = 0;
  for (let at = 0; at < text.length; at += pieceChars) {
    reader.push(text.slice(at, at + pieceChars));
    held = Math.max(held, diff.heldElements);
  }
  reader.end();
  return { tx: diff.finish(), held };
}

function streamedDiff(desired: DesiredTable, live: NftTable, pieceChars: number, options: StreamedDiffOptions = {}) {
  return streamedDiffHeld(desired, live, pieceChars, options).tx;
}

/** How many elements the commands delete. */
function deletedElements(commands: readonly object[]): number {
  let n = 0;
  for (const c of commands) n += (c as { delete?: { element?: { elem?: unknown[] } } }).delete?.element?.elem?.length ?? 0;
  return n;
}

/** A hash under which every desired element of `t` hashes alike (any other as hash53): each set of two or more is compared exactly. */
function collidingHash(t: NftTable): (text: string) => number {
  const desired = new Set(t.sets.flatMap((s) => uniqueElements(s).map(elementText)));
  return (text) => (desired.has(text) ? 0 : hash53(text));
}

describe('StreamedTableDiff: diffTable while the listing streams in', () => {
  for (const [name, inp] of Object.entries(features)) {
    it(`${name}: every drift gives diffTable's commands and count`, () => {
      let checked = 0;
      for (const desired of renderTables(inp)) {
        for (const [drift, make] of Object.entries(drifts)) {
          const live = make(copy(desired));
          // diffTable of the table as the listing reads back (a listing holds each key once).
          const want = diffTable(desired, readNftDocument(nftListing([live]))[0]);
          for (const split of [false, true]) {
            const got = streamedDiff(desiredOf(desired, split), live, split ? 61 : 4096);
            const what = `${desired.family} ${desired.name}, ${drift}${split ? ', elements partly from more' : ''}`;
            if (want.commands[0] && 'delete' in want.commands[0] && 'table' in want.commands[0].delete) {
              assert.equal(got, undefined, `${what}: replaced whole`);
            } else {
              assert.ok(got, `${what}: not replaced`);
              assert.equal(canon(got.commands), canon(want.commands), what);
              assert.equal(got.changes, want.changes, what);
            }
            checked++;
          }
        }
      }
      assert.ok(checked > 0);
    });
  }

  it('holds no live element while the kernel agrees, only those it will delete otherwise', () => {
    let agreed = 0;
    let differed = 0;
    for (const inp of Object.values(features)) {
      for (const desired of renderTables(inp)) {
        for (const drift of ['nothing changed', 'first element of every set gone, one extra added']) {
          const live = drifts[drift]!(copy(desired));
          const want = diffTable(desired, readNftDocument(nftListing([live]))[0]);
          for (const split of [false, true]) {
            // The most it held after any piece of the listing: the elements diffTable deletes, not one more.
            const { held } = streamedDiffHeld(desiredOf(desired, split), live, 61);
            assert.equal(held, deletedElements(want.commands), `${desired.name}, ${drift}`);
            if (drift === 'nothing changed' && want.commands.length === 0) agreed++;
            if (held > 0) differed++;
          }
        }
      }
    }
    assert.ok(agreed > 0 && differed > 0);
  });

  it("two desired elements hashing alike: the set is compared exactly, still diffTable's commands", () => {
    let exact = 0;
    for (const inp of Object.values(features)) {
      for (const desired of renderTables(inp)) {
        const hash = collidingHash(desired);
        for (const [drift, make] of Object.entries(drifts)) {
          const live = make(copy(desired));
          const want = diffTable(desired, readNftDocument(nftListing([live]))[0]);
          const got = streamedDiffHeld(desiredOf(desired, true), live, 61, { hash });
          if (!got.tx) continue; // replaced whole: covered above
          assert.equal(canon(got.tx.commands), canon(want.commands), `${desired.name}, ${drift}`);
          assert.equal(got.tx.changes, want.changes, `${desired.name}, ${drift}`);
          // Compared exactly, a set holds its live elements while it is listed.
          if (drift === 'nothing changed' && got.held > 0) exact++;
        }
      }
    }
    assert.ok(exact > 0, 'some set was compared exactly');
  });

  it("makes each group's chains once when they agree (the end walks only those that differ)", () => {
    let groupsChecked = 0;
    for (const inp of Object.values(features)) {
      for (const t of renderTables(inp)) {
        for (const drift of ['nothing changed', 'a rule changed']) {
          const desired = desiredOf(t, true);
          const groups = desired.groups!;
          const made = new Map<string, number>();
          const counted: DesiredTable = { ...desired, groups: { ...groups, chains: (key) => (made.set(key, (made.get(key) ?? 0) + 1), groups.chains(key)) } };
          const live = drifts[drift]!(copy(t));
          const got = streamedDiff(counted, live, 4096);
          assert.equal(canon(got?.commands), canon(diffTable(t, readNftDocument(nftListing([live]))[0]).commands), `${t.name}, ${drift}`);
          // Made once while listing (a group with a rule), again at the end only if a chain of it differs.
          const tampered = drift === 'a rule changed' && t.chains.at(-1)!.rules.length ? groups.of(t.chains.at(-1)!.name) : undefined;
          for (const key of groups.keys) {
            const hasRules = groups.chains(key).some((c) => c.rules.length > 0);
            assert.equal(made.get(key) ?? 0, (hasRules ? 1 : 0) + (key === tampered || !hasRules ? 1 : 0), `${t.name}, ${drift}, group ${key}`);
            groupsChecked++;
          }
        }
      }
    }
    assert.ok(groupsChecked > 0);
  });

  it('counters that counted traffic are not a difference; drift is (the test can fail)', () => {
    const desired = renderTables(Object.values(features)[0]!).find((t) => t.chains.some((c) => c.rules.some((r) => r.expr.some((x) => 'counter' in x))))!;
    assert.ok(desired, 'a table with DNAT counters');
    const counted = nftListing([desired]).replace(/"counter":\{"packets":0,"bytes":0\}/g, '"counter":{"packets":17,"bytes":1020}');
    const diff = new StreamedTableDiff(() => ({ table: desired, more: () => [] }));
    const reader = new NftListingStream(diff);
    reader.push(counted);
    reader.end();
    assert.deepEqual(diff.finish(), { commands: [], changes: 0 });
    const drifted = streamedDiff({ table: desired, more: () => [] }, drifts['last rule of every chain gone']!(copy(desired)), 4096);
    assert.ok(drifted && drifted.changes > 0);
  });
});
