import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describe, FieldReader, indexPath, keyPath } from '../../src/model/json-fields.js';

// A small deterministic generator (no dependency): the same cases on every run.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const VALUES: readonly unknown[] = ['a', '', '10.0.0.1', 'x'.repeat(50), 0, 7, true, false, null, undefined, {}, [], ['a'], { a: 'b' }];

/** What stringList and stringMap promise, written the plainest way. */
function expectedList(a: unknown[], field: string): { value: string[]; issues: { field: string; message: string }[] } {
  const value: string[] = [];
  const issues: { field: string; message: string }[] = [];
  a.forEach((x, i) => {
    if (typeof x === 'string') value.push(x);
    else issues.push({ field: indexPath(field, i), message: `must be a string, not ${x === undefined ? 'null' : describe(x)}` });
  });
  return { value, issues };
}

test('stringList gives the strings in order and one issue per other element, holes passed over, for any list', () => {
  const next = rng(16);
  for (let n = 0; n < 2000; n++) {
    const len = Math.floor(next() * 6);
    const a: unknown[] = [];
    for (let i = 0; i < len; i++) {
      const r = next();
      if (r < 0.1) a.length++; // a hole (an array built in code, not parsed JSON)
      else a.push(r < 0.6 ? `s${i}` : VALUES[Math.floor(next() * VALUES.length)]);
    }
    const reader = new FieldReader();
    const got = reader.stringList(a, 'spec.list');
    const want = expectedList(a, 'spec.list');
    assert.deepEqual(got, want.value, JSON.stringify(a));
    assert.deepEqual(reader.issues, want.issues, JSON.stringify(a));
  }
});

test('stringList: absent is unset, a non-list is one issue', () => {
  const r = new FieldReader();
  assert.equal(r.stringList(undefined, 'f'), undefined);
  assert.equal(r.stringList(null, 'f'), undefined);
  assert.equal(r.stringList('a', 'f'), undefined);
  assert.deepEqual(r.issues, [{ field: 'f', message: 'must be a list, not the string "a"' }]);
});

test('stringMap keeps the string members in order and reports every other defined one', () => {
  const next = rng(18);
  for (let n = 0; n < 2000; n++) {
    const o: Record<string, unknown> = {};
    const len = Math.floor(next() * 6);
    for (let i = 0; i < len; i++) {
      const r = next();
      o[r < 0.2 ? `${i}` : `k${i}`] = r < 0.6 ? `v${i}` : VALUES[Math.floor(next() * VALUES.length)];
    }
    const reader = new FieldReader();
    const got = reader.stringMap(o, 'metadata.labels');
    const want = Object.entries(o).filter(([, x]) => typeof x === 'string');
    assert.deepEqual(Object.entries(got!), want, JSON.stringify(o));
    const issues = Object.entries(o)
      .filter(([, x]) => typeof x !== 'string' && x !== undefined)
      .map(([k, x]) => ({ field: keyPath('metadata.labels', k), message: `must be a string, not ${describe(x)}` }));
    assert.deepEqual(reader.issues, issues, JSON.stringify(o));
  }
});
