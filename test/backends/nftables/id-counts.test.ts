// One set's element counts in typed arrays (id-counts.ts): the same answers, and the same
// order, as the Map it replaced, through adds, updates, deletes, re-adds and growth.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdCounts } from '../../../src/backends/nftables/id-counts.js';

/** Random operations on an IdCounts and a Map side by side; compared after each step and in order. */
function against(ids: readonly (string | number)[], steps: number, seed: number): void {
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), Math.floor((seed / 2 ** 31) * n));
  const mine = new IdCounts();
  const want = new Map<string | number, number>();
  for (let i = 0; i < steps; i++) {
    const id = ids[rand(ids.length)]!;
    if (rand(3) === 0) {
      mine.delete(id);
      want.delete(id);
    } else {
      const n = (want.get(id) ?? 0) + 1;
      mine.set(id, n);
      want.set(id, n);
    }
    assert.equal(mine.get(id), want.get(id), `step ${i}`);
    assert.equal(mine.size, want.size, `step ${i}`);
    if (i % 997 === 0) assert.deepEqual([...mine.ids()], [...want.keys()], `order at step ${i}`);
  }
  assert.deepEqual([...mine.ids()], [...want.keys()]);
  for (const id of ids) assert.equal(mine.get(id), want.get(id));
}

test('numeric ids (packed element ids up to 2^53): Map answers and order', () => {
  const ids = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? i : i % 3 === 1 ? 2 ** 50 + i * 7919 : 3 * 2 ** 50 + 2 ** 32 * i + 80));
  against(ids, 40_000, 7);
  // Few ids, many re-adds: stale places in the order pile up and are dropped.
  against(ids.slice(0, 20), 20_000, 3);
});

test('a string id turns the set into a Map, keeping the order', () => {
  const ids: (string | number)[] = Array.from({ length: 500 }, (_, i) => 2 ** 50 + i);
  ids.push('010.96.0.1', 'fd00::1');
  against(ids, 10_000, 5);
  const c = new IdCounts();
  c.set(5, 1);
  c.set(2 ** 51, 2);
  c.set('x', 1);
  c.set(7, 1);
  assert.deepEqual([...c.ids()], [5, 2 ** 51, 'x', 7]);
  assert.equal(c.get(2 ** 51), 2);
});
